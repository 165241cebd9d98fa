// The local completion backend (rudder/completion.h): the model in this process over its KV
// cache.  Two paths:
// - plain requests (best-of-n, IS, QAlign's pilot): the prefix is prefilled once into one row and
//   copied to the n rows of a cache of exactly n rows, so decoding takes the runtime's fastest
//   path; the prompt's cache is reused while the next request has the same prefix and row count;
// - kept completions (QAlign's chains): a pool of rows; a request that names an earlier
//   completion forks that row's cache up to the shared prefix and feeds only the rest (one token
//   for a suffix proposal), exactly what QAlign did with its own rows.
#include <ATen/ATen.h>

#include <algorithm>
#include <map>

#include "methods/aisp_decode.h"
#include "methods/common.h"
#include "model/generate.h"
#include "rudder/error.h"

namespace rudder {

namespace {

class LocalCompletions : public CompletionBackend {
public:
    explicit LocalCompletions(CausalLM& lm) : lm_(lm), stop_(methods::stopIds(lm)) {}

    std::string name() const override { return "local"; }

    Completions complete(const CompletionRequest& r, const std::atomic<bool>* cancel) override
    {
        if (r.keep || r.reuse >= 0) return completeMany({r}, cancel).front();
        return plain(r, cancel);
    }

    std::vector<Completions> completeMany(const std::vector<CompletionRequest>& reqs,
                                          const std::atomic<bool>* cancel) override
    {
        bool pooled = false;
        for (const auto& r : reqs) pooled = pooled || r.keep || r.reuse >= 0;
        if (!pooled) return CompletionBackend::completeMany(reqs, cancel);
        return pool(reqs, cancel);
    }

    // Top-k of log softmax(logits) after `prefix`; a prefix that extends the previous one (ARGS's
    // growing response) feeds only the new tokens through the kept cache.
    NextTokens nextTokens(const std::vector<int32_t>& prefix, int64_t k, const std::atomic<bool>*) override
    {
        at::NoGradGuard ng;
        NextTokens out;
        if (prefix.empty()) throw Error("completions", "prefix", "is empty (needs at least one token, e.g. BOS)");
        const bool extends = !nextIds_.empty() && prefix.size() > nextIds_.size() &&
                             std::equal(nextIds_.begin(), nextIds_.end(), prefix.begin()) &&
                             static_cast<int64_t>(prefix.size()) < nextCache_.capacity();
        size_t from = extends ? nextIds_.size() : 0;
        if (!extends) {
            nextCache_ = lm_.newCache(1, static_cast<int64_t>(prefix.size()) + 256);
            nextIds_.clear();
        }
        std::vector<int64_t> feed(prefix.begin() + static_cast<std::ptrdiff_t>(from), prefix.end());
        const int64_t T = static_cast<int64_t>(feed.size());
        const at::Tensor pre = lm_.forward(nextCache_, at::tensor(feed, at::kLong).view({1, T}).to(lm_.device()));
        nextIds_ = prefix;
        out.prefill_tokens = T;
        const at::Tensor logp = at::log_softmax(lm_.lmHead(pre[0][T - 1]).to(at::kCPU, at::kDouble).view({-1}), 0);
        const auto top = at::topk(logp, std::min<int64_t>(k, logp.size(0)));
        const at::Tensor v = std::get<0>(top).contiguous(), ix = std::get<1>(top).contiguous();
        for (int64_t j = 0; j < ix.size(0); ++j) {
            out.ids.push_back(static_cast<int32_t>(ix[j].item<int64_t>()));
            out.logprobs.push_back(v[j].item<double>());
        }
        return out;
    }

    PrelogitInfo prelogitInfo(const std::vector<int32_t>& prefix, const std::atomic<bool>*) override
    {
        at::NoGradGuard ng;
        if (prefix.empty()) throw Error("completions", "prefix", "is empty (needs at least one token, e.g. BOS)");
        return {methods::prelogitRms(lm_, prefix), lm_.config().hidden_size};
    }

