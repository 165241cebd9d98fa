#include "model/transformer.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <map>
#include <set>

#include "model/cpu_kernels.h"
#include "model/safetensors.h"
#include "rudder/error.h"

namespace rudder {

namespace {

std::string shapeStr(at::IntArrayRef s)
{
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
    return r + "]";
}

std::string replaceIndex(std::string pattern, int64_t i)
{
    const auto at = pattern.find("{i}");
    if (at != std::string::npos) pattern.replace(at, 3, std::to_string(i));
    return pattern;
}

const std::string* findName(const std::vector<std::pair<Slot, std::string>>& table, Slot s)
{
    for (const auto& [slot, name] : table)
        if (slot == s) return &name;
    return nullptr;
}

at::Tensor rotateHalf(const at::Tensor& x)
{
    const int64_t h = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
}

} // namespace

at::Tensor ropeInvFreq(const RopeSpec& rope, int64_t headDim)
{
    // inv_freq = 1 / theta^(2i/d), in fp32 exactly as transformers computes it.
    at::Tensor inv = 1.0 / at::pow(rope.theta, at::arange(0, headDim, 2, at::kLong).to(at::kFloat) / static_cast<double>(headDim));
    if (rope.type == "linear") {
        inv = inv / rope.factor;   // positions divided by the factor
    } else if (rope.type == "llama3") {
        // Llama 3.1: long wavelengths slowed by `factor`, short ones kept, a smooth ramp between.
        const double lowWavelen = rope.original_max_positions / rope.low_freq_factor;
        const double highWavelen = rope.original_max_positions / rope.high_freq_factor;
        at::Tensor wavelen = 2 * M_PI / inv;
        at::Tensor scaled = at::where(wavelen > lowWavelen, inv / rope.factor, inv);
        at::Tensor smooth = (rope.original_max_positions / wavelen - rope.low_freq_factor)
                            / (rope.high_freq_factor - rope.low_freq_factor);
        at::Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
        at::Tensor medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
        inv = at::where(medium, smoothed, scaled);
    }
    return inv;
}

TransformerLM::TransformerLM(const LoadedConfig& lc, const WeightStore& store, at::Device device, at::ScalarType dtype,
                             bool withLmHead)
    : cfg_(lc.model), spec_(lc.spec), device_(device), dtype_(dtype),
      acc_(dtype == at::kDouble ? at::kDouble : at::kFloat)
{
    const TensorNames& names = lc.family->names;
    const int64_t d = cfg_.hidden_size, hd = cfg_.head_dim, H = cfg_.num_heads, KV = cfg_.num_kv_heads;
    const int64_t I = spec_.intermediate_size, V = cfg_.vocab_size;

    // The backbone prefix: the first candidate under which the embedding exists.
    const std::string* embedName = findName(names.model, Slot::Embed);
    bool found = false;
    for (const auto& p : names.backbone_prefixes)
        if (store.has(p + *embedName)) {
            prefix_ = p;
            found = true;
            break;
        }
    if (!found) throw Error(store.describe(), names.backbone_prefixes.front() + *embedName, "missing tensor (the token embedding)");

    std::set<std::string> used;
    int64_t params = 0;
    auto load = [&](const std::string& name, std::vector<int64_t> shape, bool conv1d = false) {
        const SafetensorsEntry& e = store.entry(name);
        if (conv1d) std::swap(shape[0], shape[1]);
        if (e.shape != shape)
            throw Error(store.fileOf(name), name, "shape " + shapeStr(e.shape) + " does not match config.json (expected "
                                                      + shapeStr(shape) + ")");
        store.requireFloat(name);
        at::Tensor t = store.tensor(name);
        if (conv1d) t = t.t();
        // One tensor at a time, so loading never holds two copies of the model.
        t = t.to(device_, dtype_, /*non_blocking=*/false, /*copy=*/true).contiguous();
        if (used.insert(name).second) params += t.numel();
        return t;
    };
    auto modelName = [&](Slot s) {
        const std::string* n = findName(names.model, s);
        return n ? prefix_ + *n : std::string();
    };
    auto normW = [&](const std::string& name, int64_t n) {
        at::Tensor w = load(name, {n});
        // Gemma: x̂·(1+w), computed in fp32 like transformers does.
        if (spec_.norm == NormKind::RMSPlusOne) w = w.to(acc_) + 1.0;
        return w;
    };

    embed_ = load(modelName(Slot::Embed), {V, d});
    if (spec_.learned_positions) pos_embed_ = load(modelName(Slot::PosEmbed), {cfg_.max_positions, d});
    final_norm_ = normW(modelName(Slot::FinalNorm), d);
    if (spec_.norm == NormKind::LayerNorm) final_norm_b_ = load(modelName(Slot::FinalNormBias), {d});

    layers_.resize(static_cast<size_t>(cfg_.num_layers));
    for (int64_t i = 0; i < cfg_.num_layers; ++i) {
        Layer& L = layers_[i];
        const std::string lp = prefix_ + replaceIndex(names.layer_prefix, i);
        auto name = [&](Slot s) -> std::string {
            const std::string* n = findName(names.layer, s);
            if (!n) throw Error(store.describe(), lp, "internal: the " + lc.family->name + " name table lacks a slot");
            return lp + *n;
        };
        const bool ln = spec_.norm == NormKind::LayerNorm;
        const bool conv = spec_.conv1d_weights;
        L.sliding = i < static_cast<int64_t>(spec_.sliding.size()) && spec_.sliding[i];
        L.attn_norm = normW(name(Slot::AttnNorm), d);
        if (ln) L.attn_norm_b = load(name(Slot::AttnNormBias), {d});
        const int64_t nq = H * hd, nkv = KV * hd;
        if (findName(names.layer, Slot::QKV)) {
            L.wqkv = load(name(Slot::QKV), {nq + 2 * nkv, d}, conv);
            if (spec_.qkv_bias) L.bqkv = load(name(Slot::QKVBias), {nq + 2 * nkv});
        } else {
            // Fused into one matmul: fewer kernels per decode step.
            L.wqkv = at::cat({load(name(Slot::Q), {nq, d}), load(name(Slot::K), {nkv, d}), load(name(Slot::V), {nkv, d})});
            if (spec_.qkv_bias)
                L.bqkv = at::cat({load(name(Slot::QBias), {nq}), load(name(Slot::KBias), {nkv}), load(name(Slot::VBias), {nkv})});
        }
        L.wo = load(name(Slot::O), {d, nq}, conv);
        if (spec_.o_bias) L.bo = load(name(Slot::OBias), {d});
        if (spec_.qk_norm) {
            L.q_norm = normW(name(Slot::QNorm), hd);
            L.k_norm = normW(name(Slot::KNorm), hd);
        }
        if (spec_.sandwich_norms) {
            L.post_attn_norm = normW(name(Slot::PostAttnNorm), d);
            L.post_mlp_norm = normW(name(Slot::PostMlpNorm), d);
        }
        L.mlp_norm = normW(name(Slot::MlpNorm), d);
        if (ln) L.mlp_norm_b = load(name(Slot::MlpNormBias), {d});
        if (spec_.gated_mlp) {
            L.w_up = at::cat({load(name(Slot::Gate), {I, d}), load(name(Slot::Up), {I, d})});
            if (spec_.mlp_bias) L.b_up = at::cat({load(name(Slot::GateBias), {I}), load(name(Slot::UpBias), {I})});
        } else {
            L.w_up = load(name(Slot::Up), {I, d}, conv);
            if (spec_.mlp_bias) L.b_up = load(name(Slot::UpBias), {I});
        }
        L.w_down = load(name(Slot::Down), {d, I}, conv);
        if (spec_.mlp_bias) L.b_down = load(name(Slot::DownBias), {d});
    }

    if (withLmHead) {
        if (spec_.tie_word_embeddings) {
            lm_head_ = embed_;
        } else {
            std::string head;
            for (const auto& n : names.lm_head)
                if (store.has(n)) head = n;
            if (head.empty())
                throw Error(store.describe(), names.lm_head.front(), "missing tensor (and tie_word_embeddings is false)");
            lm_head_ = load(head, {V, d});
        }
    }
    cfg_.num_parameters = params;

    if (spec_.rope.enabled) {
        inv_freq_ = ropeInvFreq(spec_.rope, hd).to(device_);
        inv_freq_local_ = ropeInvFreq(spec_.rope_local, hd).to(device_);
    }
    for (const Layer& L : layers_) {
        anySliding_ = anySliding_ || L.sliding;
        macsPerToken_ += L.wqkv.numel() + L.wo.numel() + L.w_up.numel() + L.w_down.numel();
    }
}

void TransformerLM::ensureRope(int64_t positions)
{
    if (positions <= ropeLen_) return;
    const int64_t n = std::max<int64_t>(positions, std::max<int64_t>(256, 2 * ropeLen_));   // amortised growth
    // Element for element what a per-forward computation gives: fp32 position × inv_freq, cos/sin
    // in fp32, rounded to the model dtype.
    at::Tensor p = at::arange(n, at::TensorOptions().dtype(at::kFloat).device(device_)).unsqueeze(-1);
    auto table = [&](const at::Tensor& inv) {
        at::Tensor f = p * inv;   // [n, hd/2]
        at::Tensor e = at::cat({f, f}, -1);
        return RopeTable{e.cos().to(dtype_), e.sin().to(dtype_)};
    };
    rope_ = table(inv_freq_);
    if (anySliding_) ropeLocal_ = table(inv_freq_local_);
    ropeLen_ = n;
}

KVCache TransformerLM::newCache(int64_t rows, int64_t capacity) const
{
    if (!spec_.rope.enabled && capacity > cfg_.max_positions) capacity = cfg_.max_positions;   // learned positions end there
    return KVCache(rows, capacity, cfg_.num_layers, cfg_.num_kv_heads, cfg_.head_dim,
                   at::TensorOptions().device(device_).dtype(dtype_));
}

at::Tensor TransformerLM::norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const
{
    if (spec_.norm == NormKind::LayerNorm) return at::layer_norm(x, {x.size(-1)}, w, b, spec_.norm_eps);
    if (cpu::applies(x) && cpu::applies(w)) return cpu::rmsNorm(x, w, spec_.norm_eps);
    at::Tensor xf = x.to(acc_);
    at::Tensor y = xf * at::rsqrt(xf.pow(2).mean(-1, true) + spec_.norm_eps);
    if (spec_.norm == NormKind::RMSPlusOne) return (y * w).to(dtype_);   // w holds 1+w in fp32
    return y.to(dtype_) * w;
}

at::Tensor TransformerLM::headNorm(const at::Tensor& x, const at::Tensor& w) const { return norm(x, w, {}); }

at::Tensor TransformerLM::attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& mask) const
{
    // GQA without copying K/V: the g query heads of one kv head are stacked along the time axis.
    const int64_t m = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3), KV = k.size(1), g = H / KV, L = k.size(2);
    at::Tensor qg = q.reshape({m, KV, g * T, hd});
    // No mask: every cached key is visible (a decode step whose keys were narrowed to its window).
    at::Tensor mg = !mask.defined() || g == 1 ? mask : mask.unsqueeze(2).expand({m, 1, g, T, L}).reshape({m, 1, g * T, L});
    const double scale = attnScale();
    at::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
    if (spec_.attn_softcap <= 0 && dtype_ != at::kDouble) {
        // The default SDPA scale is 1/sqrt(hd): fold any other scale into q.
        const double pre = scale * std::sqrt(static_cast<double>(hd));
        const at::Tensor qs = pre == 1.0 ? qg : qg * pre;
        // A Tensor converts to the optional mask argument in every 2.x (c10::optional became
        // std::optional in 2.4; naming either would pin a version).
        out = mg.defined() ? at::scaled_dot_product_attention(qs, k, v, mg) : at::scaled_dot_product_attention(qs, k, v);
    }
