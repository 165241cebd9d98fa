#include "llama.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace rudder::demo {
namespace {

torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& w, double eps)
{
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
}

// HF's rotate_half convention: the two halves of each head are the (real, imaginary) parts.
torch::Tensor rotateHalf(const torch::Tensor& x)
{
    auto halves = x.chunk(2, -1);
    return torch::cat({-halves[1], halves[0]}, -1);
}

} // namespace

TinyLlama::TinyLlama(const LlamaShape& s, const std::string& head, uint64_t seed) : shape_(s), head_(head)
{
    torch::manual_seed(seed);
    const double std = 0.02, outStd = 0.02 / std::sqrt(2.0 * static_cast<double>(s.layers));
    auto normal = [](std::vector<int64_t> shape, double sd) { return torch::randn(shape) * sd; };
    const int64_t hd = s.headDim();
    params_.push_back({"model.embed_tokens.weight", normal({s.vocab, s.hidden}, std)});
    for (int64_t l = 0; l < s.layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        params_.push_back({p + "input_layernorm.weight", torch::ones({s.hidden})});
        params_.push_back({p + "self_attn.q_proj.weight", normal({s.heads * hd, s.hidden}, std)});
        params_.push_back({p + "self_attn.k_proj.weight", normal({s.kvHeads * hd, s.hidden}, std)});
        params_.push_back({p + "self_attn.v_proj.weight", normal({s.kvHeads * hd, s.hidden}, std)});
        params_.push_back({p + "self_attn.o_proj.weight", normal({s.hidden, s.heads * hd}, outStd)});
        params_.push_back({p + "post_attention_layernorm.weight", torch::ones({s.hidden})});
        params_.push_back({p + "mlp.gate_proj.weight", normal({s.intermediate, s.hidden}, std)});
        params_.push_back({p + "mlp.up_proj.weight", normal({s.intermediate, s.hidden}, std)});
        params_.push_back({p + "mlp.down_proj.weight", normal({s.hidden, s.intermediate}, outStd)});
    }
    params_.push_back({"model.norm.weight", torch::ones({s.hidden})});
    if (head == "lm_head") params_.push_back({"lm_head.weight", normal({s.vocab, s.hidden}, std)});
    else params_.push_back({"score.weight", torch::zeros({1, s.hidden})});
    for (auto& [name, t] : params_) t.set_requires_grad(true);
}

torch::Tensor& TinyLlama::param(const std::string& name)
{
    for (auto& [n, t] : params_)
        if (n == name) return t;
    throw std::runtime_error("no parameter " + name);
}

const torch::Tensor& TinyLlama::param(const std::string& name) const
{
    return const_cast<TinyLlama*>(this)->param(name);
}

int64_t TinyLlama::numParameters() const
{
    int64_t n = 0;
    for (const auto& [name, t] : params_) n += t.numel();
    return n;
}

torch::Tensor TinyLlama::hidden(const torch::Tensor& ids) const
{
    const auto& s = shape_;
    const int64_t B = ids.size(0), T = ids.size(1), hd = s.headDim(), rep = s.heads / s.kvHeads;
    const auto& P = params_;
    size_t k = 0;
    torch::Tensor x = P[k++].second.index_select(0, ids.reshape({-1})).view({B, T, s.hidden});

    // RoPE tables: inv_freq_i = theta^(-2i/d), emb = cat(freqs, freqs) as in HF.
    auto invFreq = torch::pow(s.ropeTheta, -torch::arange(0, hd, 2, torch::kFloat) / static_cast<double>(hd));
    auto freqs = torch::outer(torch::arange(T, torch::kFloat), invFreq);
    auto emb = torch::cat({freqs, freqs}, -1);
    auto cos = emb.cos().view({1, 1, T, hd}), sin = emb.sin().view({1, 1, T, hd});
    auto mask = torch::full({T, T}, -INFINITY).triu(1);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));

    for (int64_t l = 0; l < s.layers; ++l) {
        const auto& wIn = P[k++].second;
        const auto& wq = P[k++].second;
        const auto& wk = P[k++].second;
        const auto& wv = P[k++].second;
        const auto& wo = P[k++].second;
        const auto& wPost = P[k++].second;
        const auto& wg = P[k++].second;
        const auto& wu = P[k++].second;
        const auto& wd = P[k++].second;
        auto h = rmsNorm(x, wIn, s.rmsEps);
        auto q = torch::matmul(h, wq.t()).view({B, T, s.heads, hd}).transpose(1, 2);
        auto kk = torch::matmul(h, wk.t()).view({B, T, s.kvHeads, hd}).transpose(1, 2);
        auto v = torch::matmul(h, wv.t()).view({B, T, s.kvHeads, hd}).transpose(1, 2);
        q = q * cos + rotateHalf(q) * sin;
        kk = kk * cos + rotateHalf(kk) * sin;
        // GQA (HF repeat_kv): KV head j serves query heads j*rep .. j*rep+rep-1.
        kk = kk.repeat_interleave(rep, 1);
        v = v.repeat_interleave(rep, 1);
        auto att = torch::softmax(torch::matmul(q, kk.transpose(-2, -1)) * scale + mask, -1);
        auto o = torch::matmul(att, v).transpose(1, 2).reshape({B, T, s.heads * hd});
        x = x + torch::matmul(o, wo.t());
        auto h2 = rmsNorm(x, wPost, s.rmsEps);
        x = x + torch::matmul(torch::silu(torch::matmul(h2, wg.t())) * torch::matmul(h2, wu.t()), wd.t());
    }
    return rmsNorm(x, P[k].second, s.rmsEps);
}

torch::Tensor TinyLlama::head(const torch::Tensor& h) const
{
    const auto& w = params_.back().second;
    auto out = torch::matmul(h, w.t());
    return head_ == "lm_head" ? out : out.squeeze(-1);
}

void TinyLlama::saveSafetensors(const std::string& path) const
{
    // Format: u64 little-endian header size, JSON header {name: {dtype, shape, data_offsets}},
    // then the raw little-endian tensor bytes; the header is space-padded to 8 bytes.
    nlohmann::ordered_json header;
    header["__metadata__"] = {{"format", "pt"}};
    std::vector<torch::Tensor> data;
    int64_t offset = 0;
    for (const auto& [name, t] : params_) {
        auto b = t.detach().to(torch::kBFloat16).contiguous();
        const int64_t bytes = b.numel() * 2;
        header[name] = {{"dtype", "BF16"}, {"shape", b.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        data.push_back(b);
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::ofstream out(path, std::ios::binary);
    if (!out) throw std::runtime_error(path + ": cannot write");
    uint64_t n = h.size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(le), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const auto& b : data) out.write(static_cast<const char*>(b.data_ptr()), b.numel() * 2);
    if (!out) throw std::runtime_error(path + ": write failed");
}

} // namespace rudder::demo
