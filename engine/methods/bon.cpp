// Best-of-n: n samples from the base model (temperature / top-k / top-p), the prompt's KV cache
// shared by every row; the answer is argmax_i r(x, y_i).  The best-of-k curve (expected max reward
// over random subsets of size k <= n) is the papers' "reward vs number of samples" plot.
#include <algorithm>

#include "methods/common.h"
#include "rudder/analysis.h"
#include "rudder/selection.h"

namespace rudder {

using namespace methods;

RunResult runBoN(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts)
{
    const IndependentOptions opt = independentFromConfig(config);

    BudgetMeter meter(ctx);
    meter.restore(resumedBudget(ctx));
    RunResult result;
    nlohmann::json perPrompt = nlohmann::json::array();
    bool stopped = false;

    BatchQueue queue(ctx, "bon", prompts, opt);
    for (int p = 0; p < static_cast<int>(prompts.size()) && !stopped; ++p) {
        std::vector<Sample> all;
        auto decorate = [](const std::vector<Sample>& soFar, std::vector<Sample>& batch) {
            double sum = 0, best = -1e300, bestSoFar = -1e300;
            for (const auto& s : batch) { sum += s.reward; best = std::max(best, s.reward); }
            for (const auto& s : soFar) bestSoFar = std::max(bestSoFar, s.reward);
            return nlohmann::json{{"mean_reward", sum / double(batch.size())},
                                  {"best_reward", best},
                                  {"best_so_far", bestSoFar},
                                  {"samples_so_far", soFar.size()}};
        };
        stopped = !sampleIndependent(ctx, meter, queue, "bon", p, prompts[p], opt, decorate, all);
        if (all.empty()) break;

        // argmax reward, first sample on ties.
        size_t best = 0;
        std::vector<double> rewards;
        for (size_t i = 0; i < all.size(); ++i) {
            rewards.push_back(all[i].reward);
            if (all[i].reward > all[best].reward) best = i;
        }
        FinalAnswer f;
        f.prompt_index = p;
        f.text = all[best].text;
        f.token_ids = all[best].token_ids;
        f.reward = all[best].reward;
        f.gold_reward = all[best].gold_reward;
        result.final.push_back(f);
        perPrompt.push_back({{"prompt_index", p},
                             {"samples", all.size()},
                             {"best_iteration", all[best].iteration},
                             {"best_index", all[best].index},
                             {"best_of_k", analysis::bestOfKCurve(rewards)}});
    }
    result.summary["prompts"] = perPrompt;
    return finish(result, ctx, meter, stopped);
}

} // namespace rudder
