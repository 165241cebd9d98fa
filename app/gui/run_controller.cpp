#include "run_controller.h"

#include <QMetaObject>
#include <QMutexLocker>

#include <optional>
#include <utility>

#include "rudder/answer_reward.h"
#include "rudder/error.h"
#include "rudder/run_recorder.h"
#include "rudder/session_db.h"
#include "rudder/value_model.h"

namespace rudder::gui {

// Lives on the worker thread; everything in here may block.
class Worker : public QObject {
public:
    explicit Worker(RunController* c) : c_(c) {}
    std::optional<std::string> answerField_;   // the gold is accuracy against this dataset field

    void loadModels(const ModelsSpec& spec)
    {
        try {
            LoadOptions opt;
            opt.device = spec.device.toStdString();
            opt.dtype = spec.dtype.toStdString();
            opt.tokenizer = spec.tokenizer.toStdString();
            emit c_->loadProgress("loading base model " + spec.baseDir + " …");
            const ModelSummary base = wb_.loadBase(spec.baseDir.toStdString(), opt);
            emit c_->loadProgress("loading reward " + spec.reward + " …");
            const std::string reward = wb_.setReward(spec.reward.toStdString(), opt);
            std::string gold;
            answerField_.reset();
            if (const auto field = answerGoldField(spec.gold.toStdString())) {
                // Accuracy as the gold: the references come from each run's dataset rows (run()).
                wb_.setGold("", opt);
                answerField_ = *field;
                gold = "answer:" + *field;
            } else if (!spec.gold.isEmpty()) {
                emit c_->loadProgress("loading gold reward " + spec.gold + " …");
                gold = wb_.setGold(spec.gold.toStdString(), opt);
            } else {
                wb_.setGold("", opt);
            }
            emit c_->modelsLoaded(QString::fromStdString(base.directory), QString::fromStdString(reward),
                                  QString::fromStdString(gold), QString::fromStdString(wb_.provenance().dump()));
        } catch (const std::exception& e) {
            emit c_->loadFailed(QString::fromStdString(e.what()));
        }
    }

    void preview(const QString& prompt, const QString& templ)
    {
        try {
            if (!wb_.hasBase()) {
                emit c_->previewReady(prompt, -1);
                return;
            }
            const std::string r = wb_.renderPrompt(prompt.toStdString(), templ.toStdString());
            emit c_->previewReady(QString::fromStdString(r), qlonglong(wb_.countTokens(r)));
        } catch (const std::exception& e) {
            emit c_->previewReady(QString("(template error: %1)").arg(e.what()), -1);
        }
    }

    void run(RunJob job)
    {
        std::optional<SessionDb> db;
        std::optional<RunRecorder> rec;
        RunResult result;
        try {
            if (answerField_) {
                // The accuracy gold for this run's prompts: each one's reference from its dataset line.
                std::vector<PromptRecord> prompts = job.prompts;
                if (job.resumeRunId >= 0 && !job.sessionPath.isEmpty())
                    prompts = SessionDb::open(job.sessionPath.toStdString(), SessionDb::Mode::ReadOnly)
                                  .loadRun(job.resumeRunId, false)
                                  .prompts;
                std::vector<PromptSource> sources;
                for (const auto& p : prompts) sources.push_back({p.text, p.source, p.row});
                wb_.setGoldFunction(makeAnswerReward(referencesFor(sources, *answerField_), *answerField_),
                                    "answer:" + *answerField_);
            }
            if (!job.sessionPath.isEmpty()) {
                db.emplace(SessionDb::open(job.sessionPath.toStdString()));
                if (job.resumeRunId >= 0) {
                    // Refuses (naming the difference) unless the loaded models are the run's own.
                    // Every check before the run is marked running: a refusal leaves the file as it was.
                    rec.emplace(RunRecorder::resume(*db, job.resumeRunId, wb_.provenance(),
                                                    [this](const RunRequest& r, const ResumeState& st) { wb_.checkRun(r, &st); }));
                    job.request = rec->request();
                    job.completed = rec->resumeState()->completed;
                } else {
                    wb_.checkPrompts(job.request.prompts, job.request.prompt_template,
                                     job.request.config.value("max_new_tokens", int64_t(0)));
                    // RE-Control with no value model chosen: trained (or found) first, so the
                    // recorded config names the file the run uses.
                    wb_.setValueStore(valueStoreFor(job.sessionPath.toStdString()));
                    prepareValue(job.request);
                    wb_.checkRun(job.request);   // refused runs are not recorded as failed ones
                    rec.emplace(RunRecorder::start(*db, job.request, wb_.provenance(), job.prompts, job.tags));
                }
            }
            const int64_t runId = rec ? rec->id() : -1;
            const auto reward = wb_.reward(), gold = wb_.gold();
            emit c_->runStarted(runId, QString::fromStdString(job.request.method),
                                QString::fromStdString(job.request.config.dump()),
                                wb_.hasBase() ? QString::fromStdString(wb_.base().directory) : QString(),
                                reward ? QString::fromStdString(reward->name()) : QString(),
                                gold ? QString::fromStdString(gold->name()) : QString());
            // Events already stored are part of the run's plots too.
            for (const auto& e : job.completed) push(e);
            result = wb_.run(
                job.request,
                [&](const IterationEvent& e) {
                    if (rec) rec->append(e);
                    push(e);
                },
                &c_->cancel_, rec ? rec->resumeState() : nullptr);
        } catch (const Cancelled& e) {
            result.status = RunStatus::Cancelled;
            result.message = e.what();
        } catch (const std::exception& e) {
            result.status = RunStatus::Failed;
            result.message = e.what();
        }
        if (rec) {
            try {
                rec->finish(result);
            } catch (const std::exception& e) {
                if (result.message.empty()) result.message = std::string("session: ") + e.what();
            }
        }
        emit c_->runFinished(rec ? rec->id() : -1, result);
    }

