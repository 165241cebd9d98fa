// Sessions: one SQLite file holds everything needed to reproduce or re-plot runs.  The GUI
// and the CLI write the same format.  Pure C++ over the SQLite C API; no Qt, no torch.
//
// Concurrency: WAL mode, so readers (the GUI) see every committed iteration while a writer
// (the worker) appends.  One SessionDb per thread; open the same file twice for a reader and
// a writer.  Every public call throws rudder::Error naming the file on failure.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/events.h"

namespace rudder {

// What a run was started with: enough to reproduce it.
struct RunInfo {
    std::string method;                                  // "bon", "aisp", ...
    nlohmann::json config = nlohmann::json::object();    // full, validated method config
    uint64_t seed = 0;
    // Model identity: {"directory", "architecture", "config_sha256", "weights_fingerprint", ...}
    // (ModelSummary::toJson() fits); "name" is used for display when present.
    nlohmann::json base_model = nlohmann::json::object();
    nlohmann::json reward_model = nlohmann::json::object();
    nlohmann::json gold = nullptr;                       // gold reward identity, null if none
    std::string device, dtype;
    nlohmann::json versions = nlohmann::json::object();  // {"rudder": ..., "torch": ..., ...}
    std::string prompt_template;
    // Free-form labels (format 4+): {"sweep": {"name", "params", "role", ...}} for a sweep's runs.
    nlohmann::json tags = nlohmann::json::object();
};

struct PromptRecord {
    int index = 0;
    std::string text;
    std::string source;                  // dataset file, "" when typed
    std::optional<int64_t> row;          // row in the dataset
};

// One line of the run list.
struct RunRow {
    int64_t id = 0;
    std::string method;
    RunStatus status = RunStatus::Running;
    std::string message;                 // failure / interruption message
    std::string base_model, reward_model;   // display names
    uint64_t seed = 0;
    std::string started, finished;       // ISO 8601 UTC; finished "" while running/interrupted
    std::optional<double> best_final_reward;
    int64_t iterations = 0;              // completed iteration events stored
    nlohmann::json config;
    nlohmann::json tags = nlohmann::json::object();   // RunInfo::tags
};

struct StoredRun {
    RunRow row;
    RunInfo info;
    Budget budget;                       // final budget (zero until finishRun)
    nlohmann::json summary;              // RunResult::summary at the end (null before; format 2+)
    std::vector<PromptRecord> prompts;
    std::vector<IterationEvent> iterations;   // in the order they were appended
    std::vector<FinalAnswer> final;
};

class SessionDb {
public:
    enum class Mode { ReadWrite, ReadOnly };

    // ReadWrite creates the file when missing and upgrades an older format in place.  A file
    // that is not a session, is damaged, or was written by a newer format is refused with a
    // clear error and left byte-for-byte untouched.  Opening read-write marks runs whose
    // writer process is gone as `interrupted`; read-only reports them so without writing.
    static SessionDb open(const std::string& path, Mode mode = Mode::ReadWrite);

    SessionDb(SessionDb&&) noexcept;
    SessionDb& operator=(SessionDb&&) noexcept;
    ~SessionDb();   // runs this object started and never finished become `interrupted`

    const std::string& path() const;
    static int currentSchemaVersion();

    // --- writing (ReadWrite) ---
    int64_t createRun(const RunInfo& info);                 // status `running`, owned by this process
    void addPrompt(int64_t runId, int index, const std::string& text,
                   const std::string& source = "", std::optional<int64_t> row = std::nullopt);
    void appendIteration(int64_t runId, const IterationEvent& event);   // one transaction
    void setFinal(int64_t runId, const std::vector<FinalAnswer>& final);  // replaces earlier ones
    void finishRun(int64_t runId, RunStatus status, const std::string& message, const Budget& budget,
                   const nlohmann::json& summary = nullptr);
    // Reopens an interrupted/cancelled/failed run for appending: status back to `running`,
    // owned by this process.  Refused while another live process is writing it.
    void resumeRun(int64_t runId);
    void deleteRun(int64_t runId);

    // --- reading ---
    std::vector<RunRow> listRuns() const;
    StoredRun loadRun(int64_t runId, bool withSamples = true) const;
    // Every stored iteration with samples and stats, in append order: feed it to
    // rudder::ResumeState::completed.
    std::vector<IterationEvent> loadCompletedIterations(int64_t runId) const;
    std::string integrityCheck() const;                     // "ok" or SQLite's findings

    // --- export / import (format documented in README.md, "Session export format") ---
    nlohmann::json exportJson(const std::vector<int64_t>& runIds = {}) const;   // empty = all runs
    void exportCsvSamples(const std::vector<int64_t>& runIds, std::ostream& out) const;
    void exportCsvIterations(const std::vector<int64_t>& runIds, std::ostream& out) const;
    // Adds the runs of an exportJson() document as new runs (all or nothing); returns their ids.
    // `source` names the document in error messages.
    std::vector<int64_t> importJson(const nlohmann::json& doc, const std::string& source = "import");

    struct Impl;

private:
    explicit SessionDb(std::unique_ptr<Impl> d);
    std::unique_ptr<Impl> d;
};

} // namespace rudder