    // AISP's decode exactly as the method runs it locally: the prompt prefilled once and its
    // cache rewound for every iteration of the same prompt and row count.
    PerturbedDecodes perturbed(const PerturbedRequest& r, const std::atomic<bool>* cancel) override
    {
        at::NoGradGuard ng;
        const int64_t d = lm_.config().hidden_size;
        if (r.prefix.empty()) throw Error("completions", "prefix", "is empty (needs at least one token, e.g. BOS)");
        if (r.hidden != d) throw UsageError("perturbed", "hidden", "is " + std::to_string(r.hidden) + "; the model's is " + std::to_string(d));
        if (r.tau < 1 || r.tau > r.max_new_tokens) throw UsageError("perturbed", "tau", "must be in [1, max_tokens]");
        if (!r.control.empty() && static_cast<int64_t>(r.control.size()) != r.tau * d)
            throw UsageError("perturbed", "control", "must hold tau × hidden numbers");
        at::Tensor U = r.control.empty() ? at::zeros({r.tau, d}, at::kFloat)
                                         : at::tensor(r.control, at::kFloat).view({r.tau, d});
        std::vector<at::Tensor> V;
        if (r.noise_seeds.empty()) V.push_back(U);
        for (uint64_t s : r.noise_seeds) V.push_back(U + methods::aispNoise(s, r.tau, d, r.sigma, r.rho));
        const int64_t rows = static_cast<int64_t>(V.size());
        const int64_t L = static_cast<int64_t>(r.prefix.size());
        PerturbedDecodes out;
        if (r.prefix != aispPrefix_ || rows != aispCache_.rows() || L + r.max_new_tokens + 1 > aispCache_.capacity()) {
            aispCache_ = lm_.newCache(rows, L + r.max_new_tokens + 1);
            aispLast_ = prefillShared(lm_, aispCache_, r.prefix);
            aispPrefix_ = r.prefix;
            out.prefill_tokens = L;
        }
        for (int64_t row = 0; row < rows; ++row) aispCache_.setLength(row, L);
        std::vector<double> kl;
        GenerateResult g = methods::perturbedDecode(lm_, aispCache_, aispLast_.clone(), at::stack(V), r.tau,
                                                    r.max_new_tokens, cancel, r.kl ? &kl : nullptr);
        out.cancelled = g.cancelled;
        out.generated_tokens = g.generated_tokens;
        if (g.cancelled) return out;
        out.tokens = std::move(g.tokens);
        out.finished = std::move(g.finished);
        out.kl = std::move(kl);
        return out;
    }

    void release(const std::vector<int64_t>& handles) override
    {
        for (int64_t h : handles)
            if (h >= 0 && h < static_cast<int64_t>(used_.size())) used_[size_t(h)] = false;
    }

private:
    void fill(GenerateOptions& go, const CompletionRequest& r, const std::atomic<bool>* cancel) const
    {
        go.max_new_tokens = r.max_new_tokens;
        go.sampling.temperature = r.temperature;
        go.sampling.top_k = r.top_k;
        go.sampling.top_p = r.top_p;
        go.stop_ids = stop_;
        go.cancel = cancel;
        go.logprobs = r.logprobs;
    }

    Completions plain(const CompletionRequest& r, const std::atomic<bool>* cancel)
    {
        Completions out;
        const int64_t n = static_cast<int64_t>(r.seeds.size());
        if (n == 0) return out;
        const int64_t L = static_cast<int64_t>(r.prefix.size());
        const int64_t need = L + r.max_new_tokens + 1;
        if (r.prefix != prefix_ || n != cache_.rows() || need > cache_.capacity()) {
            cache_ = lm_.newCache(n, need);
            last_ = prefillShared(lm_, cache_, r.prefix);
            prefix_ = r.prefix;
            out.prefill_tokens = L;
        }
        for (int64_t row = 0; row < n; ++row) cache_.setLength(row, L);   // the prefix's KV, reused
        auto gens = makeRowGenerators(r.seeds);
        GenerateOptions go;
        fill(go, r, cancel);
        GenerateResult g = generate(lm_, cache_, last_.clone(), go, gens);
        out.cancelled = g.cancelled;
        out.generated_tokens = g.generated_tokens;
        if (g.cancelled) return out;
        out.tokens = std::move(g.tokens);
        out.logprobs = std::move(g.logprobs);
        out.finished = std::move(g.finished);
        return out;
    }

