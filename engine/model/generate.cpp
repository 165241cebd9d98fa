// The decode loop shared by every method, and the two prefill helpers.
#include "model/generate.h"

#include <algorithm>
#include <chrono>

#include "rudder/error.h"

namespace rudder {

at::Tensor prefillShared(CausalLM& lm, KVCache& cache, const std::vector<int32_t>& promptIds)
{
    if (promptIds.empty()) throw UsageError("", "prompt", "is empty (needs at least one token, e.g. BOS)");
    at::NoGradGuard noGrad;
    std::vector<int64_t> ids(promptIds.begin(), promptIds.end());
    at::Tensor tok = at::tensor(ids, at::kLong).unsqueeze(0);
    cache.setLength(0, 0);
    // One row computed, then copied: the n rows share the prompt (BoN, AISP).
    at::Tensor pre = lm.forwardRows(cache, tok, at::zeros({1}, at::kLong));
    cache.broadcastRow(0);
    return pre.select(1, pre.size(1) - 1).expand({cache.rows(), pre.size(2)}).contiguous();
}

at::Tensor prefillRows(CausalLM& lm, KVCache& cache, const std::vector<std::vector<int32_t>>& prompts)
{
    const int64_t rows = cache.rows();
    if (static_cast<int64_t>(prompts.size()) != rows)
        throw Error("", "prompts", std::to_string(prompts.size()) + " prompts for a cache of " + std::to_string(rows) + " rows");
    at::NoGradGuard noGrad;
    size_t T = 0;
    for (const auto& p : prompts) {
        if (p.empty()) throw UsageError("", "prompt", "is empty (needs at least one token, e.g. BOS)");
        T = std::max(T, p.size());
    }
    const int64_t pad = std::max<int64_t>(lm.config().pad_id, 0);
    at::Tensor tok = at::full({rows, static_cast<int64_t>(T)}, pad, at::kLong);
    auto acc = tok.accessor<int64_t, 2>();
    for (int64_t r = 0; r < rows; ++r) {
        for (size_t t = 0; t < prompts[r].size(); ++t) acc[r][t] = prompts[r][t];
        cache.setLength(r, 0);
    }
    // Right-padded: a row's pad positions are computed, then forgotten by setLength.
    at::Tensor pre = lm.forward(cache, tok);
    std::vector<int64_t> last(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
        cache.setLength(r, static_cast<int64_t>(prompts[r].size()));
        last[r] = static_cast<int64_t>(prompts[r].size()) - 1;
    }
    at::Tensor idx = at::tensor(last, at::kLong).to(pre.device()).view({rows, 1, 1}).expand({rows, 1, pre.size(2)});
    return pre.gather(1, idx).squeeze(1);
}

GenerateResult generate(CausalLM& lm, KVCache& cache, const at::Tensor& lastPreLogits, const GenerateOptions& options,
                        std::vector<at::Generator>& gens)
{
    at::NoGradGuard noGrad;
    const auto t0 = std::chrono::steady_clock::now();
    // Slots 0..n-1: the rows decoded (every cache row, or options.rows in its order).
    std::vector<int64_t> rowOf = options.rows;
    if (rowOf.empty())
        for (int64_t r = 0; r < cache.rows(); ++r) rowOf.push_back(r);
    const int64_t n = static_cast<int64_t>(rowOf.size());
    if (lastPreLogits.dim() != 2 || lastPreLogits.size(0) != n)
        throw Error("", "lastPreLogits", "must be [rows, hidden] with rows = " + std::to_string(n));
    if (!options.budgets.empty() && static_cast<int64_t>(options.budgets.size()) != n)
        throw Error("", "budgets", std::to_string(options.budgets.size()) + " budgets for " + std::to_string(n) + " rows");
    int64_t maxSteps = options.max_new_tokens;
    if (!options.budgets.empty()) maxSteps = *std::max_element(options.budgets.begin(), options.budgets.end());
    auto budgetOf = [&](int64_t slot) { return options.budgets.empty() ? options.max_new_tokens : options.budgets[slot]; };
    GenerateResult res;
    res.tokens.assign(static_cast<size_t>(n), {});
    res.logprobs.assign(static_cast<size_t>(n), {});
    res.finished.assign(static_cast<size_t>(n), false);

    std::vector<int64_t> active(static_cast<size_t>(n));   // slots still decoding
    for (int64_t i = 0; i < n; ++i) active[i] = i;
    at::Tensor pre = lastPreLogits;   // [active, hidden]
    const at::Device dev = lm.device();
    auto cacheRows = [&](const std::vector<int64_t>& slots) {
        std::vector<int64_t> r;
        r.reserve(slots.size());
        for (int64_t s : slots) r.push_back(rowOf[s]);
        return r;
    };

    for (int64_t step = 0; step < maxSteps && !active.empty(); ++step) {
        if (options.cancel && options.cancel->load()) {
            res.cancelled = true;
            break;
        }
        at::Tensor rowsDev = at::tensor(cacheRows(active), at::kLong).to(dev);
        if (options.perturb) options.perturb(step, pre, rowsDev);
        at::Tensor logits = lm.lmHead(pre);
        at::Tensor lp, next;
        if (options.choose) {
            next = options.choose(step, logits, cacheRows(active)).to(at::kCPU, at::kLong).contiguous();
            if (options.logprobs)
                lp = at::log_softmax(logits, -1).gather(1, next.to(logits.device()).unsqueeze(1)).squeeze(1);
        } else {
            std::vector<at::Generator> g;
            if (!options.sampling.greedy && options.sampling.temperature > 0) {
                if (static_cast<int64_t>(gens.size()) != n)
                    throw Error("", "generators", std::to_string(gens.size()) + " generators for " + std::to_string(n) + " rows");
                for (int64_t i : active) g.push_back(gens[i]);
            }
            next = sampleNext(logits, options.sampling, g, options.logprobs ? &lp : nullptr).to(at::kCPU);
        }
        if (options.logprobs) lp = lp.to(at::kCPU).to(at::kFloat);

        std::vector<int64_t> still;
        std::vector<int64_t> feed;
        for (size_t j = 0; j < active.size(); ++j) {
            const int64_t i = active[j];
            const int64_t r = rowOf[i];
            const int64_t id = next.data_ptr<int64_t>()[j];
            res.tokens[i].push_back(static_cast<int32_t>(id));
            if (options.logprobs) res.logprobs[i].push_back(lp.data_ptr<float>()[j]);
            ++res.generated_tokens;
            bool stop = std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end();
            if (!stop && options.stop_when && options.stop_when(r, res.tokens[i])) stop = true;
            if (stop) res.finished[i] = true;
            // The last token is not fed back: nothing would read its pre-logits.
            else if (step + 1 < budgetOf(i) && cache.length(r) < cache.capacity()) {
                still.push_back(i);
                feed.push_back(id);
            }
        }
        active.swap(still);
        if (active.empty()) break;
        const int64_t m = static_cast<int64_t>(active.size());
        at::Tensor tok = at::tensor(feed, at::kLong).view({m, 1});
        pre = lm.forwardRows(cache, tok, at::tensor(cacheRows(active), at::kLong)).select(1, 0);
        res.forward_tokens += m;
    }
    res.flops = 2.0 * static_cast<double>(lm.config().num_parameters) * static_cast<double>(res.forward_tokens);
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

} // namespace rudder
