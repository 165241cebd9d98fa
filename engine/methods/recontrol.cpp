// RE-Control (Kong et al. 2024; the AISP paper's main baseline, its eq. 4): the pre-logit z_t of
// every generated token (within the control window τ) is moved by gradient ascent on a trained
// value function V before lm_head,
//     z_t ← z_t + lr·∇V(z_t)      (`steps` times),      token_t = argmax W(z_t + δ_t),
// so the KV cache, which holds the layers' keys and values, never sees the edit.  V comes from
// config["value_model"] (a file written by trainValueModel: value_function.cpp).  One decode per
// prompt; one event per prompt.
#include <ATen/ATen.h>

#include <cmath>

#include "methods/aisp_decode.h"
#include "methods/common.h"
#include "methods/value_function.h"
#include "model/generate.h"
#include "rudder/error.h"

namespace rudder {

using namespace methods;

RunResult runREControl(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts)
{
    CausalLM& lm = localModel(ctx, "recontrol");
    const double lr = getDouble(config, "lr");
    const int64_t steps = getInt(config, "steps");
    const int64_t maxNew = getInt(config, "max_new_tokens");
    const int64_t tau = getInt(config, "tau") > 0 ? getInt(config, "tau") : maxNew;
    if (!config.contains("value_model") || !config["value_model"].is_string() || config["value_model"].get<std::string>().empty())
        throw UsageError("config", "value_model",
                         "RE-Control needs a trained value model (rudder-cli train-value, or run without --value to "
                         "train one on the run's prompts)");
    const LoadedValueModel loaded = loadValueModel(config["value_model"].get<std::string>());
    if (loaded.net.inputDim() != lm.config().hidden_size)
        throw UsageError(loaded.info.path, "fc0.weight",
                         "takes " + std::to_string(loaded.net.inputDim()) + "-dimensional pre-logits but the base model's are " +
                             std::to_string(lm.config().hidden_size) + "; it was trained for another model");
    const ValueNet V = loaded.net.to(lm.device());
    const nlohmann::json training = valueTrainingStats(loaded.info);
    // One ascent step is a forward and a backward through V (≈ 3 forwards of 2·params FLOPs).
    const double stepFlops = 6.0 * double(V.parameters());

    BudgetMeter meter(ctx);
    meter.restore(resumedBudget(ctx));
    RunResult result;
    nlohmann::json perPrompt = nlohmann::json::array();
    bool stopped = false;
    for (int p = 0; p < static_cast<int>(prompts.size()) && !stopped; ++p) {
        if (takeResumedPrompt(ctx, "recontrol", p, result, perPrompt)) continue;
        const std::vector<int32_t> ids = ctx.encode(prompts[p]);
        const int64_t L = static_cast<int64_t>(ids.size());
        KVCache cache = lm.newCache(1, L + maxNew + 1);
        const at::Tensor last = prefillShared(lm, cache, ids);
        meter.lmTokens(L);
        double kl = 0, vBefore = 0, vAfter = 0, shift = 0;
        int64_t controlled = 0;
        GenerateOptions go;
        go.max_new_tokens = maxNew;
        go.sampling.greedy = true;
        go.stop_ids = stopIds(lm);
        go.cancel = ctx.cancel;
        go.perturb = [&](int64_t step, at::Tensor& pre, const at::Tensor&) {
            if (step >= tau || lr == 0 || steps == 0) return;
            at::Tensor before, after;
            const at::Tensor edited = ascendValue(V, pre, lr, steps, &before, &after);
            kl += prelogitEditKl(lm, edited, pre).sum().item<double>();
            vBefore += before.sum().item<double>();
            vAfter += after.sum().item<double>();
            shift += (edited.to(at::kDouble) - pre.to(at::kDouble)).norm().item<double>() /
                     std::max(pre.to(at::kDouble).norm().item<double>(), 1e-30);
            ++controlled;
            pre = edited;
        };
        std::vector<at::Generator> unused;
        const GenerateResult g = generate(lm, cache, last, go, unused);
        if (g.cancelled) {
            stopped = true;
            break;
        }
        meter.generated(g.generated_tokens);
        meter.flops(stepFlops * double(steps) * double(controlled));
        const std::vector<int32_t>& y = g.tokens[0];
        Scored fin = scoreResponses(ctx, meter, prompts[p], L, {y});
        IterationEvent e;
        e.method = "recontrol";
        e.prompt_index = p;
        e.iteration = 0;
        e.samples.push_back(makeSample(p, 0, 0, y, fin, 0));
        const double c = controlled ? double(controlled) : 1.0;
        e.stats = {{"kl_to_base", kl},
                   {"lr", lr},
                   {"steps", steps},
                   {"controlled_tokens", controlled},
                   {"value_before", vBefore / c},   // mean V(z_t) over the controlled tokens, before the ascent
                   {"value_after", vAfter / c},     // and after it
                   {"relative_shift", shift / c},   // mean ‖δ_t‖ / ‖z_t‖
                   {"mean_reward", fin.rewards[0]},
                   {"best_reward", fin.rewards[0]},
                   {"training", training}};
        e.budget = meter.now();
        emit(ctx, e);
        result.final.push_back({p, fin.texts[0], y, fin.rewards[0], fin.gold[0]});
        perPrompt.push_back({{"prompt_index", p}, {"kl_to_base", kl}});
    }
    result.summary["prompts"] = perPrompt;
    nlohmann::json vm = loaded.info.toJson();
    vm.erase("calibration");
    result.summary["value_model"] = vm;
    return finish(result, ctx, meter, stopped);
}

} // namespace rudder
