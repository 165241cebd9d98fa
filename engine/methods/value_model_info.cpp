// ValueModelInfo <-> JSON (torch-free; rudder_core).
#include "rudder/value_model.h"

#include <filesystem>

namespace rudder {

nlohmann::json ValueTrainOptions::toJson() const
{
    return {{"samples_per_prompt", samples_per_prompt}, {"max_new_tokens", max_new_tokens},
            {"temperature", temperature}, {"hidden", hidden}, {"layers", layers}, {"epochs", epochs},
            {"lr", lr}, {"batch", batch}, {"holdout", holdout}, {"seed", seed}};
}

ValueTrainOptions ValueTrainOptions::fromJson(const nlohmann::json& j)
{
    ValueTrainOptions o;
    if (!j.is_object()) return o;
    auto num = [&](const char* k, auto& out) {
        if (j.contains(k) && j[k].is_number()) out = j[k].get<std::decay_t<decltype(out)>>();
    };
    num("samples_per_prompt", o.samples_per_prompt);
    num("max_new_tokens", o.max_new_tokens);
    num("temperature", o.temperature);
    num("hidden", o.hidden);
    num("layers", o.layers);
    num("epochs", o.epochs);
    num("lr", o.lr);
    num("batch", o.batch);
    num("holdout", o.holdout);
    num("seed", o.seed);
    return o;
}

const std::vector<std::string>& ValueTrainOptions::runConfigKeys()
{
    static const std::vector<std::string> keys = {"train_samples", "train_epochs", "value_lr", "value_hidden",
                                                  "value_layers", "train_batch", "max_new_tokens"};
    return keys;
}

ValueTrainOptions ValueTrainOptions::fromRunConfig(const nlohmann::json& c)
{
    ValueTrainOptions o;
    if (!c.is_object()) return o;
    auto num = [&](const char* k, auto& out) {
        if (c.contains(k) && c[k].is_number()) out = c[k].get<std::decay_t<decltype(out)>>();
    };
    num("train_samples", o.samples_per_prompt);
    num("max_new_tokens", o.max_new_tokens);
    num("value_hidden", o.hidden);
    num("value_layers", o.layers);
    num("train_epochs", o.epochs);
    num("value_lr", o.lr);
    num("train_batch", o.batch);
    return o;
}

Budget ValueModelInfo::total() const
{
    Budget b = collection;
    return b += training;
}

nlohmann::json ValueModelInfo::toJson() const
{
    nlohmann::json cal = nlohmann::json::array();
    for (const auto& [p, r] : calibration) cal.push_back({p, r});
    return {{"path", path}, {"key", key}, {"created", created}, {"base", base}, {"reward", reward},
            {"prompt_template", prompt_template}, {"prompts", prompts}, {"responses", responses},
            {"positions", positions}, {"input_dim", input_dim}, {"parameters", parameters},
            {"options", options.toJson()}, {"train_loss", train_loss}, {"heldout_loss", heldout_loss},
            {"heldout_rmse", heldout_rmse}, {"reward_std", reward_std}, {"calibration", cal},
            {"collection", collection}, {"training", training}, {"epochs_done", epochs_done}};
}

ValueModelInfo ValueModelInfo::fromJson(const nlohmann::json& j)
{
    ValueModelInfo i;
    i.path = j.value("path", "");
    i.key = j.value("key", "");
    i.created = j.value("created", "");
    i.base = j.value("base", nlohmann::json::object());
    i.reward = j.value("reward", nlohmann::json::object());
    i.prompt_template = j.value("prompt_template", "");
    i.prompts = j.value("prompts", int64_t(0));
    i.responses = j.value("responses", int64_t(0));
    i.positions = j.value("positions", int64_t(0));
    i.input_dim = j.value("input_dim", int64_t(0));
    i.parameters = j.value("parameters", int64_t(0));
    i.options = ValueTrainOptions::fromJson(j.value("options", nlohmann::json::object()));
    i.train_loss = j.value("train_loss", std::vector<double>{});
    i.heldout_loss = j.value("heldout_loss", std::vector<double>{});
    i.heldout_rmse = j.value("heldout_rmse", 0.0);
    i.reward_std = j.value("reward_std", 0.0);
    if (j.contains("calibration") && j["calibration"].is_array())
        for (const auto& c : j["calibration"])
            if (c.is_array() && c.size() == 2) i.calibration.emplace_back(c[0].get<double>(), c[1].get<double>());
    if (j.contains("collection")) i.collection = j["collection"].get<Budget>();
    if (j.contains("training")) i.training = j["training"].get<Budget>();
    i.epochs_done = j.value("epochs_done", 0);
    return i;
}

std::string valueStoreFor(const std::string& sessionPath)
{
    const std::filesystem::path p(sessionPath);
    return (p.parent_path() / (p.stem().string() + ".values")).string();
}

nlohmann::json valueTrainingStats(const ValueModelInfo& info)
{
    return {{"key", info.key.substr(0, 12)},
            {"created", info.created},
            {"prompts", info.prompts},
            {"responses", info.responses},
            {"heldout_rmse", info.heldout_rmse},
            {"reward_std", info.reward_std},
            {"budget", info.total()}};
}

} // namespace rudder