#endif
    if (!out.defined()) {
        at::Tensor s = at::matmul(qg, k.transpose(-1, -2)) * scale;
        if (spec_.attn_softcap > 0) s = at::tanh(s / spec_.attn_softcap) * spec_.attn_softcap;   // Gemma2
        s = s.to(acc_);
        if (mg.defined()) s = s.masked_fill(mg.logical_not(), -std::numeric_limits<double>::infinity());
        out = at::matmul(at::softmax(s, -1).to(dtype_), v);
    }
    return out.reshape({m, H, T, hd});
}

at::Tensor TransformerLM::forward(KVCache& cache, const at::Tensor& tokens) { return run(cache, tokens, {}); }

at::Tensor TransformerLM::forwardRows(KVCache& cache, const at::Tensor& tokens, const at::Tensor& rowIndex)
{
    if (rowIndex.numel() == cache.rows()) {
        // All rows in order: the cheaper path without gathering the cache.
        at::Tensor ri = rowIndex.to(at::kCPU).to(at::kLong);
        bool identity = true;
        for (int64_t i = 0; i < ri.numel() && identity; ++i) identity = ri.data_ptr<int64_t>()[i] == i;
        if (identity) return run(cache, tokens, {});
    }
    return run(cache, tokens, rowIndex);
}