    // A free row of the pool, growing it (rows copied) when all are in use.
    int64_t allocate(int64_t capacity)
    {
        if (pool_.rows() == 0 || capacity > pool_.capacity()) {
            if (pool_.rows() > 0 && std::find(used_.begin(), used_.end(), true) != used_.end())
                throw Error("completions", "capacity", "a kept completion needs more positions than its pool holds");
            pool_ = lm_.newCache(8, capacity);
            used_.assign(8, false);
            ids_.assign(8, {});
        }
        for (size_t i = 0; i < used_.size(); ++i)
            if (!used_[i]) {
                used_[i] = true;
                return static_cast<int64_t>(i);
            }
        const int64_t old = pool_.rows();
        KVCache bigger = lm_.newCache(2 * old, pool_.capacity());
        for (size_t l = 0; l < pool_.k.size(); ++l) {
            bigger.k[l].narrow(0, 0, old).copy_(pool_.k[l]);
            bigger.v[l].narrow(0, 0, old).copy_(pool_.v[l]);
        }
        bigger.tokens.narrow(0, 0, old).copy_(pool_.tokens);
        for (int64_t r = 0; r < old; ++r) bigger.setLength(r, pool_.length(r));
        pool_ = std::move(bigger);
        used_.resize(size_t(2 * old), false);
        ids_.resize(size_t(2 * old));
        used_[size_t(old)] = true;
        return old;
    }

