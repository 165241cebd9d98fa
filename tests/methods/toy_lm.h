// A lookup-table causal LM for exact tests: the logits at a position are a fixed pseudo-random
// function of the whole context, the hidden size equals the vocabulary and lm_head is the
// identity, so pre-logit perturbations act directly on the logits and p_LM can be enumerated.
// Token ids 0..V-2 are the letters 'a', 'b', ...; V-1 is EOS (decoded as nothing).
#pragma once
#include <ATen/ATen.h>

#include <atomic>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/causal_lm.h"
#include "rudder/reward.h"

namespace toy {

inline uint64_t fnv(const std::vector<int64_t>& v, uint64_t salt)
{
    uint64_t h = 1469598103934665603ULL ^ salt;
    for (int64_t x : v) {
        h ^= static_cast<uint64_t>(x + 7);
        h *= 1099511628211ULL;
    }
    return h;
}

class ToyLM : public rudder::CausalLM {
public:
    explicit ToyLM(int64_t vocab, uint64_t seed = 1, double scale = 1.5, double eosBias = 0.0)
        : seed_(seed), scale_(scale), eosBias_(eosBias)
    {
        cfg_.architecture = "ToyLM";
        cfg_.model_type = "toy";
        cfg_.hidden_size = vocab;
        cfg_.vocab_size = vocab;
        cfg_.num_layers = 0;
        cfg_.eos_ids = {vocab - 1};
        cfg_.bos_id = 0;
        cfg_.pad_id = 0;
        cfg_.num_parameters = 1000;
    }
    int64_t eos() const { return cfg_.vocab_size - 1; }

    const rudder::ModelConfig& config() const override { return cfg_; }
    at::Device device() const override { return at::kCPU; }
    at::ScalarType dtype() const override { return at::kFloat; }
    rudder::KVCache newCache(int64_t rows, int64_t capacity) const override
    {
        return rudder::KVCache(rows, capacity, 0, 1, 1, at::TensorOptions().dtype(at::kFloat));
    }

    // The model's logits after `context` (prompt and response ids).
    const std::vector<float>& logitsFor(const std::vector<int64_t>& context)
    {
        auto it = table_.find(context);
        if (it != table_.end()) return it->second;
        std::mt19937_64 rng(fnv(context, seed_));
        std::normal_distribution<double> N(0.0, 1.0);
        std::vector<float> l(cfg_.vocab_size);
        for (auto& x : l) x = static_cast<float>(scale_ * N(rng));
        l.back() += static_cast<float>(eosBias_);
        return table_.emplace(context, l).first->second;
    }

    at::Tensor forward(rudder::KVCache& cache, const at::Tensor& tokens) override
    {
        return forwardRows(cache, tokens, at::arange(cache.rows(), at::kLong));
    }

    at::Tensor forwardRows(rudder::KVCache& cache, const at::Tensor& tokensIn, const at::Tensor& rowIndex) override
    {
        ++calls;
        if (trip && calls == tripAt) { trip->store(true); callsAtTrip = calls; }
        const at::Tensor tokens = tokensIn.to(at::kCPU, at::kLong).contiguous();
        const at::Tensor rows = rowIndex.to(at::kCPU, at::kLong).contiguous();
        const int64_t m = tokens.size(0), T = tokens.size(1), V = cfg_.vocab_size;
        at::Tensor out = at::empty({m, T, V}, at::kFloat);
        auto tok = tokens.accessor<int64_t, 2>();
        auto cacheTok = cache.tokens.accessor<int64_t, 2>();
        auto o = out.accessor<float, 3>();
        for (int64_t j = 0; j < m; ++j) {
            const int64_t r = rows[j].item<int64_t>();
            const int64_t len = cache.length(r);
            for (int64_t t = 0; t < T; ++t) cacheTok[r][len + t] = tok[j][t];
            std::vector<int64_t> ctx(len + T);
            for (int64_t q = 0; q < len + T; ++q) ctx[q] = cacheTok[r][q];
            for (int64_t t = 0; t < T; ++t) {
                const auto& l = logitsFor(std::vector<int64_t>(ctx.begin(), ctx.begin() + len + t + 1));
                for (int64_t v = 0; v < V; ++v) o[j][t][v] = l[v];
            }
            cache.setLength(r, len + T);
        }
        return out;
    }

    at::Tensor lmHead(const at::Tensor& pre) const override { return pre.to(at::kFloat); }

    // Cancellation probe: sets *trip at the tripAt-th forward call.
    std::atomic<bool>* trip = nullptr;
    int64_t tripAt = -1, calls = 0, callsAtTrip = -1;

    std::string decode(const std::vector<int32_t>& ids) const
    {
        std::string s;
        for (int32_t id : ids)
            if (id != eos()) s += static_cast<char>('a' + id);
        return s;
    }
    std::vector<int32_t> encode(const std::string& s) const
    {
        std::vector<int32_t> ids;
        for (char ch : s) ids.push_back(static_cast<int32_t>(ch - 'a') % static_cast<int32_t>(eos()));
        return ids;
    }

private:
    rudder::ModelConfig cfg_;
    uint64_t seed_;
    double scale_, eosBias_;
    std::map<std::vector<int64_t>, std::vector<float>> table_;
};

// A fixed reward table: r(text) uniform in [0, span) from a hash of (prompt, text).
class TableReward : public rudder::RewardFunction {
public:
    explicit TableReward(double span = 2.5, uint64_t salt = 99) : span_(span), salt_(salt) {}
    double value(const std::string& prompt, const std::string& text) const
    {
        std::vector<int64_t> v;
        for (char c : prompt) v.push_back(c);
        v.push_back(-100);
        for (char c : text) v.push_back(c);
        std::mt19937_64 rng(fnv(v, salt_));
        return span_ * std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    }
    std::vector<double> score(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        ++calls;
        std::vector<double> out;
        for (const auto& r : responses) out.push_back(value(prompt, r));
        return out;
    }
    std::string name() const override { return "table"; }
    int64_t calls = 0;

private:
    double span_;
    uint64_t salt_;
};

} // namespace toy
