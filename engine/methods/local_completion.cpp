// The local completion backend (rudder/completion.h): the model in this process over its KV
// cache.  Best-of-n asks for batch after batch of the same prompt, so the prompt's cache and its
// last pre-logits are kept and reused while the prefix and the row count stay the same.
#include <ATen/ATen.h>

#include <algorithm>

#include "methods/common.h"
#include "model/generate.h"

namespace rudder {

namespace {

class LocalCompletions : public CompletionBackend {
public:
    explicit LocalCompletions(CausalLM& lm) : lm_(lm), stop_(methods::stopIds(lm)) {}

    std::string name() const override { return "local"; }

    Completions complete(const CompletionRequest& r, const std::atomic<bool>* cancel) override
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
        go.max_new_tokens = r.max_new_tokens;
        go.sampling.temperature = r.temperature;
        go.sampling.top_k = r.top_k;
        go.sampling.top_p = r.top_p;
        go.stop_ids = stop_;
        go.cancel = cancel;
        go.logprobs = r.logprobs;
        GenerateResult g = generate(lm_, cache_, last_.clone(), go, gens);
        out.cancelled = g.cancelled;
        out.generated_tokens = g.generated_tokens;
        if (g.cancelled) return out;
        out.tokens = std::move(g.tokens);
        out.logprobs = std::move(g.logprobs);
        out.finished = std::move(g.finished);
        return out;
    }

private:
    CausalLM& lm_;
    std::vector<int64_t> stop_;
    std::vector<int32_t> prefix_;
    KVCache cache_;
    at::Tensor last_;
};

} // namespace

std::unique_ptr<CompletionBackend> localCompletions(CausalLM& lm) { return std::make_unique<LocalCompletions>(lm); }

} // namespace rudder
