// QAlign (QAlign paper, §3.1): Metropolis–Hastings over complete responses targeting
// π_β(y|x) ∝ p_LM(y|x)·exp(r(x, y)/β) with the QUEST suffix proposal.
//
// Step t: draw a cut index i uniformly in 0..|y^t|−1, keep y^t_{<i}, sample a new suffix from
// p_LM (the prefix's KV cache is reused: the completion backend extends the state's kept
// completion; locally its cache row is forked and truncated), score y', and accept with
//     α = min{ 1, exp((r(x,y') − r(x,y^t))/β) · |y^t|/|y'| }            (eq. 8)
// since the p_LM terms of eq. 6 cancel against the proposal ratio of eq. 7.  The log-ratio is
// clamped to ±20 as in the reference library.  On rejection the chain repeats y^t.
//
// The proposal must be the model's own distribution (temperature 1, no top-k/top-p) for the
// chain to target p_LM·exp(r/β); another temperature targets the tempered model (stats say so).
// Chains of one prompt run batched: the C proposals of a step are one completeMany() call, each
// reusing its chain state's kept completion; an accepted proposal becomes the state and the other
// is released.  Randomness of (prompt p, step t, chain c) comes from rowSeed(seed, p, t, c):
// resuming rebuilds each chain's state from its events.
//
// Units.  With scale = 1 (the default) β is given in standard deviations of the base
// model's rewards for the prompt, measured on `pilot` samples of p_LM (the chains' starting states
// and extra rows, all counted in the budget).  For Gaussian rewards the target p_LM·exp(r/β) then
// has mean reward μ + s²/β = μ + s/c: the same as best-of-n with c(n) = 1/c (eq. 10), for any
// reward model.  The paper's β = 1 assumes rewards spread over several units; on a reward model
// whose scores spread over 0.2, β = 1 leaves the target almost the base model.  The absolute β is
// in every event's stats.
#include <algorithm>
#include <cmath>
#include <random>

#include "methods/common.h"
#include "rudder/error.h"
#include "rudder/selection.h"

namespace rudder {

using namespace methods;

QAlignOptions QAlignOptions::fromConfig(const nlohmann::json& c)
{
    QAlignOptions o;
    o.chains = static_cast<int>(getInt(c, "chains"));
    o.steps = static_cast<int>(getInt(c, "steps"));
    o.beta = getDouble(c, "beta");
    o.temperature = getDouble(c, "temperature");
    o.burn_in = static_cast<int>(getInt(c, "burn_in"));
    o.window = static_cast<int>(getInt(c, "window"));
    o.max_new_tokens = static_cast<int>(getInt(c, "max_new_tokens"));
    if (c.contains("vote")) o.vote = getInt(c, "vote") != 0;
    if (c.contains("answer_regex") && c["answer_regex"].is_string()) o.answer_regex = c["answer_regex"].get<std::string>();
    if (c.contains("scale")) o.scale = getInt(c, "scale") != 0;
    if (c.contains("pilot")) o.pilot = static_cast<int>(getInt(c, "pilot"));
    return o;
}

namespace {

struct Chain {
    std::vector<int32_t> tokens;   // y^t (EOS kept if hit)
    std::string text;
    double reward = 0;
    std::optional<double> gold;
    std::vector<double> objectives;   // the reward's components, when it has several
    int origin = 0;                // step whose proposal this state is
    int64_t handle = -1;           // the completion backend's kept state of y^t (-1: none)