    void trainValue(ValueTrainRequest request, const QString& sessionPath)
    {
        try {
            wb_.setValueStore(sessionPath.isEmpty() ? std::string() : valueStoreFor(sessionPath.toStdString()));
            bool reused = false;
            const ValueModelInfo info = wb_.trainValue(request, progressSink(), &c_->cancel_, &reused);
            emit c_->valueTrained(QString::fromStdString(info.toJson().dump()), reused, QString());
        } catch (const std::exception& e) {
            emit c_->valueTrained(QString(), false, QString::fromStdString(e.what()));
        }
    }

    void tuneBeta(const RunRequest& request, double target)
    {
        try {
            const double beta = wb_.tuneQAlignBeta(request, target, 16, &c_->cancel_);
            emit c_->betaTuned(beta, c_->cancel_.load() ? QString("stopped") : QString());
        } catch (const std::exception& e) {
            emit c_->betaTuned(0.0, QString::fromStdString(e.what()));
        }
    }

private:
    std::function<void(const ValueTrainProgress&)> progressSink()
    {
        return [this](const ValueTrainProgress& p) {
            emit c_->valueProgress(QString::fromStdString(p.stage), p.done, p.total, p.train_loss, p.heldout_loss);
        };
    }

    void prepareValue(RunRequest& request)
    {
        bool reused = false;
        try {
            if (auto info = wb_.prepareValueModel(request, progressSink(), &c_->cancel_, &reused))
                emit c_->valueTrained(QString::fromStdString(info->toJson().dump()), reused, QString());
        } catch (const std::exception& e) {
            emit c_->valueTrained(QString(), false, QString::fromStdString(e.what()));   // the view says so
            throw;   // and the run ends with it
        }
    }

    void push(const IterationEvent& e)
    {
        bool first;
        {
            QMutexLocker lock(&c_->mutex_);
            first = c_->pending_.empty();
            c_->pending_.push_back(e);
        }
        if (first) emit c_->eventsReady();   // one signal per batch; the GUI drains the rest with it
    }

    RunController* c_;
    Workbench wb_;
};

RunController::RunController(QObject* parent) : QObject(parent), worker_(nullptr)
{
    qRegisterMetaType<rudder::RunResult>("rudder::RunResult");
    worker_ = new Worker(this);
    worker_->moveToThread(&thread_);
    connect(this, &RunController::modelsLoaded, this, [this](QString, QString, QString, QString provenance) {
        busy_ = false;
        modelsReady_ = true;
        provenance_ = nlohmann::json::parse(provenance.toStdString());
    });
    connect(this, &RunController::loadFailed, this, [this] {
        busy_ = false;
        modelsReady_ = false;
        provenance_ = nlohmann::json::object();
    });
    connect(this, &RunController::runFinished, this, [this] { busy_ = false; });
    connect(this, &RunController::betaTuned, this, [this] { busy_ = false; });
    connect(this, &RunController::valueTrained, this, [this] {
        if (std::exchange(trainingValue_, false)) busy_ = false;   // a run that trained first stays busy
    });
    thread_.setObjectName("rudder-engine");
    thread_.start();
}

RunController::~RunController()
{
    cancel_ = true;
    thread_.quit();
    thread_.wait();
    delete worker_;
}

void RunController::loadModels(const ModelsSpec& spec)
{
    busy_ = true;
    QMetaObject::invokeMethod(worker_, [w = worker_, spec] { w->loadModels(spec); }, Qt::QueuedConnection);
}

void RunController::start(const RunJob& job)
{
    busy_ = true;
    cancel_ = false;
    QMetaObject::invokeMethod(worker_, [w = worker_, job] { w->run(job); }, Qt::QueuedConnection);
}

void RunController::requestPreview(const QString& prompt, const QString& templ)
{
    QMetaObject::invokeMethod(worker_, [w = worker_, prompt, templ] { w->preview(prompt, templ); },
                              Qt::QueuedConnection);
}

void RunController::tuneBeta(const RunRequest& request, double target)
{
    busy_ = true;
    cancel_ = false;
    QMetaObject::invokeMethod(worker_, [w = worker_, request, target] { w->tuneBeta(request, target); },
                              Qt::QueuedConnection);
}

void RunController::trainValue(const ValueTrainRequest& request, const QString& sessionPath)
{
    busy_ = true;
    trainingValue_ = true;
    cancel_ = false;
    QMetaObject::invokeMethod(worker_, [w = worker_, request, sessionPath] { w->trainValue(request, sessionPath); },
                              Qt::QueuedConnection);
}

void RunController::stop() { cancel_ = true; }

std::vector<IterationEvent> RunController::takeEvents()
{
    QMutexLocker lock(&mutex_);
    std::vector<IterationEvent> out;
    out.swap(pending_);
    return out;
}

} // namespace rudder::gui
