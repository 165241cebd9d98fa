// ARGS (Khanov et al. 2024, reward-guided search; a baseline of the AISP paper): at every step take the top-k tokens by
// logit, score each as  logit + w·r(x, y_<t ⊕ token)  with the reward on the partial response,
// and pick the best (or sample softmax(score/temperature)).
//
// The partial texts go through RewardFunction::scorePartial: a neural RM keeps the KV cache of
// prompt ⊕ y_<t between steps and forwards only each candidate's new tokens (k rows of ~1 token
// per step instead of k full re-reads).
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "methods/common.h"
#include "model/generate.h"
#include "rudder/error.h"

namespace rudder {

using namespace methods;

RunResult runARGS(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts)
{
    const int64_t k = getInt(config, "top_k");
    const double w = getDouble(config, "w");
    const double temperature = getDouble(config, "temperature");
    const int64_t maxNew = getInt(config, "max_new_tokens");
    // Local model: the candidates come from generate()'s own decode loop over one KV cache.  A
    // served model: from one-token completions with top-k log-probabilities, one request a step.
    CompletionBackend* remote = ctx.completions;
    if (!remote) localModel(ctx, "args");
    const std::vector<int64_t> stop = remote ? ctx.baseStopIds : stopIds(*ctx.lm);

    BudgetMeter meter(ctx);
    meter.restore(resumedBudget(ctx));
    RunResult result;
    nlohmann::json perPrompt = nlohmann::json::array();
    bool stopped = false;

    for (int p = 0; p < static_cast<int>(prompts.size()) && !stopped; ++p) {
        // A finished prompt (its one event stored) is taken from the resume state.
        if (takeResumedPrompt(ctx, "args", p, result, perPrompt)) continue;
        const std::vector<int32_t> ids = ctx.encode(prompts[p]);
        const int64_t L = static_cast<int64_t>(ids.size());
        std::vector<int32_t> y;   // the response so far (the candidates extend it)
        double kl = 0.0, chosenRewardSum = 0.0;
        // One step: score the candidates (most likely first, with their base log-probabilities)
        // as  log p + w·r(x, y_<t ⊕ token)  — the paper's logit + w·r, shifted by log Z, which
        // is the same for every candidate — and pick.
        auto pick = [&](int64_t t, const std::vector<int32_t>& cand, const std::vector<double>& logp) {
            // r(x, y_<t ⊕ token) for the k candidates (partial responses: RM FLOPs, not samples;
            // the gold reward is only applied to the finished response).
            std::vector<std::string> texts;
            for (int32_t c : cand) {
                std::vector<int32_t> ext = y;
                ext.push_back(c);
                texts.push_back(ctx.decode(ext));
            }
            const std::vector<double> partial = ctx.reward.scorePartial(prompts[p], texts);
            if (partial.size() != texts.size())
                throw Error("reward", ctx.reward.name(), "returned the wrong number of scores");
            // RM FLOPs: what it actually computed when it reuses the prefix, else full re-reads.
            const int64_t rmRan = ctx.reward.lastPartialTokens();
            meter.rmTokens(rmRan >= 0 ? rmRan : static_cast<int64_t>(texts.size()) * (L + static_cast<int64_t>(y.size()) + 1));
            const at::Tensor lp = at::tensor(logp, at::kDouble);
            const at::Tensor score = lp + w * at::tensor(partial, at::kDouble);
            int64_t j = 0;
            // KL to base, one definition for every method (README "KL to the base model"; AISP
            // App. C.6): KL(π_t ‖ p_base) of the method's modified next-token distribution along
            // the decoded sequence — here π_t = softmax((log p + w·r)/T) over the k candidates,
            // T = 1 when decoding greedily (AISP and RE-Control report softmax(W(z+u)) likewise,
            // before their greedy pick), not −log p of the picked token.
            const at::Tensor pi = at::softmax(score / (temperature > 0 ? temperature : 1.0), 0);
            kl += (pi * (pi.clamp_min(1e-300).log() - lp)).sum().item<double>();
            if (temperature <= 0) {
                j = score.argmax().item<int64_t>();
            } else {
                at::Generator g = at::make_generator<at::CPUGeneratorImpl>(rowSeed(ctx.seed, p, t, 0));
                j = at::multinomial(pi, 1, false, g).item<int64_t>();
            }
            chosenRewardSum += partial[size_t(j)];
            y.push_back(cand[size_t(j)]);
            return cand[size_t(j)];
        };
        if (!remote) {
            KVCache cache = ctx.lm->newCache(1, L + maxNew + 1);
            at::Tensor pre = prefillShared(*ctx.lm, cache, ids);
            meter.lmTokens(L);
            GenerateOptions go;
            go.max_new_tokens = maxNew;
            go.stop_ids = stop;
            go.cancel = ctx.cancel;
            // generate()'s decode loop with the token chosen here instead of sampled.
            go.choose = [&](int64_t t, const at::Tensor& logitsIn, const std::vector<int64_t>&) {
                const at::Tensor logp = at::log_softmax(logitsIn.to(at::kCPU, at::kDouble).view({-1}), 0);
                const auto top = at::topk(logp, std::min<int64_t>(k, logp.size(0)));
                const at::Tensor v = std::get<0>(top).contiguous(), ix = std::get<1>(top).contiguous();
                std::vector<int32_t> cand(size_t(ix.size(0)));
                std::vector<double> lps(size_t(ix.size(0)));
                for (int64_t j = 0; j < ix.size(0); ++j) {
                    cand[size_t(j)] = static_cast<int32_t>(ix[j].item<int64_t>());
                    lps[size_t(j)] = v[j].item<double>();
                }
                return at::full({1}, int64_t(pick(t, cand, lps)), at::kLong);
            };
            std::vector<at::Generator> unused;
            const GenerateResult g = generate(*ctx.lm, cache, pre, go, unused);
            if (g.cancelled) { stopped = true; break; }
            meter.generated(g.generated_tokens);
        } else {
            for (int64_t t = 0; t < maxNew; ++t) {
                if (cancelled(ctx)) { stopped = true; break; }
                std::vector<int32_t> prefix = ids;
                prefix.insert(prefix.end(), y.begin(), y.end());
                const NextTokens nt = remote->nextTokens(prefix, k, ctx.cancel);
                if (nt.cancelled) { stopped = true; break; }
                if (nt.ids.empty()) throw Error("args", remote->name(), "the server returned no candidate tokens");
                meter.lmTokens(nt.prefill_tokens);
                meter.generated(1);
                const int32_t tok = pick(t, nt.ids, nt.logprobs);
                if (std::find(stop.begin(), stop.end(), int64_t(tok)) != stop.end()) break;
            }
            if (stopped) break;
        }
        Scored fin = scoreResponses(ctx, meter, prompts[p], L, {y});
        IterationEvent e;
        e.method = "args";
        e.prompt_index = p;
        e.iteration = 0;
        e.samples.push_back(makeSample(p, 0, 0, y, fin, 0));
        e.stats = {{"kl_to_base", kl},
                   {"steps", y.size()},
                   {"mean_reward", fin.rewards[0]},
                   {"best_reward", fin.rewards[0]},
                   {"mean_partial_reward", y.empty() ? 0.0 : chosenRewardSum / double(y.size())}};
        e.budget = meter.now();
        emit(ctx, e);
        result.final.push_back({p, fin.texts[0], y, fin.rewards[0], fin.gold[0]});
        perPrompt.push_back({{"prompt_index", p}, {"kl_to_base", kl}});
    }
    result.summary["prompts"] = perPrompt;
    return finish(result, ctx, meter, stopped);
}

} // namespace rudder
