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

bool takeResumedPrompt(const MethodContext& ctx, const std::string& method, int p, RunResult& result,
                       nlohmann::json& perPrompt)
{
    auto done = resumedEvents(ctx, method, p);
    if (done.empty() || done[0]->samples.empty()) return false;
    const Sample& s = done[0]->samples[0];
    result.final.push_back({p, s.text, s.token_ids, s.reward, s.gold_reward});
    perPrompt.push_back({{"prompt_index", p}, {"kl_to_base", done[0]->stats.value("kl_to_base", 0.0)}});
    return true;
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

BatchQueue::BatchQueue(const MethodContext& ctx, std::string method, const std::vector<std::string>& prompts,
                       const IndependentOptions& opt)
    : ctx_(ctx), method_(std::move(method)), prompts_(prompts), opt_(opt),
      nBatches_((opt.n + opt.batch - 1) / opt.batch), backend_(&completionsFor(ctx, local_))
{
}

int64_t BatchQueue::resumed(int p) const
{
    return std::min<int64_t>(nBatches_, static_cast<int64_t>(resumedEvents(ctx_, method_, p).size()));
}

const std::vector<int32_t>& BatchQueue::ids(int p)
{
    auto it = ids_.find(p);
    if (it == ids_.end()) it = ids_.emplace(p, ctx_.encode(prompts_[size_t(p)])).first;
    return it->second;
}

CompletionRequest BatchQueue::request(int p, int64_t b)
{
    CompletionRequest req;
    req.prefix = ids(p);
    req.max_new_tokens = opt_.max_new_tokens;
    req.temperature = opt_.sampling.temperature;
    req.top_k = opt_.sampling.top_k;
    req.top_p = opt_.sampling.top_p;
    const int64_t first = b * opt_.batch, rows = std::min(opt_.batch, opt_.n - first);
    for (int64_t r = 0; r < rows; ++r) req.seeds.push_back(rowSeed(ctx_.seed, p, 0, first + r));
    return req;
}

Completions BatchQueue::take(int p, int64_t b)
{
    if (auto it = ready_.find({p, b}); it != ready_.end()) {
        Completions c = std::move(it->second);
        ready_.erase(it);
        return c;
    }
    // This batch and the ones after it, into the next prompts, up to the backend's concurrency.
    const int64_t together = std::max<int64_t>(1, backend_->concurrency());
    std::vector<std::pair<int, int64_t>> keys;
    std::vector<CompletionRequest> reqs;
    for (int q = p; q < static_cast<int>(prompts_.size()) && static_cast<int64_t>(keys.size()) < together; ++q)
        for (int64_t c = q == p ? b : resumed(q); c < nBatches_ && static_cast<int64_t>(keys.size()) < together; ++c) {
            keys.emplace_back(q, c);
            reqs.push_back(request(q, c));
        }
    std::vector<Completions> got = reqs.size() == 1 ? std::vector<Completions>{backend_->complete(reqs[0], ctx_.cancel)}
                                                    : backend_->completeMany(reqs, ctx_.cancel);
    if (got.size() != keys.size() || got.front().cancelled) {
        Completions c;
        c.cancelled = true;
        return c;
    }
    for (size_t i = 1; i < keys.size(); ++i) ready_[keys[i]] = std::move(got[i]);
    return std::move(got[0]);
}

bool sampleIndependent(const MethodContext& ctx, BudgetMeter& meter, BatchQueue& queue, const std::string& method, int p,
                       const std::string& prompt, const IndependentOptions& opt,
                       const std::function<nlohmann::json(const std::vector<Sample>& all, std::vector<Sample>& batch)>& decorate,
                       std::vector<Sample>& all)
{
    const int64_t nBatches = queue.batches();
    auto done = resumedEvents(ctx, method, p);
    for (const auto* e : done)
        for (const auto& s : e->samples) all.push_back(s);
    if (static_cast<int64_t>(done.size()) >= nBatches) return true;

    const int64_t promptLen = static_cast<int64_t>(queue.ids(p).size());
    for (int64_t b = static_cast<int64_t>(done.size()); b < nBatches; ++b) {
        if (cancelled(ctx)) return false;
        const int64_t rows = std::min(opt.batch, opt.n - b * opt.batch);
        Completions g = queue.take(p, b);
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
