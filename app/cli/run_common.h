// What `run`, `compare` and `sweep` share (cmd_run.cpp): model and prompt options, one recorded
// run, budget-matched configs.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "rudder/methods.h"
#include "rudder/session_db.h"
#include "rudder/workbench.h"

namespace rudder::cli {

// Ctrl-C / SIGTERM while it lives: the first asks the work to stop at its next step (the flag),
// a second kills the process the usual way.
class CancelGuard {
public:
    CancelGuard();
    ~CancelGuard();
    const std::atomic<bool>* flag() const;
};

struct ModelOptions {
    std::string model, reward, gold, templ = "auto";
    LoadOptions load;
};

struct PromptOptions {
    std::vector<std::string> prompts;
    std::string dataset, field;   // "" = the first of prompt, question, problem, instruction
    int64_t limit = -1;   // -1: every prompt
    bool shuffle = false, skipBad = false;
};

struct RunSpec {
    RunRequest request;
    std::vector<PromptRecord> prompts;   // text, dataset file and line, as stored in the session
    nlohmann::json tags = nlohmann::json::object();   // RunInfo::tags (a sweep's point)
};

struct RunOutcome {
    int64_t run_id = -1;
    RunResult result;
    nlohmann::json doc;   // what --json prints
};

void addModelOptions(CLI::App* cmd, ModelOptions& m);
void addPromptOptions(CLI::App* cmd, PromptOptions& p);
std::vector<PromptRecord> collectPrompts(const PromptOptions& p, uint64_t seed);
void loadModels(Workbench& wb, ModelOptions& m);
// `--gold answer[:FIELD]`: each prompt's reference from its dataset line (after loadModels, which
// leaves such a gold to this).  A no-op for any other gold.
void applyAnswerGold(Workbench& wb, const ModelOptions& m, const std::vector<PromptRecord>& prompts);
// With the accuracy gold a method that can vote answers by vote (QAlign §3.2: MV over chain states;
// WMV over samples) unless --set vote=... says otherwise.
void voteWhenGraded(const ModelOptions& m, const std::string& method, nlohmann::json& config,
                    const std::vector<std::string>& sets);
RunSpec makeSpec(const ModelOptions& m, const std::string& method, const nlohmann::json& config, uint64_t seed,
                 const std::vector<PromptRecord>& prompts);
// Records and runs one run (or resumes resumeId); Ctrl-C stops it at the next decode step.
RunOutcome executeRun(Workbench& wb, SessionDb& db, const RunSpec& spec, std::optional<int64_t> resumeId, bool quietStart);
// Throws rudder::Error (exit 1) for a cancelled or failed run.
void reportEnd(const RunOutcome& o);
// --set key=value for every method having key, or method.key=value for one; validated.
nlohmann::json compareConfig(const std::string& method, const std::vector<std::string>& sets);
std::vector<std::string> splitList(const std::string& s);
// One line on stderr about a value model just trained or found (cmd_value.cpp).
void describeValueModel(const ValueModelInfo& info, bool reused);
// The stderr progress of a value model's training.
void printValueProgress(const ValueTrainProgress& p);

} // namespace rudder::cli
