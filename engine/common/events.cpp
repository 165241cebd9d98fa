#include "rudder/events.h"

#include "rudder/error.h"

namespace rudder {

const char* toString(RunStatus s)
{
    switch (s) {
    case RunStatus::Running: return "running";
    case RunStatus::Done: return "done";
    case RunStatus::Cancelled: return "cancelled";
    case RunStatus::Interrupted: return "interrupted";
    case RunStatus::Failed: return "failed";
    }
    return "failed";
}

RunStatus runStatusFromString(const std::string& s)
{
    for (RunStatus r : {RunStatus::Running, RunStatus::Done, RunStatus::Cancelled,
                        RunStatus::Interrupted, RunStatus::Failed})
        if (s == toString(r)) return r;
    throw Error("run status", "", "unknown status '" + s + "'");
}

template <class T>
static nlohmann::json opt(const std::optional<T>& v)
{
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
template <class T>
static std::optional<T> getOpt(const nlohmann::json& j, const char* key)
{
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return it->get<T>();
}

Budget& operator+=(Budget& a, const Budget& b)
{
    a.samples += b.samples;
    a.tokens += b.tokens;
    a.flops += b.flops;
    a.seconds += b.seconds;
    return a;
}

void to_json(nlohmann::json& j, const Budget& b)
{
    j = {{"samples", b.samples}, {"tokens", b.tokens}, {"flops", b.flops}, {"seconds", b.seconds}};
}
void from_json(const nlohmann::json& j, Budget& b)
{
    b.samples = j.value("samples", int64_t{0});
    b.tokens = j.value("tokens", int64_t{0});
    b.flops = j.value("flops", 0.0);
    b.seconds = j.value("seconds", 0.0);
}

void to_json(nlohmann::json& j, const Sample& s)
{
    j = {{"prompt_index", s.prompt_index}, {"iteration", s.iteration}, {"index", s.index},
         {"text", s.text}, {"token_ids", s.token_ids}, {"reward", s.reward},
         {"gold_reward", opt(s.gold_reward)}, {"weight", opt(s.weight)},
         {"accepted", opt(s.accepted)}, {"cut_index", opt(s.cut_index)}, {"parent", opt(s.parent)}};
    if (!s.reward_objectives.empty()) j["reward_objectives"] = s.reward_objectives;
}
void from_json(const nlohmann::json& j, Sample& s)
{
    s.prompt_index = j.value("prompt_index", 0);
    s.iteration = j.value("iteration", 0);
    s.index = j.value("index", 0);
    s.text = j.value("text", std::string());
    s.token_ids = j.value("token_ids", std::vector<int32_t>());
    s.reward = j.value("reward", 0.0);
    s.gold_reward = getOpt<double>(j, "gold_reward");
    s.weight = getOpt<double>(j, "weight");
    s.accepted = getOpt<bool>(j, "accepted");
    s.cut_index = getOpt<int>(j, "cut_index");
    s.parent = getOpt<int>(j, "parent");
    s.reward_objectives = j.value("reward_objectives", std::vector<double>());
}

void to_json(nlohmann::json& j, const IterationEvent& e)
{
    j = {{"method", e.method}, {"prompt_index", e.prompt_index}, {"iteration", e.iteration},
         {"samples", e.samples}, {"stats", e.stats}, {"budget", e.budget}};
}
void from_json(const nlohmann::json& j, IterationEvent& e)
{
    e.method = j.value("method", std::string());
    e.prompt_index = j.value("prompt_index", 0);
    e.iteration = j.value("iteration", 0);
    e.samples = j.value("samples", std::vector<Sample>());
    e.stats = j.value("stats", nlohmann::json::object());
    if (j.contains("budget")) e.budget = j.at("budget").get<Budget>();
}

void to_json(nlohmann::json& j, const FinalAnswer& f)
{
    j = {{"prompt_index", f.prompt_index}, {"text", f.text}, {"token_ids", f.token_ids},
         {"reward", f.reward}, {"gold_reward", opt(f.gold_reward)}};
}
void from_json(const nlohmann::json& j, FinalAnswer& f)
{
    f.prompt_index = j.value("prompt_index", 0);
    f.text = j.value("text", std::string());
    f.token_ids = j.value("token_ids", std::vector<int32_t>());
    f.reward = j.value("reward", 0.0);
    f.gold_reward = getOpt<double>(j, "gold_reward");
}

SummaryMeans summaryMeans(const nlohmann::json& summary)
{
    SummaryMeans m;
    if (!summary.is_object()) return m;
    auto number = [](const nlohmann::json& v) { return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt; };
    if (auto t = summary.find("text_metrics"); t != summary.end() && t->is_object()) {
        m.has_text_metrics = true;
        m.diversity = number(t->value("mean_diversity", nlohmann::json()));
        m.coherence = number(t->value("mean_coherence", nlohmann::json()));
        m.coherence_encoder = t->value("coherence_encoder", std::string());
    }
    if (auto p = summary.find("prompts"); p != summary.end() && p->is_array()) {
        double kl = 0;
        int n = 0;
        for (const auto& e : *p)
            if (e.is_object() && e.contains("kl_to_base") && e["kl_to_base"].is_number()) kl += e["kl_to_base"].get<double>(), ++n;
        if (n) m.kl_to_base = kl / n;
    }
    return m;
}

} // namespace rudder
