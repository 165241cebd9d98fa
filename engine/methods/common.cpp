#include "methods/common.h"

#include <algorithm>

#include "rudder/error.h"

namespace rudder {
CausalLM& localModel(const MethodContext& ctx, const char* method)
{
    if (!ctx.lm)
        throw UsageError(method, "", "needs the base model in this process (pre-logits or full next-token "
                                     "distributions); a serving engine's completions API cannot give them");
    return *ctx.lm;
}
} // namespace rudder

namespace rudder::methods {

BudgetMeter::BudgetMeter(const MethodContext& ctx)
    : params_(ctx.lm ? ctx.lm->config().num_parameters : ctx.baseParameters),
      rmFlops_(ctx.rewardFlopsPerToken >= 0 ? ctx.rewardFlopsPerToken : ctx.reward.flopsPerToken()),
      start_(std::chrono::steady_clock::now())
{
}

Budget BudgetMeter::now() const
{
    Budget b = b_;
    b.seconds = secondsBefore_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return b;
}

void BudgetMeter::restore(const Budget& b)
{
    b_ = b;
    secondsBefore_ = b.seconds;
    start_ = std::chrono::steady_clock::now();
}

Scored scoreResponses(const MethodContext& ctx, BudgetMeter& meter, const std::string& prompt, int64_t promptTokens,
                      const std::vector<std::vector<int32_t>>& responses)
{
    Scored s;
    s.texts.reserve(responses.size());
    int64_t tokens = 0;
    for (const auto& r : responses) {
        s.texts.push_back(ctx.decode(r));
        tokens += promptTokens + static_cast<int64_t>(r.size());
    }
    s.rewards = ctx.reward.score(prompt, s.texts);
    if (s.rewards.size() != responses.size())
        throw Error("reward", ctx.reward.name(),
                    "returned " + std::to_string(s.rewards.size()) + " scores for " +
                        std::to_string(responses.size()) + " responses");
    s.objectives = ctx.reward.lastObjectives();
    if (s.objectives.size() != responses.size()) s.objectives.clear();
    meter.scored(static_cast<int64_t>(responses.size()), tokens);
    s.gold.assign(responses.size(), std::nullopt);
    if (ctx.gold) {
        auto g = ctx.gold->score(prompt, s.texts);
        if (g.size() != responses.size())
            throw Error("gold reward", ctx.gold->name(), "returned the wrong number of scores");
        for (size_t i = 0; i < g.size(); ++i) s.gold[i] = g[i];
    }
    return s;
}

std::vector<int64_t> stopIds(const CausalLM& lm) { return lm.config().eos_ids; }

bool cancelled(const MethodContext& ctx) { return ctx.cancel && ctx.cancel->load(); }

void emit(const MethodContext& ctx, const IterationEvent& e)
{
    if (ctx.onEvent) ctx.onEvent(e);
}

std::vector<const IterationEvent*> resumedEvents(const MethodContext& ctx, const std::string& method, int prompt)
{
    std::vector<const IterationEvent*> out;
    if (!ctx.resume) return out;
    for (const auto& e : ctx.resume->completed) {
        // A gap-free prefix from 0 has fewer steps than there are events: a larger number
        // (a damaged session) is no part of it and must not size the table.
        if (e.method != method || e.prompt_index != prompt || e.iteration < 0 ||
            static_cast<size_t>(e.iteration) >= ctx.resume->completed.size())
            continue;
        if (static_cast<size_t>(e.iteration) >= out.size()) out.resize(e.iteration + 1, nullptr);
        out[e.iteration] = &e;
    }
    // Only a gap-free prefix can be continued.
    size_t n = 0;
    while (n < out.size() && out[n]) ++n;
    out.resize(n);
    return out;
}

Budget resumedBudget(const MethodContext& ctx)
{
    Budget b;
    if (!ctx.resume) return b;
    for (const auto& e : ctx.resume->completed)
        if (e.budget.flops >= b.flops && e.budget.samples >= b.samples) b = e.budget;
    return b;
}

Sample makeSample(int prompt, int iteration, int index, std::vector<int32_t> ids, std::string text, double reward,
                  std::optional<double> gold)
{
    Sample s;
    s.prompt_index = prompt;
    s.iteration = iteration;
    s.index = index;
    s.token_ids = std::move(ids);
    s.text = std::move(text);
    s.reward = reward;
    s.gold_reward = gold;
    return s;
}

Sample makeSample(int prompt, int iteration, int index, std::vector<int32_t> ids, const Scored& sc, size_t i)
{
    Sample s = makeSample(prompt, iteration, index, std::move(ids), sc.texts[i], sc.rewards[i], sc.gold[i]);
    s.reward_objectives = sc.objectivesOf(i);
    return s;
}

std::vector<at::Generator> rowGenerators(uint64_t seed, int64_t prompt, int64_t iteration, int64_t n)
{
    std::vector<uint64_t> seeds(n);
    for (int64_t i = 0; i < n; ++i) seeds[i] = rowSeed(seed, prompt, iteration, i);
    return makeRowGenerators(seeds);
}

CompletionBackend& completionsFor(const MethodContext& ctx, std::unique_ptr<CompletionBackend>& local)
{
    if (ctx.completions) return *ctx.completions;
    local = localCompletions(localModel(ctx, "sampling"));
    return *local;
}


RunResult finish(RunResult r, const MethodContext&, const BudgetMeter& meter, bool wasCancelled)
{
    r.budget = meter.now();
    r.status = wasCancelled ? RunStatus::Cancelled : RunStatus::Done;
    return r;
}

} // namespace rudder::methods

