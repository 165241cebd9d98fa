// Importance sampling / weighted majority vote (QAlign paper, §3.2).  Samples y_i ~ p_LM(·|x) are
// reweighted towards π_β ∝ p_LM·exp(r/β) with self-normalised weights w_i = softmax_i(r_i/β);
// the answer is the weighted majority vote over extracted answers or, for open-ended text, the
// weighted MBR with ROUGE-1.  With weighted = 0 it is plain majority vote / MBR (MV).
// With scale = 1 (the default) β is given in units of the standard deviation of the prompt's
// rewards so far (the samples are the base model's, so that is the reward spread under p_LM):
// the weights are then invariant to the reward's scale and offset, and β = c·std matches the
// best-of-n with c(n) = 1/c (bonEquivalentN, reported with the absolute β in the events).
#include <algorithm>

#include "methods/common.h"
#include "rudder/analysis.h"
#include "rudder/selection.h"

namespace rudder {

using namespace methods;

RunResult runWMV(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts)
{
    const IndependentOptions opt = independentFromConfig(config);
    const double betaSetting = getDouble(config, "beta");
    const bool scaleFree = config.contains("scale") && getInt(config, "scale") != 0;
    auto betaFor = [&](const std::vector<double>& rewards) {
        return scaleFree ? betaSetting * rewardScale(rewards) : betaSetting;
    };
    const bool weighted = getInt(config, "weighted") != 0;
    const bool vote = config.contains("vote") && getInt(config, "vote") != 0;
    const std::string regex = config.value("answer_regex", std::string());

    BudgetMeter meter(ctx);
    meter.restore(resumedBudget(ctx));
    RunResult result;
    nlohmann::json perPrompt = nlohmann::json::array();
    bool stopped = false;

    // The best-of-n the temperature matches (Gaussian rewards); null when absolute or below n = 3.
    nlohmann::json bonN = nullptr;
    if (auto n = bonEquivalentN(betaSetting); scaleFree && n) bonN = *n;

    BatchQueue queue(ctx, "wmv", prompts, opt);
    for (int p = 0; p < static_cast<int>(prompts.size()) && !stopped; ++p) {
        std::vector<Sample> all;
        auto decorate = [&](const std::vector<Sample>& soFar, std::vector<Sample>& batch) {
            // Weights normalised within the batch (per-iteration events); ESS over all samples so far.
            std::vector<double> rb, ra;
            for (const auto& s : batch) rb.push_back(s.reward);
            for (const auto& s : soFar) ra.push_back(s.reward);
            // One β for the batch and for all so far: the one the samples so far give.
            const double beta = betaFor(ra);
            const auto wb = importanceWeights(rb, beta), wa = importanceWeights(ra, beta);
            for (size_t i = 0; i < batch.size(); ++i) batch[i].weight = wb[i];
            double sum = 0, best = -1e300;
            for (double r : rb) { sum += r; best = std::max(best, r); }
            return nlohmann::json{{"mean_reward", sum / double(rb.size())},
                                  {"best_reward", best},
                                  {"ess", analysis::effectiveSampleSize(wa)},
                                  {"ess_batch", analysis::effectiveSampleSize(wb)},
                                  {"samples_so_far", soFar.size()},
                                  {"beta", beta},
                                  {"reward_std", rewardScale(ra)},
                                  {"scale", scaleFree ? "relative" : "absolute"},
                                  {"bon_equivalent_n", bonN},
                                  {"scale_fallback", scaleFree && rewardScaleOf(ra).fallback
                                                         ? nlohmann::json("rewards show no spread: beta taken as absolute")
                                                         : nlohmann::json(nullptr)}};
        };
        stopped = !sampleIndependent(ctx, meter, queue, "wmv", p, prompts[p], opt, decorate, all);
        if (all.empty()) break;

        std::vector<double> rewards;
        for (const auto& s : all) rewards.push_back(s.reward);
        const double beta = betaFor(rewards);
        const std::vector<double> w = weighted ? importanceWeights(rewards, beta) : std::vector<double>{};
        nlohmann::json info = {{"prompt_index", p}, {"samples", all.size()}, {"weighted", weighted}};
        if (weighted) info["beta"] = beta;
        int pick = 0;
        if (vote) {
            std::vector<std::optional<std::string>> answers;
            for (const auto& s : all) answers.push_back(extractAnswer(s.text, regex));
            Vote v = majorityVote(answers, w);
            pick = std::max(v.index, 0);
            info["selection"] = weighted ? "weighted_majority_vote" : "majority_vote";
            info["answer"] = v.answer;
            info["vote_share"] = v.mass;
        } else {
            std::vector<std::vector<int32_t>> cands;
            for (const auto& s : all) cands.push_back(s.token_ids);
            pick = mbrSelect(cands, w);
            info["selection"] = weighted ? "weighted_mbr_rouge1" : "mbr_rouge1";
        }
        if (weighted) info["ess"] = analysis::effectiveSampleSize(w);
        FinalAnswer f;
        f.prompt_index = p;
        f.text = all[pick].text;
        f.token_ids = all[pick].token_ids;
        f.reward = all[pick].reward;
        f.gold_reward = all[pick].gold_reward;
        result.final.push_back(f);
        perPrompt.push_back(info);
    }
    result.summary["prompts"] = perPrompt;
    return finish(result, ctx, meter, stopped);
}

} // namespace rudder