    std::vector<Completions> pool(const std::vector<CompletionRequest>& reqs, const std::atomic<bool>* cancel)
    {
        // One decode serves every request, so they must share its sampling settings.
        for (const auto& r : reqs)
            if (r.temperature != reqs.front().temperature || r.top_k != reqs.front().top_k ||
                r.top_p != reqs.front().top_p || r.logprobs != reqs.front().logprobs)
                throw Error("completions", "sampling", "requests decoded together must share temperature, top-k, "
                                                       "top-p and log-probs");
        std::vector<Completions> out(reqs.size());
        int64_t capacity = 0;
        for (const auto& r : reqs)
            capacity = std::max<int64_t>(capacity, static_cast<int64_t>(r.prefix.size()) + r.max_new_tokens + 1);
        if (pool_.rows() > 0) capacity = std::max(capacity, pool_.capacity());

        // 1. Each request's first row holds its whole prefix: forked from the reused row up to the
        //    shared part, the rest fed (requests fed together when the rest has the same length).
        std::vector<int64_t> head(reqs.size());
        std::vector<int64_t> from(reqs.size());
        for (size_t i = 0; i < reqs.size(); ++i) {
            const auto& r = reqs[i];
            if (r.prefix.empty()) throw Error("completions", "prefix", "is empty (needs at least one token, e.g. BOS)");
            head[i] = allocate(capacity);
            int64_t shared = 0;
            if (r.reuse >= 0 && r.reuse < static_cast<int64_t>(used_.size()) && used_[size_t(r.reuse)]) {
                const auto& cached = ids_[size_t(r.reuse)];
                const size_t lim = std::min(cached.size(), r.prefix.size() - 1);   // feed at least one token
                while (size_t(shared) < lim && cached[size_t(shared)] == r.prefix[size_t(shared)]) ++shared;
                pool_.fork(r.reuse, head[i], shared);
            } else {
                pool_.setLength(head[i], 0);
            }
            from[i] = shared;
            out[i].prefill_tokens = static_cast<int64_t>(r.prefix.size()) - shared;
        }
        std::vector<at::Tensor> pre(reqs.size());
        std::map<int64_t, std::vector<size_t>> byRest;
        for (size_t i = 0; i < reqs.size(); ++i) byRest[static_cast<int64_t>(reqs[i].prefix.size()) - from[i]].push_back(i);
        for (const auto& [T, group] : byRest) {
            std::vector<int64_t> tok, rows;
            for (size_t i : group) {
                tok.insert(tok.end(), reqs[i].prefix.begin() + from[i], reqs[i].prefix.end());
                rows.push_back(head[i]);
            }
            const int64_t m = static_cast<int64_t>(group.size());
            const at::Tensor p = lm_.forwardRows(pool_, at::tensor(tok, at::kLong).view({m, T}).to(lm_.device()),
                                                 at::tensor(rows, at::kLong).to(lm_.device()));
            for (size_t j = 0; j < group.size(); ++j) pre[group[j]] = p[int64_t(j)][T - 1];
        }
        for (size_t i = 0; i < reqs.size(); ++i) ids_[size_t(head[i])] = reqs[i].prefix;

        // 2. The n rows of each request: its head row and copies of it; all decoded together.
        std::vector<int64_t> rows, budgets;
        std::vector<at::Tensor> last;
        std::vector<uint64_t> seeds;
        std::vector<size_t> owner;
        for (size_t i = 0; i < reqs.size(); ++i) {
            const int64_t L = static_cast<int64_t>(reqs[i].prefix.size());
            for (size_t j = 0; j < reqs[i].seeds.size(); ++j) {
                int64_t row = head[i];
                if (j > 0) {
                    row = allocate(capacity);
                    pool_.fork(head[i], row, L);
                    ids_[size_t(row)] = reqs[i].prefix;
                }
                rows.push_back(row);
                budgets.push_back(reqs[i].max_new_tokens);
                last.push_back(pre[i]);
                seeds.push_back(reqs[i].seeds[j]);
                owner.push_back(i);
            }
        }
        if (!rows.empty()) {
            auto gens = makeRowGenerators(seeds);
            GenerateOptions go;
            fill(go, reqs.front(), cancel);
            go.rows = rows;
            go.budgets = budgets;   // generate() runs to the largest
            GenerateResult g = generate(lm_, pool_, at::stack(last), go, gens);
            for (size_t k = 0; k < rows.size(); ++k) {
                Completions& c = out[owner[k]];
                c.generated_tokens += static_cast<int64_t>(g.tokens[k].size());
                if (g.cancelled) continue;
                // What the row's cache now holds: the prefix and every generated token but the last.
                auto& held = ids_[size_t(rows[k])];
                held.insert(held.end(), g.tokens[k].begin(), g.tokens[k].end());
                held.resize(size_t(pool_.length(rows[k])));
                c.tokens.push_back(std::move(g.tokens[k]));
                if (go.logprobs) c.logprobs.push_back(std::move(g.logprobs[k]));
                c.finished.push_back(g.finished[k]);
                c.handles.push_back(reqs[owner[k]].keep ? rows[k] : -1);
            }
            if (g.cancelled)
                for (auto& c : out) c.cancelled = true;
        }
        // Rows no one keeps go back to the pool; a priming request keeps its head row.
        for (size_t i = 0; i < reqs.size(); ++i) {
            if (reqs[i].seeds.empty()) {
                if (reqs[i].keep) out[i].handles.push_back(head[i]);
                else used_[size_t(head[i])] = false;
            }
        }
        for (size_t k = 0; k < rows.size(); ++k)
            if (!reqs[owner[k]].keep || out[owner[k]].cancelled) used_[size_t(rows[k])] = false;
        return out;
    }

    CausalLM& lm_;
    std::vector<int64_t> stop_;
    // Plain requests.
    std::vector<int32_t> prefix_;
    KVCache cache_;
    at::Tensor last_;
    // Kept completions: rows in use and the token ids each row's cache holds.
    KVCache pool_;
    std::vector<bool> used_;
    std::vector<std::vector<int32_t>> ids_;
    // perturbed(): the last prompt's cache.
    KVCache aispCache_;
    at::Tensor aispLast_;
    std::vector<int32_t> aispPrefix_;
    // nextTokens(): the last prefix and its cache.
    KVCache nextCache_;
    std::vector<int32_t> nextIds_;
};

} // namespace

std::unique_ptr<CompletionBackend> localCompletions(CausalLM& lm) { return std::make_unique<LocalCompletions>(lm); }

} // namespace rudder