namespace rudder::methods {

SamplingParams samplingFromConfig(const nlohmann::json& c)
{
    SamplingParams s;
    s.temperature = getDouble(c, "temperature");
    s.top_k = getInt(c, "top_k");
    s.top_p = getDouble(c, "top_p");
    return s;
}

IndependentOptions independentFromConfig(const nlohmann::json& c)
{
    IndependentOptions opt;
    opt.n = getInt(c, "n");
    opt.batch = std::min(getInt(c, "batch"), opt.n);
    opt.max_new_tokens = getInt(c, "max_new_tokens");
    opt.sampling = samplingFromConfig(c);
    return opt;
}

bool sampleIndependent(const MethodContext& ctx, BudgetMeter& meter, const std::string& method, int p,
                       const std::string& prompt, const IndependentOptions& opt,
                       const std::function<nlohmann::json(const std::vector<Sample>& all, std::vector<Sample>& batch)>& decorate,
                       std::vector<Sample>& all)
{
    const int64_t nBatches = (opt.n + opt.batch - 1) / opt.batch;
    auto done = resumedEvents(ctx, method, p);
    for (const auto* e : done)
        for (const auto& s : e->samples) all.push_back(s);
    if (static_cast<int64_t>(done.size()) >= nBatches) return true;

    const std::vector<int32_t> ids = ctx.encode(prompt);
    const int64_t promptLen = static_cast<int64_t>(ids.size());
    std::unique_ptr<CompletionBackend> local;
    CompletionBackend& backend = completionsFor(ctx, local);
    // A server takes several batches at once (its own scheduler batches them); the local model
    // one at a time, so the plots move after every batch.
    const int64_t together = std::max<int64_t>(1, backend.concurrency());
    std::vector<Completions> ready;   // completed batches from `readyFrom` on
    int64_t readyFrom = 0;
    for (int64_t b = static_cast<int64_t>(done.size()); b < nBatches; ++b) {
        if (cancelled(ctx)) return false;
        const int64_t first = b * opt.batch, rows = std::min(opt.batch, opt.n - first);
        if (b - readyFrom >= static_cast<int64_t>(ready.size())) {
            std::vector<CompletionRequest> reqs;
            for (int64_t q = b; q < std::min(nBatches, b + together); ++q) {
                CompletionRequest req;
                req.prefix = ids;
                req.max_new_tokens = opt.max_new_tokens;
                req.temperature = opt.sampling.temperature;
                req.top_k = opt.sampling.top_k;
                req.top_p = opt.sampling.top_p;
                const int64_t f = q * opt.batch, m = std::min(opt.batch, opt.n - f);
                for (int64_t r = 0; r < m; ++r) req.seeds.push_back(rowSeed(ctx.seed, p, 0, f + r));
                reqs.push_back(std::move(req));
            }
            ready = reqs.size() == 1 ? std::vector<Completions>{backend.complete(reqs[0], ctx.cancel)}
                                     : backend.completeMany(reqs, ctx.cancel);
            readyFrom = b;
            if (ready.empty() || ready.front().cancelled) return false;
        }
        Completions g = std::move(ready[size_t(b - readyFrom)]);
        meter.lmTokens(g.prefill_tokens);
        if (g.cancelled) return false;
        meter.generated(g.generated_tokens);
        Scored sc = scoreResponses(ctx, meter, prompt, promptLen, g.tokens);
        IterationEvent e;
        e.method = method;
        e.prompt_index = p;
        e.iteration = static_cast<int>(b);
        for (int64_t r = 0; r < rows; ++r)
            e.samples.push_back(makeSample(p, e.iteration, static_cast<int>(r), g.tokens[r], sc, size_t(r)));
        // `all` grows in place (it was copied for every batch: O(n^2)); decorate may set the
        // batch's weights, which then go to `all`'s tail too.
        all.insert(all.end(), e.samples.begin(), e.samples.end());
        e.stats = decorate(all, e.samples);
        std::copy(e.samples.begin(), e.samples.end(), all.end() - static_cast<std::ptrdiff_t>(e.samples.size()));
        e.budget = meter.now();
        emit(ctx, e);
    }
    return true;
}

} // namespace rudder::methods
