// AISP: adaptive importance sampling on pre-logits (AISP paper, §3 and Algorithm 1).
//
// The control is a Gaussian perturbation V = U + E, E ~ N(0, σ²I), added to the pre-logits z_t
// (the input of lm_head) of the first τ response tokens.  Each iteration k draws n trajectories,
// decodes them greedily (Appendix B: sampling degrades AISP), scores them and moves the mean
// U to the importance-weighted mean of the V^i (eq. 14) with the relaxed weights of eq. 19.
// The answer is the best of all samples and one final noiseless decode with V = U.
//
// Units.  The paper's σ and λ are absolute: σ = 0.5 and λ = 0.3 were tuned for
// Llama-3-8B with UltraRM, and its Table 4 needs λ from 0.3 to 480 across reward models.  Both
// have a natural scale, so with scale = 1 (the default) they are given relative to it:
//  - σ in units of the pre-logits' RMS: z_t and v_t enter the logits through the same W, so
//    σ/RMS(z) is the ratio of logit noise to logit spread whatever the width or the final norm's
//    gain.  RMS(z) is measured per prompt on the last prompt position at prefill — the position
//    the control starts from (position 0 is avoided: BOS pre-logits are often outliers).
//  - λ in units of the standard deviation of the prompt's first-iteration rewards, then fixed for
//    that prompt (as QAlign fixes β): the weights of eq. 19 are softmax(r/λ) up to the small KL
//    term, so λ = c·std(r₀) makes them invariant to any affine change of the reward (Eurus' 1000s
//    or a probability in [0, 1] alike), while every update targets the same tilted distribution
//    of eq. 7.  (Re-estimated every iteration, λ_k → 0 as the rewards concentrate and each update
//    aims elsewhere: adaptive_lambda = 1 keeps that older form.)  For Gaussian rewards the
//    normalised ESS tends to exp(−1/c²) as n → ∞; at finite n the few largest rewards dominate
//    instead: at c = 0.3, n = 32, E[ESS] ≈ 2.9 of 32 (exp(−1/c²)·32 would say 0.0005).
// The absolute σ and λ actually used are reported in every event ("sigma", "lambda").
//
// Noise correlated in time (ρ, default 0.7; ρ = 0 is the paper's Σ = σ²I).  The reward judges
// the whole response, and what moves it is mostly a direction held over many tokens (towards a
// topic, a register) — the activation-steering picture.  Independent noise on τ positions puts
// only 1/τ of its energy in the time-constant directions, and eq. 14's mean barely finds one: on
// the demo pair the iterations' mean reward rose by one reward std in 8 iterations with ρ = 0, by
// two with ρ = 0.7.  The proposal N(U, σ²·A⊗I_d), A = (1−ρ)I + ρ11ᵀ, keeps σ² per position and
// gives the time-constant directions the fraction ≈ ρ; the prior of eq. 8 takes the same
// covariance, so Theorem 3.2 holds unchanged and eq. 19's KL term becomes ⟨U, Σ⁻¹V⟩
// (aispWhiten).  Like MPPI's time-correlated noise for smooth controls.  Measured choices:
// README, "AISP's noise".
//
// Batched AISP (§3.6): P prompts × n rows in one decode batch, each prompt with its own U and
// weights.  Plain AISP is the P = 1 case.  Noise of (prompt p, iteration k, row i) comes from
// rowSeed(seed, p, k, i), so batched and plain runs draw the same trajectories, and a resumed run
// rebuilds U_{k+1} = U_k + Σ_i w_i E_i from the stored weights.
#include <algorithm>
#include <cmath>

#include "methods/aisp_decode.h"
#include "methods/common.h"
#include "rudder/analysis.h"
#include "rudder/error.h"
#include "rudder/selection.h"

