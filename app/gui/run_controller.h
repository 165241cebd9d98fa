// RunController: the GUI's handle on the engine.  A worker object on its own QThread owns the
// Workbench and the session writer; the GUI thread never runs the engine.  Iteration events are
// queued by the worker and announced with one queued signal per batch (coalesced), so thousands
// of samples never flood the GUI's event loop.
#pragma once
#include <QMutex>
#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/events.h"
#include "rudder/session_db.h"   // PromptRecord
#include "rudder/workbench.h"

namespace rudder::gui {

struct ModelsSpec {
    QString baseDir;
    QString tokenizer;   // a remote base model's tokenizer directory or repo id
    QString reward;   // a model directory, "lexicon" or "cmd:COMMAND"
    QString gold;     // same, "" = none
    QString device = "auto";
    QString dtype = "auto";
};

struct RunJob {
    RunRequest request;
    QString sessionPath;          // "" = do not store
    int64_t resumeRunId = -1;     // >= 0: resume this stored run
    std::vector<IterationEvent> completed;   // filled by the worker when resuming
    std::vector<PromptRecord> prompts;       // the request's prompts with dataset file and row ({} = typed)
    nlohmann::json tags = nlohmann::json::object();   // RunInfo::tags (a sweep's point)
};

class Worker;

class RunController : public QObject {
    Q_OBJECT
public:
    explicit RunController(QObject* parent = nullptr);
    ~RunController() override;

    // All asynchronous: results arrive as signals on the GUI thread.
    void loadModels(const ModelsSpec& spec);
    void start(const RunJob& job);
    void requestPreview(const QString& prompt, const QString& templ);
    // QAlign's β for a target acceptance rate (pilot chains on request.prompts[0]); answers with
    // betaTuned.  Stop cancels it.
    void tuneBeta(const RunRequest& request, double targetAcceptance);
    // RE-Control's value model for these prompts and settings, kept in the session's value store
    // (trained, or found); answers with valueProgress… then valueTrained.  Stop cancels it.
    void trainValue(const ValueTrainRequest& request, const QString& sessionPath);
    void stop();   // sets the cancel flag; the run returns `cancelled` at its next decode step

    bool busy() const { return busy_; }
    bool modelsReady() const { return modelsReady_; }
    // Workbench::provenance() of the loaded models (GUI thread copy; {} before a load).
    const nlohmann::json& provenance() const { return provenance_; }
    // Moves the events the worker has queued since the last call to the caller.
    std::vector<IterationEvent> takeEvents();

signals:
    void loadProgress(QString stage);
    void modelsLoaded(QString baseName, QString rewardName, QString goldName, QString provenanceJson);
    void loadFailed(QString message);
    void runStarted(qint64 runId, QString method, QString configJson, QString baseName, QString rewardName,
                    QString goldName);
    void eventsReady();   // one per batch: call takeEvents()
    void runFinished(qint64 runId, rudder::RunResult result);
    void previewReady(QString rendered, qlonglong tokens);
    void betaTuned(double beta, QString error);   // error "" on success
    // A value model's training (also before a RE-Control run that has none): stage "collect" or
    // "train", then the model's record (ValueModelInfo::toJson() with "path"), or an error.
    void valueProgress(QString stage, qlonglong done, qlonglong total, double trainLoss, double heldoutLoss);
    void valueTrained(QString infoJson, bool reused, QString error);

private:
    friend class Worker;
    QThread thread_;
    Worker* worker_;
    std::atomic<bool> cancel_{false};
    bool busy_ = false;
    bool trainingValue_ = false;
    bool modelsReady_ = false;
    nlohmann::json provenance_ = nlohmann::json::object();
    QMutex mutex_;
    std::vector<IterationEvent> pending_;
};

} // namespace rudder::gui

Q_DECLARE_METATYPE(rudder::RunResult)