    // The chain moves to the scored response `s`, proposed at step `step`.
    void take(const Sample& s, int step)
    {
        tokens = s.token_ids;
        text = s.text;
        reward = s.reward;
        gold = s.gold_reward;
        objectives = s.reward_objectives;
        origin = step;
    }
    // The chain's state after step t, as its events record it.
    Sample stateAt(int prompt, int t, int c) const
    {
        Sample st = makeSample(prompt, t, c, tokens, text, reward, gold);
        st.reward_objectives = objectives;
        st.parent = origin;
        return st;
    }
};

} // namespace

RunResult runQAlign(const MethodContext& ctx, const QAlignOptions& o, const std::vector<std::string>& prompts)
{
    const int C = o.chains;
    const bool tempered = std::fabs(o.temperature - 1.0) > 1e-12;

    BudgetMeter meter(ctx);
    meter.restore(resumedBudget(ctx));
    RunResult result;
    nlohmann::json perPrompt = nlohmann::json::array();
    bool stopped = false;

    for (int p = 0; p < static_cast<int>(prompts.size()) && !stopped; ++p) {
        const std::vector<int32_t> ids = ctx.encode(prompts[p]);
        const int64_t L = static_cast<int64_t>(ids.size());
        if (L == 0) throw Error("prompt", std::to_string(p), "encodes to no tokens (QAlign needs one to resample from)");
        std::vector<Chain> ch(C);
        std::vector<std::vector<Sample>> states(C);   // chain state after every step (for the final selection)
        std::vector<std::vector<int>> acceptedHistory; // per step, per chain (step ≥ 1)
        int64_t accepted = 0, proposals = 0;

        auto done = resumedEvents(ctx, "qalign", p);
        const int tStart = std::min<int>(static_cast<int>(done.size()), o.steps);
        // The absolute β: as given, or set at step 0 from the pilot (a resumed run reads it back).
        double beta = o.beta;
        if (tStart > 0 && done[0]->stats.contains("beta") && done[0]->stats["beta"].is_number())
            beta = done[0]->stats["beta"].get<double>();
        for (int t = 0; t < tStart; ++t) {
            std::vector<int> acc;
            for (const auto& s : done[t]->samples) {
                if (s.index < 0 || s.index >= C) continue;
                Chain& c = ch[s.index];
                const bool a = t == 0 || s.accepted.value_or(false);
                if (a) c.take(s, t);
                if (t > 0) { acc.push_back(a); accepted += a; ++proposals; }
                states[s.index].push_back(c.stateAt(p, t, s.index));
            }
            if (t > 0) acceptedHistory.push_back(acc);
        }

        // Every sample comes from the completion backend: chain starts, pilot samples and suffix
        // proposals (prompt ⊕ y_<i, reusing the chain state's cache: QUEST's prefix reuse).
        std::unique_ptr<CompletionBackend> local;
        CompletionBackend& backend = completionsFor(ctx, local);
        auto request = [&](std::vector<int32_t> prefix, int64_t maxNew) {
            CompletionRequest r;
            r.prefix = std::move(prefix);
            r.max_new_tokens = maxNew;
            r.temperature = o.temperature;
            return r;
        };
        struct Release {   // kept states go back to the backend with the prompt
            CompletionBackend& b;
            std::vector<Chain>& ch;
            ~Release()
            {
                std::vector<int64_t> h;
                for (const auto& c : ch) h.push_back(c.handle);
                b.release(h);
            }
        } release{backend, ch};
        if (tStart > 0 && tStart < o.steps) {
            // A resumed run: the chains' states made ready for their proposals.
            std::vector<CompletionRequest> prime;
            for (int c = 0; c < C; ++c) {
                std::vector<int32_t> full = ids;
                full.insert(full.end(), ch[c].tokens.begin(), ch[c].tokens.end());
                prime.push_back(request(std::move(full), 0));
                prime.back().keep = true;
            }
            const auto primed = backend.completeMany(prime, ctx.cancel);
            for (int c = 0; c < C && c < static_cast<int>(primed.size()); ++c) {
                meter.lmTokens(primed[c].prefill_tokens);
                ch[c].handle = primed[c].handles.empty() ? -1 : primed[c].handles[0];
            }
        }

        for (int t = tStart; t < o.steps && !stopped; ++t) {
            IterationEvent e;
            e.method = "qalign";
            e.prompt_index = p;
            e.iteration = t;
            int64_t generated = 0;
            if (t == 0) {
                // y⁰ ~ p_LM(·|x) for every chain, kept for the proposals that extend them.
                CompletionRequest start = request(ids, o.max_new_tokens);
                for (int c = 0; c < C; ++c) start.seeds.push_back(rowSeed(ctx.seed, p, 0, c));
                start.keep = true;
                Completions y0 = backend.complete(start, ctx.cancel);
                meter.lmTokens(y0.prefill_tokens);
                if (y0.cancelled) { stopped = true; break; }
                generated = y0.generated_tokens;
                meter.generated(generated);
                const std::vector<std::vector<int32_t>>& y = y0.tokens;
                for (int c = 0; c < C; ++c) ch[c].handle = y0.handles.empty() ? -1 : y0.handles[size_t(c)];
                Scored sc = scoreResponses(ctx, meter, prompts[p], L, y);
                for (int c = 0; c < C; ++c) {
                    // A starting state is no proposal: no accepted flag (events.h), so the GUI's
                    // acceptance rate counts the same proposals as the engine's.
                    e.samples.push_back(makeSample(p, 0, c, y[c], sc, size_t(c)));
                    ch[c].take(e.samples.back(), 0);
                }
                e.stats = {{"tokens_generated", generated}};
                if (o.scale) {
                    // Extra pilot rows C.. of step 0 (seeds (p, 0, C+r): no chain uses them).
                    std::vector<double> base = sc.rewards;
                    const int extra = std::max(0, o.pilot - C);
                    if (extra > 0) {
                        // Plain samples of the prompt, as best-of-n's.
                        CompletionRequest req = request(ids, o.max_new_tokens);
                        for (int r = 0; r < extra; ++r) req.seeds.push_back(rowSeed(ctx.seed, p, 0, C + r));
                        Completions g = backend.complete(req, ctx.cancel);
                        meter.lmTokens(g.prefill_tokens);
                        if (g.cancelled) { stopped = true; break; }
                        meter.generated(g.generated_tokens);
                        e.stats["tokens_generated"] = generated + g.generated_tokens;
                        Scored ps = scoreResponses(ctx, meter, prompts[p], L, g.tokens);
                        base.insert(base.end(), ps.rewards.begin(), ps.rewards.end());
                    }
                    const RewardScale sc0 = rewardScaleOf(base);
                    beta = o.beta * sc0.value;
                    e.stats["pilot_rewards"] = base;
                    e.stats["reward_std"] = sc0.value;
                    // Pilot rewards without spread (a 0/1 verifier that agrees on every pilot
                    // sample): β is read as absolute rather than collapsing to a hill-climber.
                    if (sc0.fallback) e.stats["scale_fallback"] = "pilot rewards show no spread: beta taken as absolute";
                    if (auto n = bonEquivalentN(o.beta)) e.stats["bon_equivalent_n"] = *n;
                }
            } else {
                // Cut indices and acceptance uniforms from the (p, t, c) seed.
                std::vector<int> cut(C);
                std::vector<double> u(C);
                for (int c = 0; c < C; ++c) {
                    std::mt19937_64 rng(rowSeed(ctx.seed, p, t, c) ^ 0x9e3779b97f4a7c15ULL);
                    const int len = static_cast<int>(ch[c].tokens.size());
                    cut[c] = static_cast<int>(std::uniform_int_distribution<int>(0, std::max(len, 1) - 1)(rng));
                    u[c] = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
                }
                // Proposal c: complete x ⊕ y_{<i} from the state's cache (the local backend forks it
                // up to position L+i−1 and re-feeds the token there to predict position L+i).
                std::vector<CompletionRequest> reqs;
                for (int c = 0; c < C; ++c) {
                    std::vector<int32_t> prefix = ids;
                    prefix.insert(prefix.end(), ch[c].tokens.begin(), ch[c].tokens.begin() + cut[c]);
                    reqs.push_back(request(std::move(prefix), o.max_new_tokens - cut[c]));
                    reqs.back().seeds = {rowSeed(ctx.seed, p, t, c)};
                    reqs.back().reuse = ch[c].handle;
                    reqs.back().keep = true;
                }
                const auto got = backend.completeMany(reqs, ctx.cancel);
                bool wasCancelled = got.size() < reqs.size();
                for (const auto& g : got) {
                    meter.lmTokens(g.prefill_tokens);
                    generated += g.generated_tokens;
                    wasCancelled = wasCancelled || g.cancelled;
                }
                if (wasCancelled) { stopped = true; break; }
                meter.generated(generated);
                std::vector<std::vector<int32_t>> suffix(C);
                std::vector<int64_t> propHandle(C, -1);
                for (int c = 0; c < C; ++c) {
                    suffix[c] = got[size_t(c)].tokens.at(0);
                    if (!got[size_t(c)].handles.empty()) propHandle[c] = got[size_t(c)].handles[0];
                }
                std::vector<std::vector<int32_t>> prop(C);
                for (int c = 0; c < C; ++c) {
                    prop[c].assign(ch[c].tokens.begin(), ch[c].tokens.begin() + cut[c]);
                    prop[c].insert(prop[c].end(), suffix[c].begin(), suffix[c].end());
                }
                Scored sc = scoreResponses(ctx, meter, prompts[p], L, prop);
                std::vector<double> alphas(C);
                std::vector<int> lengths(C), acc(C);
                for (int c = 0; c < C; ++c) {
                    // eq. 8, in log space and clamped to ±20.
                    double logA = (sc.rewards[c] - ch[c].reward) / beta;
                    if (o.length_ratio) logA += std::log(double(ch[c].tokens.size()) / double(prop[c].size()));
                    logA = std::clamp(logA, -20.0, 20.0);
                    alphas[c] = std::min(1.0, std::exp(logA));
                    const bool a = u[c] < alphas[c];
                    acc[c] = a;
                    lengths[c] = static_cast<int>(prop[c].size());
                    Sample s = makeSample(p, t, c, prop[c], sc, size_t(c));
                    s.accepted = a;
                    s.cut_index = cut[c];
                    s.parent = ch[c].origin;
                    e.samples.push_back(s);
                    if (a) {
                        ch[c].take(s, t);
                        std::swap(ch[c].handle, propHandle[c]);
                    }
                    backend.release({propHandle[c]});   // the rejected proposal, or the replaced state
                    accepted += a;
                    ++proposals;
                }
                acceptedHistory.push_back(acc);
                int64_t wAcc = 0, wN = 0;
                for (size_t h = acceptedHistory.size() - std::min<size_t>(acceptedHistory.size(), o.window);
                     h < acceptedHistory.size(); ++h)
                    for (int a : acceptedHistory[h]) { wAcc += a; ++wN; }
                e.stats = {{"alpha", alphas},
                           {"accepted", acc},
                           {"cut_index", cut},
                           {"length", lengths},
                           {"acceptance_rate", double(accepted) / double(proposals)},
                           {"windowed_acceptance", wN ? double(wAcc) / double(wN) : 0.0},
                           {"tokens_generated", generated}};
            }
            std::vector<double> sr;
            double sum = 0, best = -INFINITY;
            for (int c = 0; c < C; ++c) {
                states[c].push_back(ch[c].stateAt(p, t, c));
                sr.push_back(ch[c].reward);
                sum += ch[c].reward;
                best = std::max(best, ch[c].reward);
            }
            e.stats["state_reward"] = sr;
            e.stats["mean_reward"] = sum / C;
            e.stats["best_reward"] = best;
            e.stats["beta"] = beta;
            e.stats["scale"] = o.scale ? "relative" : "absolute";
            if (tempered) e.stats["target"] = "tempered model";
            e.budget = meter.now();
            emit(ctx, e);
        }

        // Final answer over the chains' states after burn-in: MBR with ROUGE-1 on token ids, or
        // majority vote on an extracted answer (samples from π_β need no weights).
        std::vector<const Sample*> pool;
        for (int c = 0; c < C; ++c)
            for (const auto& s : states[c])
                if (s.iteration >= o.burn_in) pool.push_back(&s);
        if (pool.empty())
            for (int c = 0; c < C; ++c)
                if (!states[c].empty()) pool.push_back(&states[c].back());
        if (pool.empty()) break;
        nlohmann::json info = {{"prompt_index", p},
                               {"steps", states[0].size()},
                               {"acceptance_rate", proposals ? double(accepted) / double(proposals) : 0.0},
                               {"pool", pool.size()},
                               {"beta", beta}};
        int pick = 0;
        if (o.vote) {
            std::vector<std::optional<std::string>> answers;
            for (const auto* s : pool) answers.push_back(extractAnswer(s->text, o.answer_regex));
            Vote v = majorityVote(answers);
            pick = std::max(v.index, 0);
            info["selection"] = "majority_vote";
            info["answer"] = v.answer;
            info["vote_share"] = v.mass;
        } else {
            // A chain repeats its state on rejection: MBR over the distinct responses weighted by
            // their multiplicity is the same selection at a fraction of the O(n²) cost.
            std::vector<const std::vector<int32_t>*> ids;
            for (const auto* s : pool) ids.push_back(&s->token_ids);
            const RepeatedMbr m = mbrSelectRepeated(ids);
            pick = m.index;
            info["selection"] = "mbr_rouge1";
            info["distinct"] = m.distinct;
        }
        if (tempered) info["target"] = "tempered model";
        FinalAnswer f;
        f.prompt_index = p;
        f.text = pool[pick]->text;
        f.token_ids = pool[pick]->token_ids;
        f.reward = pool[pick]->reward;
        f.gold_reward = pool[pick]->gold_reward;
        result.final.push_back(f);
        perPrompt.push_back(info);
    }
    result.summary["prompts"] = perPrompt;
    return finish(result, ctx, meter, stopped);
}

double tuneQAlignBeta(const MethodContext& ctx, const QAlignOptions& options, const std::string& prompt, double target,
                      int pilotSteps)
{
    // Acceptance grows with β: bisect log β over [1e-3, 1e2] on short pilot chains.
    MethodContext pilot = ctx;
    pilot.onEvent = nullptr;
    pilot.resume = nullptr;
    QAlignOptions o = options;
    o.scale = false;   // the ladder is of absolute β
    o.steps = std::max(2, pilotSteps);
    o.burn_in = 0;
    auto rate = [&](double beta) {
        o.beta = beta;
        RunResult r = runQAlign(pilot, o, {prompt});
        if (r.summary["prompts"].empty()) return 0.0;
        return r.summary["prompts"][0].value("acceptance_rate", 0.0);
    };
    double lo = std::log(1e-3), hi = std::log(1e2);
    double rLo = rate(std::exp(lo)), rHi = rate(std::exp(hi));
    if (rLo >= target) return std::exp(lo);
    if (rHi <= target) return std::exp(hi);
    for (int it = 0; it < 6 && !cancelled(ctx); ++it) {
        const double mid = 0.5 * (lo + hi), rMid = rate(std::exp(mid));
        if (rMid < target) { lo = mid; rLo = rMid; }
        else { hi = mid; rHi = rMid; }
    }
    // Log-linear interpolation between the bracketing pilots.
    const double f = (rHi > rLo) ? (target - rLo) / (rHi - rLo) : 0.5;
    return std::exp(lo + std::clamp(f, 0.0, 1.0) * (hi - lo));
}

} // namespace rudder
