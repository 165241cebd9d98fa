#include "rudder/run_recorder.h"

#include <sstream>

#include "rudder/error.h"
#include "rudder/methods.h"

namespace rudder {

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key)
{
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string describe(const json& m)
{
    std::string s = str(m, "spec");
    if (s.empty()) s = str(m, "directory");
    if (s.empty()) s = str(m, "name");
    const std::string fp = str(m, "weights_fingerprint");
    if (!fp.empty()) s += " (weights " + fp.substr(0, 12) + ")";
    return s.empty() ? "(unknown)" : s;
}

// The same model: same weights and config when both sides fingerprint it (a copied directory
// still matches), else the same spec (lexicon, cmd:…), else — runs recorded before specs were —
// the same display name.
bool sameModel(const json& stored, const json& loaded)
{
    const std::string fp = str(stored, "weights_fingerprint");
    if (!fp.empty() && !str(loaded, "weights_fingerprint").empty())   // (runs from before 2026-12-08: mtimes)
        return (fp == str(loaded, "weights_fingerprint") || fp == str(loaded, "weights_fingerprint_mtime")) &&
               str(stored, "config_sha256") == str(loaded, "config_sha256");
    if (!str(stored, "spec").empty()) return str(stored, "spec") == str(loaded, "spec");
    if (!str(stored, "directory").empty()) return str(stored, "directory") == str(loaded, "directory");
    return str(stored, "name").empty() || str(stored, "name") == str(loaded, "name");
}

} // namespace

std::string RunRecorder::modelDifferences(const RunInfo& stored, const json& provenance)
{
    std::ostringstream out;
    auto check = [&](const char* what, const json& s, const json& l) {
        const bool hasS = s.is_object() && !s.empty(), hasL = l.is_object() && !l.empty();
        if (!hasS && !hasL) return;
        if (hasS != hasL || !sameModel(s, l))
            out << (out.tellp() > 0 ? "; " : "") << what << ": the run used " << (hasS ? describe(s) : "none")
                << ", loaded is " << (hasL ? describe(l) : "none");
    };
    check("base model", stored.base_model, provenance.value("base_model", json::object()));
    check("reward", stored.reward_model, provenance.value("reward_model", json::object()));
    check("gold reward", stored.gold, provenance.value("gold", json(nullptr)));
    const std::string dtype = str(provenance, "dtype");
    if (!stored.dtype.empty() && !dtype.empty() && stored.dtype != dtype)
        out << (out.tellp() > 0 ? "; " : "") << "dtype: the run used " << stored.dtype << ", loaded is " << dtype;
    return out.str();
}

RunSources RunRecorder::sources(const RunInfo& stored)
{
    RunSources s;
    s.base = str(stored.base_model, "spec");
    if (s.base.empty()) s.base = str(stored.base_model, "directory");
    s.tokenizer = str(stored.base_model, "tokenizer");
    s.reward = str(stored.reward_model, "spec");
    s.gold = str(stored.gold, "spec");
    s.promptTemplate = stored.prompt_template.empty() ? "auto" : stored.prompt_template;
    return s;
}

RunRequest RunRecorder::storedRequest(const StoredRun& run)
{
    RunRequest r;
    r.method = run.info.method;
    r.config = storedConfig(run.info.method, run.info.config);
    r.seed = run.info.seed;
    r.prompt_template = run.info.prompt_template.empty() ? "auto" : run.info.prompt_template;
    for (const auto& p : run.prompts) r.prompts.push_back(p.text);
    return r;
}

std::vector<ActiveSpec> activeSpecs(const RunSources& src)
{
    std::vector<ActiveSpec> out;
    auto check = [&](const char* role, const std::string& spec) {
        if (spec.rfind("cmd:", 0) == 0) out.push_back({role, spec, "runs the command `" + spec.substr(4) + "`"});
        else if (spec.rfind("http://", 0) == 0 || spec.rfind("https://", 0) == 0)
            out.push_back({role, spec, "connects to " + spec});
    };
    check("model", src.base);
    check("reward", src.reward);
    check("gold", src.gold);
    return out;
}

RunRecorder RunRecorder::start(SessionDb& db, const RunRequest& request, const json& provenance,
                               std::vector<PromptRecord> prompts, const json& tags)
{
    if (prompts.empty())
        for (size_t i = 0; i < request.prompts.size(); ++i)
            prompts.push_back(PromptRecord{int(i), request.prompts[i], "", std::nullopt});
    RunInfo info;
    info.method = request.method;
    info.config = request.config;
    info.seed = request.seed;
    info.base_model = provenance.value("base_model", json::object());
    info.reward_model = provenance.value("reward_model", json::object());
    info.gold = provenance.value("gold", json(nullptr));
    info.device = str(provenance, "device");
    info.dtype = str(provenance, "dtype");
    info.versions = provenance.value("versions", json::object());
    info.prompt_template = request.prompt_template;
    if (tags.is_object()) info.tags = tags;
    RunRecorder r(db);
    r.request_ = request;
    r.id_ = db.createRun(info);
    for (const auto& p : prompts) db.addPrompt(r.id_, p.index, p.text, p.source, p.row);
    return r;
}

RunRecorder RunRecorder::resume(SessionDb& db, int64_t runId, const json& provenance,
                                const std::function<void(const RunRequest&, const ResumeState&)>& check)
{
    const StoredRun s = db.loadRun(runId, false);
    const std::string where = db.path() + ": run " + std::to_string(runId);
    if (s.row.status == RunStatus::Done) throw UsageError(where, "status", "is already done; nothing to resume");
    if (!findMethod(s.info.method))
        throw UsageError(where, "method", "'" + s.info.method + "' is not a method this version of Rudder knows");
    const std::string diff = modelDifferences(s.info, provenance);
    if (!diff.empty())
        throw UsageError(where, "models", "was started with other models (" + diff + "); load the run's models to resume it");
    RunRecorder r(db);
    r.request_ = storedRequest(s);
    r.id_ = runId;
    r.resuming_ = true;
    r.resume_.completed = db.loadCompletedIterations(runId);
    r.resume_.source = db.path();
    if (check) check(r.request_, r.resume_);
    db.resumeRun(runId);
    return r;
}

void RunRecorder::append(const IterationEvent& e) { db_->appendIteration(id_, e); }

void RunRecorder::finish(RunResult& result)
{
    result.summary["answers"] = answersSummary(result);
    // A failed run's empty answer list must not erase the answers an earlier attempt stored.
    if (!result.final.empty() || result.status == RunStatus::Done) db_->setFinal(id_, result.final);
    db_->finishRun(id_, result.status, result.message, result.budget, result.summary);
}

json answersSummary(const RunResult& r)
{
    double sr = 0, sg = 0;
    int ng = 0;
    for (const auto& f : r.final) {
        sr += f.reward;
        if (f.gold_reward) sg += *f.gold_reward, ++ng;
    }
    json s = {{"answers", r.final.size()}};
    s["mean_reward"] = r.final.empty() ? json(nullptr) : json(sr / double(r.final.size()));
    s["mean_gold_reward"] = ng ? json(sg / ng) : json(nullptr);
    const SummaryMeans m = summaryMeans(r.summary);
    auto orNull = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
    if (m.has_text_metrics) {
        s["mean_diversity"] = orNull(m.diversity);
        s["mean_coherence"] = orNull(m.coherence);
        s["coherence_encoder"] = m.coherence_encoder;
    }
    if (m.kl_to_base) s["mean_kl_to_base"] = *m.kl_to_base;
    return s;
}

} // namespace rudder