at::Tensor TransformerLM::run(KVCache& cache, const at::Tensor& tokensIn, const at::Tensor& rowIndexIn)
{
    at::NoGradGuard noGrad;
    const SerialScope threads(tokensIn.numel() * macsPerToken_);
    const bool subset = rowIndexIn.defined();
    at::Tensor rowsCpu = subset ? rowIndexIn.to(at::kCPU).to(at::kLong).contiguous() : at::arange(cache.rows(), at::kLong);
    const int64_t m = rowsCpu.numel();
    if (tokensIn.dim() != 2 || tokensIn.size(0) != m)
        throw Error("", "tokens", "forward expects [" + std::to_string(m) + ", T] token ids, got " + shapeStr(tokensIn.sizes()));
    const int64_t T = tokensIn.size(1);
    const int64_t H = cfg_.num_heads, KV = cfg_.num_kv_heads, hd = cfg_.head_dim;

    std::vector<int64_t> starts(static_cast<size_t>(m));
    int64_t maxLen = 0;
    for (int64_t i = 0; i < m; ++i) {
        const int64_t r = rowsCpu.data_ptr<int64_t>()[i];
        if (r < 0 || r >= cache.rows()) throw Error("", "rowIndex", "row " + std::to_string(r) + " is not in the cache");
        starts[i] = cache.length(r);
        if (starts[i] + T > cache.capacity())
            throw Error("", "KV cache", "row " + std::to_string(r) + " needs " + std::to_string(starts[i] + T)
                                            + " positions, capacity is " + std::to_string(cache.capacity()));
        maxLen = std::max(maxLen, starts[i] + T);
    }
    at::Tensor tokens = tokensIn.to(device_, at::kLong);
    at::Tensor rows = rowsCpu.to(device_);
    at::Tensor pos = at::tensor(starts, at::kLong).to(device_).unsqueeze(1) + at::arange(T, at::TensorOptions().dtype(at::kLong).device(device_));   // [m,T]
    cache.tokens.index_put_({rows.unsqueeze(1), pos}, tokens);

    // Every row of the cache at the same position (prefill of a shared prompt, best-of-n decode):
    // a strided copy instead of a scatter for the new keys and values, and for a one-token step no
    // mask at all — the keys are narrowed to what the query may see.  Per-op overhead is most of
    // a small model's decode step.
    bool uniform = !subset;
    for (int64_t i = 1; i < m && uniform; ++i) uniform = starts[i] == starts[0];
    const bool maskFree = uniform && T == 1;
    // fp32 on the CPU: fused kernels for the norms, RoPE and a decode step's attention
    // (cpu_kernels.h); the latter reads positions directly, so it needs no mask either.
    const bool fused = device_.is_cpu() && dtype_ == at::kFloat;
    const bool fusedStep = fused && T == 1;
    // Causal by position: key j is visible to a query at position p iff j <= p (and p - j < window).
    at::Tensor mask, maskSliding;
    if (!maskFree && !fusedStep) {
        at::Tensor kpos = at::arange(maxLen, pos.options()).view({1, 1, 1, maxLen});
        at::Tensor qpos = pos.view({m, 1, T, 1});
        mask = kpos <= qpos;
        maskSliding = spec_.sliding_window > 0 ? mask.logical_and(qpos - kpos < spec_.sliding_window) : mask;
    }

    at::Tensor h = at::embedding(embed_, tokens);
    if (spec_.embed_scale != 1.0) h = h * at::scalar_tensor(spec_.embed_scale, h.options());   // rounded to dtype, as HF
    if (spec_.learned_positions) {
        if (maxLen > cfg_.max_positions)
            throw Error("", "positions", "GPT-2 style model has " + std::to_string(cfg_.max_positions) + " positions");
        h = h + at::embedding(pos_embed_, pos);
    }
    at::Tensor cosG, sinG, cosL, sinL;   // [m, 1, T, hd]
    if (spec_.rope.enabled) {
        ensureRope(maxLen);
        cosG = at::embedding(rope_.cos, pos).unsqueeze(1);
        sinG = at::embedding(rope_.sin, pos).unsqueeze(1);
        if (anySliding_) {
            cosL = at::embedding(ropeLocal_.cos, pos).unsqueeze(1);
            sinL = at::embedding(ropeLocal_.sin, pos).unsqueeze(1);
        }
    }
    at::Tensor hIdx = at::arange(KV, pos.options()).view({1, KV, 1});
    at::Tensor rIdx = rows.view({m, 1, 1});
    at::Tensor pIdx = pos.view({m, 1, T});

    for (size_t li = 0; li < layers_.size(); ++li) {
        const Layer& L = layers_[li];
        at::Tensor x = norm(h, L.attn_norm, L.attn_norm_b);
        at::Tensor qkv = linearRows(x, L.wqkv, L.bqkv);
        if (fused) {   // q/k norm and RoPE in place on qkv's rows
            qkv = qkv.contiguous();
            if (spec_.qk_norm) {
                cpu::rmsNormHeads(qkv, 0, H, hd, L.q_norm, spec_.norm_eps);
                cpu::rmsNormHeads(qkv, H, KV, hd, L.k_norm, spec_.norm_eps);
            }
            if (spec_.rope.enabled) cpu::rope(qkv, H + KV, hd, L.sliding ? cosL : cosG, L.sliding ? sinL : sinG);
        }
        at::Tensor q = qkv.narrow(-1, 0, H * hd).view({m, T, H, hd}).transpose(1, 2);
        at::Tensor k = qkv.narrow(-1, H * hd, KV * hd).view({m, T, KV, hd}).transpose(1, 2);
        at::Tensor v = qkv.narrow(-1, (H + KV) * hd, KV * hd).view({m, T, KV, hd}).transpose(1, 2);
        if (spec_.qk_norm && !fused) {
            q = headNorm(q, L.q_norm);
            k = headNorm(k, L.k_norm);
        }
        if (spec_.rope.enabled && !fused) {
            const at::Tensor& c = L.sliding ? cosL : cosG;
            const at::Tensor& s = L.sliding ? sinL : sinG;
            q = q * c + rotateHalf(q) * s;
            k = k * c + rotateHalf(k) * s;
        }
        // Write this step's keys/values at their positions, then attend over the cached prefix.
        if (uniform) {
            cache.k[li].narrow(2, starts[0], T).copy_(k);
            cache.v[li].narrow(2, starts[0], T).copy_(v);
        } else {
            cache.k[li].index_put_({rIdx, hIdx, pIdx}, k);
            cache.v[li].index_put_({rIdx, hIdx, pIdx}, v);
        }
        const int64_t window = L.sliding && spec_.sliding_window > 0 ? spec_.sliding_window : 0;
        at::Tensor a;
        if (fusedStep) {
            a = cpu::decodeAttention(qkv, cache.k[li], cache.v[li], rowsCpu.data_ptr<int64_t>(), starts.data(), H, window,
                                     attnScale(), spec_.attn_softcap);
        } else {
            // A one-token step with every row at the same position reads only the keys it may see.
            const int64_t from = maskFree && window > 0 ? std::max<int64_t>(0, maxLen - window) : 0;
            at::Tensor kc = cache.k[li].narrow(2, from, maxLen - from), vc = cache.v[li].narrow(2, from, maxLen - from);
            if (subset) {
                kc = kc.index_select(0, rows);
                vc = vc.index_select(0, rows);
            }
            a = attention(q, kc, vc, L.sliding ? maskSliding : mask).transpose(1, 2).reshape({m, T, H * hd});
        }
        a = linearRows(a, L.wo, L.bo);
        if (spec_.sandwich_norms) a = norm(a, L.post_attn_norm, {});
        h = h + a;

        x = norm(h, L.mlp_norm, L.mlp_norm_b);
        at::Tensor u = linearRows(x, L.w_up, L.b_up);
        if (spec_.gated_mlp) {
            auto gu = u.chunk(2, -1);
            u = gu[0];
            switch (spec_.activation) {
            case Activation::SiLU: u = at::silu(u); break;
            case Activation::GeluTanh: u = at::gelu(u, "tanh"); break;
            case Activation::Gelu: u = at::gelu(u); break;
            case Activation::ReLU: u = at::relu(u); break;
            }
            u = u * gu[1];
        } else {
            switch (spec_.activation) {
            case Activation::SiLU: u = at::silu(u); break;
            case Activation::GeluTanh: u = at::gelu(u, "tanh"); break;
            case Activation::Gelu: u = at::gelu(u); break;
            case Activation::ReLU: u = at::relu(u); break;
            }
        }
        at::Tensor f = linearRows(u, L.w_down, L.b_down);
        if (spec_.sandwich_norms) f = norm(f, L.post_mlp_norm, {});
        h = h + f;
    }
    for (int64_t i = 0; i < m; ++i) cache.setLength(rowsCpu.data_ptr<int64_t>()[i], starts[i] + T);
    return norm(h, final_norm_, final_norm_b_);
}

