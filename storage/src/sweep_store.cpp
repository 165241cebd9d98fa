// A session's sweeps (rudder/sweep_store.h).
#include "rudder/sweep_store.h"

#include <algorithm>
#include <map>

#include "rudder/error.h"

namespace rudder {

namespace {

bool inSweep(const RunRow& row, const std::string& name)
{
    return row.tags.contains("sweep") && row.tags["sweep"].is_object() && row.tags["sweep"].value("name", "") == name;
}

// Final answers in prompt order; gold only when every prompt has it.
SweepRunData runData(const StoredRun& r)
{
    SweepRunData d;
    d.id = r.row.id;
    d.tags = r.info.tags;
    std::map<int, const FinalAnswer*> byPrompt;
    for (const auto& f : r.final) byPrompt[f.prompt_index] = &f;
    bool allGold = !byPrompt.empty();
    for (const auto& [i, f] : byPrompt) {
        d.proxy.push_back(f->reward);
        allGold = allGold && f->gold_reward.has_value();
    }
    if (allGold)
        for (const auto& [i, f] : byPrompt) d.gold.push_back(*f->gold_reward);
    return d;
}

} // namespace

std::vector<std::string> sessionSweeps(const SessionDb& db)
{
    std::vector<nlohmann::json> tags;
    for (const auto& row : db.listRuns()) tags.push_back(row.tags);
    return sweepNames(tags);
}

SweepSummary loadSweep(const SessionDb& db, const std::string& name)
{
    std::vector<SweepRunData> data;
    for (const auto& row : db.listRuns())
        if (inSweep(row, name) && row.status == RunStatus::Done) data.push_back(runData(db.loadRun(row.id, false)));
    SweepSummary s = summarizeSweep(name, data);
    s.name = name;
    return s;
}

std::optional<RunRow> findSweepRun(const std::vector<RunRow>& rows, const SweepJob& job, const std::string& sessionPath)
{
    std::optional<RunRow> prior;
    const std::string name = job.tags["sweep"].value("name", "");
    for (const auto& row : rows) {
        if (!inSweep(row, name)) continue;
        const nlohmann::json& t = row.tags["sweep"];
        if (t.value("role", "") == job.role && t.value("params", nlohmann::json::object()) == job.params &&
            t.value("seed", uint64_t(0)) == job.seed)
            prior = row;   // the latest wins
    }
    if (prior && prior->config != job.config)
        throw UsageError(sessionPath, "sweep", "\"" + name + "\" already has run " + std::to_string(prior->id) + " for " +
                                                   sweepPointLabel(job.params, job.tags["sweep"].value("keys", std::vector<std::string>{})) +
                                                   " with another config; give the sweep another name");
    return prior;
}

} // namespace rudder