namespace rudder {

using namespace methods;

AispWeights aispWeights(const std::vector<double>& rewards, const std::vector<double>& uDotV, double lambda,
                        double alpha, double sigma)
{
    // eq. 19: w^i ∝ exp( r^i/λ − ((1−α)/σ²) Σ_t ⟨u_t, v^i_t⟩ ), the max subtracted before exp.
    AispWeights out;
    const size_t n = rewards.size();
    out.rewardTerm.resize(n);
    out.klTerm.resize(n);
    out.weights.resize(n);
    std::vector<double> expo(n);
    double m = -INFINITY;
    for (size_t i = 0; i < n; ++i) {
        out.rewardTerm[i] = rewards[i] / lambda;
        out.klTerm[i] = (1.0 - alpha) / (sigma * sigma) * uDotV[i];
        expo[i] = out.rewardTerm[i] - out.klTerm[i];
        m = std::max(m, expo[i]);
    }
    double z = 0.0;
    for (size_t i = 0; i < n; ++i) z += (out.weights[i] = std::exp(expo[i] - m));
    for (double& w : out.weights) w /= z;
    return out;
}

namespace {

struct AispOptions {
    int64_t n, K, tau, maxNew;
    double sigma, lambda, alpha;   // σ, λ as configured (relative when scaleFree)
    bool adaptiveLambda = false;   // scale-free λ from every iteration's rewards (the older form)
    int64_t baseSamples = 0;       // plain base-model samples per prompt, for the analyses only
    double rho;                    // correlation of the noise between positions of the window
    bool scaleFree;
};

// E^i ~ N(0, σ²I) of shape [τ, d] for (prompt p, iteration k, row i).
at::Tensor noise(uint64_t seed, int64_t p, int64_t k, int64_t i, const AispOptions& o, double sigma, int64_t d)
{
    return aispNoise(rowSeed(seed, p, k, i), o.tau, d, sigma, o.rho);
}

// λ actually used in eq. 19 for one iteration's rewards: absolute; or c × the reward std of the
// prompt's first iteration whose rewards show spread (kept in `fixed`), or of this one with
// adaptive_lambda.  Until rewards show spread the weights are uniform whatever λ is, and the
// fallback scale (rewardScaleOf) stands in without being kept: a flat first iteration must not
// pin λ to units of 1 for the rest of the run.
double lambdaFor(const AispOptions& o, const std::vector<double>& rewards, double& fixed)
{
    if (!o.scaleFree) return o.lambda;
    if (!o.adaptiveLambda && fixed > 0) return fixed;
    const RewardScale sc = rewardScaleOf(rewards);
    if (!o.adaptiveLambda && !sc.fallback) fixed = o.lambda * sc.value;
    return o.lambda * sc.value;
}

struct PromptState {
    int index = 0;                  // prompt index in the run
    std::vector<int32_t> ids;
    double rms = 0;                 // RMS of the pre-logits (scale-free σ), 0 when absolute
    double sigma = 0;               // absolute σ used for this prompt
    double lambda = 0;              // scale-free λ fixed at the first iteration (0: not yet)
    at::Tensor U;                   // [τ, d] fp32, CPU
    bool hasBest = false;
    Sample best;                    // best so far over all iterations
    int iterationsDone = 0;
};

GenerateResult perturbedDecode(const MethodContext& ctx, KVCache& cache, const at::Tensor& last, const at::Tensor& V,
                               const AispOptions& o, std::vector<double>* klOut)
{
    return methods::perturbedDecode(*ctx.lm, cache, last, V, o.tau, o.maxNew, ctx.cancel, klOut);
}

// The mean update of eq. 14 written as U_{k+1} = Σ_i w_i V_i = U_k + Σ_i w_i E_i (Σ w = 1),
// the same arithmetic whether the weights come from this run or from stored events.
void updateMean(at::Tensor& U, const std::vector<at::Tensor>& E, const std::vector<double>& w)
{
    at::Tensor step = at::zeros_like(U);
    for (size_t i = 0; i < E.size(); ++i) step.add_(E[i], w[i]);
    U.add_(step);
}

} // namespace

RunResult runAISP(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts,
                  bool batched)
{
    const std::string method = batched ? "aisp-batched" : "aisp";
    // Pre-logits: the model runs here, or behind a server offering Rudder's extension (serve).
    CompletionBackend* remote = ctx.lm ? nullptr : ctx.completions;
    if (!remote) localModel(ctx, method.c_str());
    AispOptions o;
    o.n = getInt(config, "n");
    o.K = getInt(config, "iterations");
    o.sigma = getDouble(config, "sigma");
    o.lambda = getDouble(config, "lambda");
    o.alpha = getDouble(config, "alpha");
    o.rho = getDouble(config, "rho");   // runs recorded before ρ get 0 from storedConfig
    o.maxNew = getInt(config, "max_new_tokens");
    o.tau = getInt(config, "tau");
    o.scaleFree = config.contains("scale") && getInt(config, "scale") != 0;
    o.adaptiveLambda = config.contains("adaptive_lambda") && getInt(config, "adaptive_lambda") != 0;
    o.baseSamples = config.contains("base_samples") ? getInt(config, "base_samples") : 0;
    o.tau = (o.tau == 0) ? o.maxNew : std::min(o.tau, o.maxNew);
    // A served model decodes prompt by prompt (one request each); same noise, same weights.
    const int64_t P = batched && !remote ? getInt(config, "prompts_per_batch") : 1;
    auto prelogits = [&](const std::vector<int32_t>& ids) {
        return remote ? remote->prelogitInfo(ids, ctx.cancel) : PrelogitInfo{prelogitRms(*ctx.lm, ids), ctx.lm->config().hidden_size};
    };
    const int64_t d = remote ? (prompts.empty() ? 0 : prelogits(ctx.encode(prompts[0])).hidden) : ctx.lm->config().hidden_size;
    // One perturbed decode of a prompt on the server: rows V = U + E from the noise seeds.
    auto remoteDecode = [&](const PromptState& s, std::vector<uint64_t> seeds, bool kl) {
        PerturbedRequest req;
        req.prefix = s.ids;
        req.max_new_tokens = o.maxNew;
        req.tau = o.tau;
        req.hidden = d;
        const at::Tensor U = s.U.contiguous();
        req.control.assign(U.data_ptr<float>(), U.data_ptr<float>() + U.numel());
        req.sigma = s.sigma;
        req.rho = o.rho;
        req.noise_seeds = std::move(seeds);
        req.kl = kl;
        return remote->perturbed(req, ctx.cancel);
    };

    BudgetMeter meter(ctx);
    meter.restore(resumedBudget(ctx));
    RunResult result;
    nlohmann::json perPrompt = nlohmann::json::array();
    bool stopped = false;

    for (int64_t g0 = 0; g0 < static_cast<int64_t>(prompts.size()) && !stopped; g0 += P) {
        const int64_t G = std::min<int64_t>(P, static_cast<int64_t>(prompts.size()) - g0);
        std::vector<PromptState> st(G);
        int64_t kStart = o.K;
        for (int64_t j = 0; j < G; ++j) {
            st[j].index = static_cast<int>(g0 + j);
            st[j].ids = ctx.encode(prompts[g0 + j]);
            if (o.scaleFree) st[j].rms = prelogits(st[j].ids).rms;
            st[j].sigma = o.scaleFree ? o.sigma * st[j].rms : o.sigma;
            st[j].U = at::zeros({o.tau, d}, at::TensorOptions().dtype(at::kFloat));
            kStart = std::min<int64_t>(kStart, resumedEvents(ctx, method, st[j].index).size());
        }
        // Resume: replay the stored iterations' weights on regenerated noise.
        for (int64_t j = 0; j < G; ++j) {
            auto done = resumedEvents(ctx, method, st[j].index);
            for (int64_t k = 0; k < kStart; ++k) {
                std::vector<at::Tensor> E;
                std::vector<double> w;
                const nlohmann::json& stats = done[k]->stats;
                if (st[j].lambda <= 0 && !stats.contains("scale_fallback") && stats.contains("lambda") && stats["lambda"].is_number())
                    st[j].lambda = stats["lambda"].get<double>();   // the λ this prompt fixed
                for (const auto& s : done[k]->samples) {
                    E.push_back(noise(ctx.seed, st[j].index, k, s.index, o, st[j].sigma, d));
                    w.push_back(s.weight.value_or(0.0));
                    if (!st[j].hasBest || s.reward > st[j].best.reward) { st[j].best = s; st[j].hasBest = true; }
                }
                updateMean(st[j].U, E, w);
                st[j].iterationsDone = static_cast<int>(k + 1);
            }
        }

        // Every row of the group's cache keeps its prompt; iterations rewind to the prompt.
        std::vector<std::vector<int32_t>> rowPrompts;
        int64_t longest = 0;
        for (int64_t j = 0; j < G; ++j) {
            for (int64_t i = 0; i < o.n; ++i) rowPrompts.push_back(st[j].ids);
            longest = std::max<int64_t>(longest, st[j].ids.size());
        }
        KVCache cache;
        at::Tensor last;
        if (kStart < o.K && !remote) {
            cache = ctx.lm->newCache(G * o.n, longest + o.maxNew + 1);
            if (G == 1) {
                last = prefillShared(*ctx.lm, cache, st[0].ids);
                meter.lmTokens(st[0].ids.size());
            } else {
                last = prefillRows(*ctx.lm, cache, rowPrompts);
                for (const auto& r : rowPrompts) meter.lmTokens(r.size());
            }
        }

        for (int64_t k = kStart; k < o.K && !stopped; ++k) {
            // V^i = U + E^i for every prompt of the group (Algorithm 1, line 6).
            std::vector<std::vector<at::Tensor>> E(G);
            std::vector<at::Tensor> V;
            for (int64_t j = 0; j < G; ++j)
                for (int64_t i = 0; i < o.n; ++i) {
                    E[j].push_back(noise(ctx.seed, st[j].index, k, i, o, st[j].sigma, d));
                    V.push_back(st[j].U + E[j].back());
                }
            GenerateResult g;
            if (remote) {   // G = 1: the server draws the same E from the same seeds
                std::vector<uint64_t> seeds;
                for (int64_t i = 0; i < o.n; ++i) seeds.push_back(rowSeed(ctx.seed, st[0].index, k, i));
                PerturbedDecodes pd = remoteDecode(st[0], seeds, false);
                meter.lmTokens(pd.prefill_tokens);
                g.cancelled = pd.cancelled;
                g.generated_tokens = pd.generated_tokens;
                g.tokens = std::move(pd.tokens);
                if (!g.cancelled && static_cast<int64_t>(g.tokens.size()) != o.n)
                    throw Error("aisp", remote->name(), "the server returned " + std::to_string(g.tokens.size()) + " rows for n = " + std::to_string(o.n));
            } else {
                for (int64_t r = 0; r < G * o.n; ++r) cache.setLength(r, rowPrompts[r].size());
                g = perturbedDecode(ctx, cache, last.clone(), at::stack(V), o, nullptr);
            }
            if (g.cancelled) { stopped = true; break; }
            meter.generated(g.generated_tokens);

            for (int64_t j = 0; j < G; ++j) {
                PromptState& s = st[j];
                std::vector<std::vector<int32_t>> resp(g.tokens.begin() + j * o.n, g.tokens.begin() + (j + 1) * o.n);
                Scored sc = scoreResponses(ctx, meter, prompts[s.index], s.ids.size(), resp);
                // ⟨U, A⁻¹V^i⟩ in double (the KL part of the exponent, eq. 19; Σ_t ⟨u_t, v^i_t⟩ at ρ = 0).
                const at::Tensor Uw = aispWhiten(s.U.to(at::kDouble), o.rho);
                std::vector<double> uv(o.n);
                for (int64_t i = 0; i < o.n; ++i) uv[i] = (Uw * V[j * o.n + i].to(at::kDouble)).sum().item<double>();
                const bool unfixed = o.adaptiveLambda || s.lambda <= 0;
                const double lambda = lambdaFor(o, sc.rewards, s.lambda);
                AispWeights aw = aispWeights(sc.rewards, uv, lambda, o.alpha, s.sigma);
                updateMean(s.U, E[j], aw.weights);   // eq. 14

                IterationEvent e;
                e.method = method;
                e.prompt_index = s.index;
                e.iteration = static_cast<int>(k);
                double sum = 0, bestR = -INFINITY;
                for (int64_t i = 0; i < o.n; ++i) {
                    Sample smp = makeSample(s.index, e.iteration, static_cast<int>(i), resp[i], sc, size_t(i));
                    smp.weight = aw.weights[i];
                    sum += smp.reward;
                    bestR = std::max(bestR, smp.reward);
                    if (!s.hasBest || smp.reward > s.best.reward) { s.best = smp; s.hasBest = true; }
                    e.samples.push_back(std::move(smp));
                }
                // ‖u_t‖ of the updated mean U_{k+1}, per position of the control window.
                const at::Tensor un = s.U.norm(2, {1}).to(at::kDouble).contiguous();
                e.stats = {{"mean_reward", sum / double(o.n)},
                           {"best_reward", bestR},
                           {"best_so_far", s.best.reward},
                           {"weights", aw.weights},
                           {"ess", analysis::effectiveSampleSize(aw.weights)},
                           {"u_norm", std::vector<double>(un.data_ptr<double>(), un.data_ptr<double>() + un.numel())},
                           {"reward_term", aw.rewardTerm},
                           {"kl_term", aw.klTerm},
                           {"sigma", s.sigma},
                           {"rho", o.rho},
                           {"lambda", lambda},
                           {"reward_std", rewardScale(sc.rewards)},
                           {"scale", o.scaleFree ? "relative" : "absolute"}};
                if (o.scaleFree && unfixed && rewardScaleOf(sc.rewards).fallback)
                    e.stats["scale_fallback"] = "rewards show no spread: lambda taken as absolute";
                if (o.scaleFree) e.stats["prelogit_rms"] = s.rms;
                if (k == 0 && o.baseSamples > 0) {
                    // Plain samples of the base model for the analyses of its distribution (the
                    // BoN reference, β(n)), on seeds of their own stream; AISP does not use them.
                    std::unique_ptr<CompletionBackend> local;
                    CompletionBackend& backend = completionsFor(ctx, local);
                    CompletionRequest req;
                    req.prefix = s.ids;
                    req.max_new_tokens = o.maxNew;
                    req.temperature = 1.0;
                    for (int64_t r = 0; r < o.baseSamples; ++r) req.seeds.push_back(rowSeed(ctx.seed ^ 0xba5e5a3b1e5ULL, s.index, 0, r));
                    Completions b = backend.complete(req, ctx.cancel);
                    if (b.cancelled) { stopped = true; break; }
                    meter.lmTokens(b.prefill_tokens);
                    meter.generated(b.generated_tokens);
                    e.stats["pilot_rewards"] = scoreResponses(ctx, meter, prompts[s.index], s.ids.size(), b.tokens).rewards;
                }
                e.budget = meter.now();
                s.iterationsDone = static_cast<int>(k + 1);
                emit(ctx, e);
            }
        }

        // Final noiseless decode with V = U (Algorithm 1, line 21), one row per prompt; it also
        // gives the KL of the controlled policy to the base model along its own trajectory.
        std::vector<double> kl;
        GenerateResult fin;
        bool haveFinal = false;
        if (!stopped && remote) {
            PerturbedDecodes pd = remoteDecode(st[0], {}, true);
            meter.lmTokens(pd.prefill_tokens);
            if (pd.cancelled) stopped = true;
            else {
                meter.generated(pd.generated_tokens);
                fin.tokens = std::move(pd.tokens);
                kl = std::move(pd.kl);
                if (fin.tokens.size() != 1 || kl.size() != 1) throw Error("aisp", remote->name(), "the final decode returned no row");
                haveFinal = true;
            }
        } else if (!stopped) {
            KVCache fc = ctx.lm->newCache(G, longest + o.maxNew + 1);
            at::Tensor flast;
            std::vector<std::vector<int32_t>> ps;
            for (const auto& s : st) ps.push_back(s.ids);
            if (G == 1) flast = prefillShared(*ctx.lm, fc, ps[0]);
            else flast = prefillRows(*ctx.lm, fc, ps);
            for (const auto& p : ps) meter.lmTokens(p.size());
            std::vector<at::Tensor> U;
            for (const auto& s : st) U.push_back(s.U);
            fin = perturbedDecode(ctx, fc, flast, at::stack(U), o, &kl);
            if (fin.cancelled) stopped = true;
            else { meter.generated(fin.generated_tokens); haveFinal = true; }
        }

        for (int64_t j = 0; j < G; ++j) {
            PromptState& s = st[j];
            nlohmann::json info = {{"prompt_index", s.index}, {"iterations", s.iterationsDone}, {"sigma", s.sigma}};
            if (o.scaleFree) info["prelogit_rms"] = s.rms;
            FinalAnswer f;
            f.prompt_index = s.index;
            bool have = false;
            if (s.hasBest) {
                f.text = s.best.text;
                f.token_ids = s.best.token_ids;
                f.reward = s.best.reward;
                f.gold_reward = s.best.gold_reward;
                info["selected"] = "best_so_far";
                info["best_iteration"] = s.best.iteration;
                info["best_index"] = s.best.index;
                have = true;
            }
            if (haveFinal) {
                Scored sc = scoreResponses(ctx, meter, prompts[s.index], s.ids.size(), {fin.tokens[j]});
                info["mean_decode"] = {{"text", sc.texts[0]}, {"token_ids", fin.tokens[j]}, {"reward", sc.rewards[0]}};
                info["kl_to_base"] = kl[j];
                if (!have || sc.rewards[0] > f.reward) {   // "we select the best among samples"
                    f.text = sc.texts[0];
                    f.token_ids = fin.tokens[j];
                    f.reward = sc.rewards[0];
                    f.gold_reward = sc.gold[0];
                    info["selected"] = "mean_decode";
                    have = true;
                }
            }
            if (have) result.final.push_back(f);
            perPrompt.push_back(info);
        }
    }
    result.summary["prompts"] = perPrompt;
    return finish(result, ctx, meter, stopped);
}

} // namespace rudder