at::Tensor linearRows(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b)
{
    const bool blasType = x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble;
    if (x.numel() != x.size(-1) || !x.device().is_cpu() || !blasType || w.dim() != 2) return at::linear(x, w, b);
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = w.size(0);
    const at::Tensor row = x.reshape({-1});
    at::Tensor y = cpu::applies(row) && cpu::applies(w) ? cpu::gemv(w, row) : at::mv(w, row);
    if (b.defined()) y = y + b;
    return y.view(shape);
}

namespace {
using OmpSetThreads = void (*)(int);
OmpSetThreads ompSetThreads()
{
    static const auto fn = reinterpret_cast<OmpSetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    return fn;
}
} // namespace

int64_t SerialScope::threshold()
{
    static const int64_t t = [] {
        constexpr int64_t kDefault = 32'000'000;
        const char* e = std::getenv("RUDDER_SERIAL_MACS");
        if (!e || !*e) return kDefault;
        char* end = nullptr;
        const long long v = std::strtoll(e, &end, 10);
        if (*end != '\0' || v < 0) {
            std::fprintf(stderr, "rudder: RUDDER_SERIAL_MACS='%s' is not a non-negative integer; using %lld\n", e,
                         static_cast<long long>(kDefault));
            return kDefault;
        }
        return static_cast<int64_t>(v);
    }();
    return t;
}

