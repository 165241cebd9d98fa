// RunRecorder: how every front end (GUI worker, rudder-cli, tests) writes a run into a session,
// so a run started in one resumes in the other.  Qt-free and torch-free: it takes the request
// and the Workbench's provenance() as plain data.
//
//     RunRecorder rec = RunRecorder::start(db, request, wb.provenance(), prompts);
//     //   or: RunRecorder rec = RunRecorder::resume(db, runId, wb.provenance());  (throws if the
//     //       loaded models are not the recorded ones, naming which)
//     wb.run(rec.request(), [&](const IterationEvent& e) { rec.append(e); }, cancel, rec.resumeState());
//     rec.finish(result);
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/events.h"
#include "rudder/session_db.h"
#include "rudder/workbench.h"   // RunRequest, ResumeState (plain structs)

namespace rudder {

// Where a stored run's models came from, as given when it was started (what a front end loads
// to resume it).  Empty reward: the run predates recorded specs (an older GUI run).
struct RunSources {
    std::string base, reward, gold;   // gold "" = none
    std::string tokenizer;            // a remote base model's local tokenizer ("" for a local model)
    std::string promptTemplate = "auto";
};

// What a stored run would start or contact if its models were loaded again: a `cmd:` reward or
// gold runs a shell command, an http(s):// model, reward or gold opens a connection.  A session is
// a file people share, so resuming never loads these on the session's word alone: the user names
// the same spec again in this invocation (or passes the explicit trust flag), or the GUI asks.
struct ActiveSpec {
    std::string role;   // "model", "reward" or "gold" (the CLI flag without its dashes)
    std::string spec;   // as recorded
    std::string what;   // "runs the command `...`" / "connects to ..."
};
std::vector<ActiveSpec> activeSpecs(const RunSources& src);

class RunRecorder {
public:
    // Records a new run (method, full config, seed, template, model provenance, prompts with their
    // dataset file and row) with status `running`.  `prompts` default to request.prompts, typed;
    // `tags` label the run (RunInfo::tags: a sweep's name and grid point).
    static RunRecorder start(SessionDb& db, const RunRequest& request, const nlohmann::json& provenance,
                             std::vector<PromptRecord> prompts = {}, const nlohmann::json& tags = nlohmann::json::object());
    // Reopens an interrupted/cancelled/failed run.  Throws UsageError naming the session, the run
    // and what differs when the loaded models (provenance) are not the ones the run was started
    // with, or when the run is already done.
    // `check` sees the request and the stored iterations before anything is written (the run is
    // marked running only after it returns), so a refused resume leaves the file byte-identical.
    static RunRecorder resume(SessionDb& db, int64_t runId, const nlohmann::json& provenance,
                              const std::function<void(const RunRequest&, const ResumeState&)>& check = {});

    // "" when the loaded models match the stored run's; else one sentence per difference.
    static std::string modelDifferences(const RunInfo& stored, const nlohmann::json& provenance);
    static RunSources sources(const RunInfo& stored);
    // The request a stored run was started with (config as storedConfig() reads it back).
    static RunRequest storedRequest(const StoredRun& run);

    int64_t id() const { return id_; }
    const RunRequest& request() const { return request_; }
    bool resuming() const { return resuming_; }
    // Completed iterations of a resumed run (nullptr for a new one): pass to Workbench::run.
    const ResumeState* resumeState() const { return resuming_ ? &resume_ : nullptr; }

    void append(const IterationEvent& e);   // one transaction, committed before the next iteration
    // Stores the answers, the summary (with the answers' means under "answers") and the status.
    // A failure before any iteration started still finishes the run as failed.
    void finish(RunResult& result);

private:
    RunRecorder(SessionDb& db) : db_(&db) {}
    SessionDb* db_;
    int64_t id_ = -1;
    RunRequest request_;
    bool resuming_ = false;
    ResumeState resume_;
};

// The answers' means as sessions and `--json` report them: answers, mean_reward,
// mean_gold_reward, and when present mean_diversity, mean_coherence, mean_kl_to_base.
nlohmann::json answersSummary(const RunResult& r);

} // namespace rudder
