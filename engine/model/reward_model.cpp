#include "model/reward_model.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "model/loader.h"
#include "model/model_config.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "rudder/error.h"
#include "rudder/json_file.h"
#include "rudder/runtime_init.h"

namespace rudder {

namespace {

// v_head.summary.N.weight -> N, for the multi-layer value heads.
std::map<int, std::string> valueHeadLayers(const std::vector<std::string>& names)
{
    std::map<int, std::string> layers;
    const std::string pre = "v_head.summary.";
    for (const auto& n : names) {
        if (n.rfind(pre, 0) != 0 || n.size() < pre.size() + 8 || n.compare(n.size() - 7, 7, ".weight") != 0) continue;
        const std::string mid = n.substr(pre.size(), n.size() - pre.size() - 7);
        if (!mid.empty() && std::all_of(mid.begin(), mid.end(), ::isdigit)) layers[std::stoi(mid)] = pre + mid;
    }
    return layers;
}

} // namespace

std::string rewardHeadKind(const std::vector<std::string>& names)
{
    auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    if (has("regression_layer.weight") && has("gating.layers.0.weight")) return "armo_gating";
    if (has("score.weight")) return "score";
    if (has("regression_head.weight")) return "regression_head";
    if (has("v_head.summary.weight")) return "v_head";
    if (!valueHeadLayers(names).empty()) return "v_head_mlp";
    return "";
}

RewardModel::~RewardModel() = default;

const ModelConfig& RewardModel::config() const { return backbone_->config(); }
at::Device RewardModel::device() const { return backbone_->device(); }

// ArmoRM's head (LlamaForRewardModelWithGating, RLHFlow's modeling_custom.py), from its structure:
//   r = regression_layer(h_last)                    K objectives at the last token
//   g = softmax(MLP(h_gate) / temperature) * logit_scale    MLP: n_hidden Linear+ReLU, then Linear -> K
//   score = sum_k g_k (r @ reward_transform_matrix)_k
// h_gate is the hidden state at the last "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n".
void loadArmoHead(RewardModel& rm, const std::string& dir, const WeightStore& store, at::Device dev, int64_t d)
{
    const std::string cfgFile = (std::filesystem::path(dir) / "config.json").string();
    const nlohmann::json cfg = readJsonFile(cfgFile);
    auto number = [&](const char* key, double fallback, bool integer) {
        if (!cfg.contains(key)) return fallback;
        const auto& v = cfg[key];
        if (!v.is_number() || (integer && !v.is_number_integer()) || !(v.get<double>() > 0))
            throw Error(cfgFile, key, integer ? "must be a positive integer" : "must be a positive number");
        return v.get<double>();
    };
    const int64_t K = static_cast<int64_t>(number("num_objectives", 19, true));
    const int64_t hidden = static_cast<int64_t>(number("gating_hidden_dim", 1024, true));
    const int64_t nHidden = static_cast<int64_t>(number("gating_n_hidden", 3, true));
    rm.gateTemperature_ = number("gating_temperature", 10, false);
    auto load = [&](const std::string& name, std::vector<int64_t> shape) {
        const SafetensorsEntry& e = store.entry(name);
        store.requireFloat(name);
        if (e.shape != shape) {
            auto str = [](const std::vector<int64_t>& v) {
                std::string o = "[";
                for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + std::to_string(v[i]);
                return o + "]";
            };
            throw Error(store.fileOf(name), name, "has shape " + str(e.shape) + ", expected " + str(shape) +
                                                      " (num_objectives " + std::to_string(K) + ", gating_hidden_dim " +
                                                      std::to_string(hidden) + ", hidden_size " + std::to_string(d) + ")");
        }
        return store.tensor(name).to(dev, at::kFloat, false, true);
    };
    rm.regression_ = load("regression_layer.weight", {K, d});
    // Saved with every ArmoRM checkpoint; the identity is what the class initialises it to.
    rm.transform_ = store.has("reward_transform_matrix") ? load("reward_transform_matrix", {K, K})
                                                          : at::eye(K, at::TensorOptions().dtype(at::kFloat).device(dev));
    rm.logitScale_ = store.has("gating.logit_scale") ? load("gating.logit_scale", {1}).item<double>() : 1.0;
    int64_t in = d;
    for (int64_t i = 0; i <= nHidden; ++i) {
        const int64_t out = i == nHidden ? K : hidden;
        const std::string p = "gating.layers." + std::to_string(i);
        if (!store.has(p + ".weight"))
            throw Error(store.describe(), p + ".weight",
                        "missing: gating_n_hidden " + std::to_string(nHidden) + " means layers 0.." + std::to_string(nHidden));
        rm.w_.push_back(load(p + ".weight", {out, in}));
        rm.b_.push_back(store.has(p + ".bias") ? load(p + ".bias", {out}) : at::Tensor());
        in = out;
    }
    const std::string extra = "gating.layers." + std::to_string(nHidden + 1) + ".weight";
    if (store.has(extra))
        throw Error(store.fileOf(extra), extra, "present, but gating_n_hidden " + std::to_string(nHidden) +
                                                    " means the last gating layer is " + std::to_string(nHidden));
}

std::unique_ptr<RewardModel> loadRewardModel(const std::string& dir, const std::string& device, const std::string& dtype)
{
    initTorchRuntime();
    LoadedConfig lc = readLoadedConfig(dir, /*forCausalLM=*/false);
    const at::Device dev = parseDevice(device);
    const at::ScalarType dt = parseDtype(dtype, dev);
    WeightStore store(dir);
    checkConfigAgainstWeights(lc, store, dir);
    const auto names = store.names();
    std::unique_ptr<RewardModel> rm(new RewardModel());
    rm->kind_ = rewardHeadKind(names);
    if (rm->kind_.empty())
        throw Error(store.describe(), "score.weight",
                    "no reward head found (looked for score.weight, regression_head.weight, v_head.summary.weight, "
                    "v_head.summary.N.weight, also in value_head.safetensors)");
    rm->backbone_ = std::make_unique<TransformerLM>(lc, store, dev, dt, /*withLmHead=*/false);
    const int64_t d = lc.model.hidden_size;

    if (rm->kind_ == "armo_gating") {
        loadArmoHead(*rm, dir, store, dev, d);
        return rm;
    }
    std::vector<std::pair<std::string, std::string>> layers;   // weight, bias ("" if none)
    if (rm->kind_ == "score") layers = {{"score.weight", "score.bias"}};
    else if (rm->kind_ == "regression_head") layers = {{"regression_head.weight", "regression_head.bias"}};
    else if (rm->kind_ == "v_head") layers = {{"v_head.summary.weight", "v_head.summary.bias"}};
    else {
        // nn.Sequential(Linear, ReLU, Linear, ...): Linear layers sit at 0, 2, 4, ...; a gap or an
        // odd index is another architecture, which this scorer would silently get wrong.
        int expect = 0;
        for (const auto& [i, p] : valueHeadLayers(names)) {
            if (i != expect)
                throw Error(store.fileOf(p + ".weight"), p + ".weight",
                            "value-head layer " + std::to_string(i) + " where layer " + std::to_string(expect) +
                                " was expected (Linear layers at 0, 2, 4, ... with a ReLU between them)");
            expect += 2;
            layers.push_back({p + ".weight", p + ".bias"});
        }
    }
    int64_t in = d;
    for (size_t i = 0; i < layers.size(); ++i) {
        const auto& [wn, bn] = layers[i];
        const SafetensorsEntry& e = store.entry(wn);
        store.requireFloat(wn);
        const int64_t out = i + 1 == layers.size() ? 1 : (e.shape.empty() ? -1 : e.shape[0]);
        if (store.has(bn)) {
            store.requireFloat(bn);
            const auto& bs = store.entry(bn).shape;
            if (bs.size() != 1 || bs[0] != out)
                throw Error(store.fileOf(bn), bn, "bias has " + std::to_string(bs.size()) + " dimension(s)" +
                                                      (bs.size() == 1 ? " of size " + std::to_string(bs[0]) : "") +
                                                      ", expected [" + std::to_string(out) + "]");
        }
        if (e.shape.size() != 2 || e.shape[1] != in || e.shape[0] != out)
            throw Error(store.fileOf(wn), wn, "reward head layer has shape [" + (e.shape.size() == 2 ? std::to_string(e.shape[0]) + "," + std::to_string(e.shape[1]) : std::string("?"))
                                                  + "], expected [" + (out > 0 ? std::to_string(out) : std::string("n")) + "," + std::to_string(in)
                                                  + "] (a scalar head: num_labels must be 1)");
        rm->w_.push_back(store.tensor(wn).to(dev, at::kFloat, false, true));
        rm->b_.push_back(store.has(bn) ? store.tensor(bn).to(dev, at::kFloat, false, true).reshape({out}) : at::Tensor());
        in = out;
    }
    return rm;
}

std::vector<double> RewardModel::scoreIds(const std::vector<std::vector<int32_t>>& seqs)
{
    at::NoGradGuard noGrad;
    std::vector<double> out(seqs.size());
    lastObjectives_.clear();
    size_t i = 0;
    while (i < seqs.size()) {
        // A chunk of rows whose padded size stays under maxBatchTokens.
        size_t j = i, T = 0;
        while (j < seqs.size()) {
            if (seqs[j].empty()) throw UsageError("", "sequence " + std::to_string(j), "is empty: nothing to score");
            const size_t T2 = std::max(T, seqs[j].size());
            if (j > i && static_cast<int64_t>(T2 * (j - i + 1)) > maxBatchTokens) break;
            T = T2;
            ++j;
        }
        const int64_t rows = static_cast<int64_t>(j - i);
        const int64_t pad = std::max<int64_t>(config().pad_id, 0);
        at::Tensor tok = at::full({rows, static_cast<int64_t>(T)}, pad, at::kLong);
        auto acc = tok.accessor<int64_t, 2>();
        std::vector<int64_t> last(static_cast<size_t>(rows));
        for (int64_t r = 0; r < rows; ++r) {
            const auto& s = seqs[i + r];
            for (size_t t = 0; t < s.size(); ++t) acc[r][t] = s[t];
            last[r] = static_cast<int64_t>(s.size()) - 1;
        }
        // Right-padded, causal: a row's last real token never sees the pads after it.
        KVCache cache = backbone_->newCache(rows, static_cast<int64_t>(T));
        at::Tensor h = backbone_->forward(cache, tok);
        auto at_ = [&](const std::vector<int64_t>& pos) {
            at::Tensor idx = at::tensor(pos, at::kLong).to(h.device()).view({rows, 1, 1}).expand({rows, 1, h.size(2)});
            return h.gather(1, idx).squeeze(1);
        };
        at::Tensor x;
        if (kind_ == "armo_gating") {
            std::vector<int64_t> gate(static_cast<size_t>(rows));
            for (int64_t r = 0; r < rows; ++r) gate[r] = gatePosition(seqs[i + r], i + r);
            const at::Tensor rewards = at::linear(at_(last).to(at::kFloat), regression_);   // [rows, K]
            x = armoHead(rewards, at_(gate));
            const at::Tensor obj = rewards.to(at::kDouble).cpu().contiguous();
            for (int64_t r = 0; r < rows; ++r)
                lastObjectives_.emplace_back(obj[r].data_ptr<double>(), obj[r].data_ptr<double>() + obj.size(1));
        } else {
            x = head(at_(last));
        }
        for (int64_t r = 0; r < rows; ++r) out[i + r] = x.data_ptr<double>()[r];
        i = j;
    }
    return out;
}

int64_t RewardModel::gatePosition(const std::vector<int32_t>& seq, size_t row) const
{
    const size_t n = gatePattern_.size();
    if (n > 0 && seq.size() >= n)
        for (size_t j = seq.size() - n + 1; j-- > 0;)
            if (std::equal(gatePattern_.begin(), gatePattern_.end(), seq.begin() + long(j))) return static_cast<int64_t>(j);
    throw UsageError("reward model", "sequence " + std::to_string(row),
                     "has no \"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n\" for ArmoRM's gate to read "
                     "(the reward model's chat template must be Llama 3's)");
}

at::Tensor RewardModel::armoHead(const at::Tensor& rewards, at::Tensor gate) const
{
    at::Tensor g = gate.to(at::kFloat);
    for (size_t l = 0; l < w_.size(); ++l) {
        g = at::linear(g, w_[l], b_[l]);
        if (l + 1 < w_.size()) g = at::relu(g);
    }
    g = at::softmax(g / gateTemperature_, 1) * logitScale_;
    return (g * at::matmul(rewards, transform_)).sum(1).to(at::kDouble).to(at::kCPU).contiguous();
}

at::Tensor RewardModel::head(at::Tensor x) const
{
    x = x.to(at::kFloat);
    for (size_t l = 0; l < w_.size(); ++l) {
        x = at::linear(x, w_[l], b_[l]);
        if (l + 1 < w_.size()) x = at::relu(x);
    }
    return x.reshape({-1}).to(at::kDouble).to(at::kCPU).contiguous();
}

std::vector<double> RewardModel::scoreWithPrefix(PrefixState& st, const std::vector<std::vector<int32_t>>& seqs)
{
    at::NoGradGuard noGrad;
    if (seqs.empty()) return {};
    if (kind_ == "armo_gating") {
        // The gate reads a position inside the shared prefix, which the rows do not recompute:
        // score whole sequences (correct, without ARGS's prefix reuse).
        for (const auto& s : seqs) st.computedTokens += static_cast<int64_t>(s.size());
        return scoreIds(seqs);
    }
    // Shared prefix of the batch, leaving every row at least one token of its own: the score is
    // read at a row's last token, which must be computed in that row.
    size_t lcp = seqs[0].size() - 1;
    for (const auto& s : seqs) {
        if (s.empty()) throw UsageError("", "sequence", "is empty: nothing to score");
        lcp = std::min(lcp, s.size() - 1);
        size_t i = 0;
        while (i < lcp && s[i] == seqs[0][i]) ++i;
        lcp = i;
    }
    const int64_t rows = static_cast<int64_t>(seqs.size());
    size_t longest = 0;
    for (const auto& s : seqs) longest = std::max(longest, s.size());
    // A cache too small (or too few rows) starts over, sized with room to grow.
    const int64_t need = static_cast<int64_t>(longest);
    if (!st.cache || st.cache->rows() < rows + 1 || st.cache->capacity() < need) {
        st.cache = std::make_unique<KVCache>(backbone_->newCache(rows + 1, std::max<int64_t>(2 * need, 64)));
        st.ids.clear();
    }
    KVCache& cache = *st.cache;
    // Row 0: rewind to what it shares with this batch's prefix, then extend it.
    size_t keep = 0;
    while (keep < st.ids.size() && keep < lcp && st.ids[keep] == seqs[0][keep]) ++keep;
    st.reusedTokens += static_cast<int64_t>(keep);
    cache.setLength(0, static_cast<int64_t>(keep));
    st.ids.resize(keep);
    const at::Device dev = backbone_->device();
    if (lcp > keep) {
        std::vector<int64_t> ext(seqs[0].begin() + long(keep), seqs[0].begin() + long(lcp));
        const int64_t n = static_cast<int64_t>(ext.size());
        backbone_->forwardRows(cache, at::tensor(ext, at::kLong).view({1, n}).to(dev), at::zeros({1}, at::kLong).to(dev));
        st.ids.insert(st.ids.end(), seqs[0].begin() + long(keep), seqs[0].begin() + long(lcp));
        st.computedTokens += n;
    }
    // Rows 1..: the prefix forked, then each row's own suffix, right-padded (causal attention:
    // a row's last real token never sees the pads after it).
    size_t T = 0;
    for (const auto& s : seqs) T = std::max(T, s.size() - lcp);
    const int64_t pad = std::max<int64_t>(config().pad_id, 0);
    at::Tensor tok = at::full({rows, static_cast<int64_t>(T)}, pad, at::kLong);
    auto acc = tok.accessor<int64_t, 2>();
    std::vector<int64_t> last(static_cast<size_t>(rows)), rowIdx(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
        const auto& s = seqs[r];
        for (size_t t = lcp; t < s.size(); ++t) acc[r][static_cast<int64_t>(t - lcp)] = s[t];
        last[r] = static_cast<int64_t>(s.size() - lcp) - 1;
        rowIdx[r] = r + 1;
        cache.fork(0, r + 1, static_cast<int64_t>(lcp));
        st.computedTokens += static_cast<int64_t>(s.size() - lcp);
    }
    at::Tensor h = backbone_->forwardRows(cache, tok.to(dev), at::tensor(rowIdx, at::kLong).to(dev));
    at::Tensor idx = at::tensor(last, at::kLong).to(h.device()).view({rows, 1, 1}).expand({rows, 1, h.size(2)});
    at::Tensor x = head(h.gather(1, idx).squeeze(1));
    return std::vector<double>(x.data_ptr<double>(), x.data_ptr<double>() + rows);
}

std::vector<double> RewardModel::scorePadded(const at::Tensor& idsIn, const at::Tensor& maskIn)
{
    if (idsIn.dim() != 2) throw Error("", "ids", "scorePadded expects [batch, T]");
    at::Tensor ids = idsIn.to(at::kCPU).to(at::kLong).contiguous();
    at::Tensor mask;
    if (maskIn.defined()) {
        mask = maskIn.to(at::kCPU).to(at::kLong).contiguous();
        if (mask.sizes() != ids.sizes()) throw Error("", "attention_mask", "shape differs from the ids");
    }
    const int64_t B = ids.size(0), T = ids.size(1);
    const int64_t pad = config().pad_id;
    std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
        const int64_t* row = ids.data_ptr<int64_t>() + b * T;
        if (mask.defined()) {
            const int64_t* m = mask.data_ptr<int64_t>() + b * T;
            for (int64_t t = 0; t < T; ++t)
                if (m[t]) seqs[b].push_back(static_cast<int32_t>(row[t]));
        } else {
            int64_t s = 0, e = T;
            while (s < T && row[s] == pad) ++s;
            while (e > s && row[e - 1] == pad) --e;
            for (int64_t t = s; t < e; ++t) seqs[b].push_back(static_cast<int32_t>(row[t]));
        }
    }
    return scoreIds(seqs);
}

} // namespace rudder