SerialScope::SerialScope(int64_t macs)
{
    if (macs >= threshold() || !ompSetThreads()) return;
    const int n = at::get_num_threads();   // also makes libtorch's lazy per-thread init happen first
    if (n <= 1) return;
    ompSetThreads()(1);
    saved_ = n;
}

SerialScope::~SerialScope()
{
    if (saved_ > 0) ompSetThreads()(saved_);
}

at::Tensor TransformerLM::lmHead(const at::Tensor& preLogits) const
{
    if (!lm_head_.defined()) throw Error("", "lm_head", "this model was loaded without an LM head (reward model backbone)");
    at::NoGradGuard noGrad;
    const SerialScope threads(preLogits.numel() / std::max<int64_t>(1, preLogits.size(-1)) * lm_head_.numel());
    at::Tensor logits = linearRows(preLogits.to(dtype_), lm_head_).to(acc_);
    if (spec_.final_softcap > 0) logits = at::tanh(logits / spec_.final_softcap) * spec_.final_softcap;   // Gemma2
    return logits;
}

std::vector<at::Tensor> TransformerLM::linearWeights() const
{
    std::vector<at::Tensor> w;
    for (const auto& L : layers_) {
        w.push_back(L.wqkv);
        w.push_back(L.wo);
        w.push_back(L.w_up);
        w.push_back(L.w_down);
    }
    if (lm_head_.defined()) w.push_back(lm_head_);
    return w;
}

} // namespace rudder
