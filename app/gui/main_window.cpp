#include "main_window.h"

#include <utility>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QScreen>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTimer>

#include <cmath>

#include <qcustomplot.h>

#include "acceptance_plot.h"
#include "answers_plot.h"
#include "beta_curve_plot.h"
#include "export_dialog.h"
#include "method_panel.h"
#include "models_panel.h"
#include "plot_export.h"
#include "prompt_panel.h"
#include "reward_curve_plot.h"
#include "reward_distribution_plot.h"
#include "rudder/methods.h"
#include "rudder/paths.h"
#include "rudder/runtime_init.h"
#include "rudder/answer_reward.h"
#include "rudder/run_recorder.h"
#include "rudder/session_db.h"
#include "sample_inspector.h"
#include "sessions_panel.h"
#include "sweep_dialog.h"
#include "sweep_view.h"
#include "value_model_view.h"
#include "rudder/sweep_store.h"
#include "weight_histogram_plot.h"

namespace rudder::gui {

using namespace rudder::widgets;

namespace {
QString defaultSessionPath()
{
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return dir + "/session.rudder";
}
// "run 3 (aisp) done — final reward 0.42, gold 0.44 · diversity … · coherence … · KL to base …":
// the end-of-run line, also shown when a stored run is reopened.
QString resultLine(int64_t runId, const QString& method, const RunResult& r)
{
    // A run that ended before it was recorded (Stop while RE-Control's value model trained).
    QString msg = runId >= 0 ? QString("run %1 (%2) %3").arg(runId).arg(method, toString(r.status))
                             : QString("%1 %2 before its run was recorded").arg(method, toString(r.status));
    if (!r.final.empty()) msg += QString(" — final reward %1").arg(r.final.front().reward, 0, 'g', 4);
    if (r.final.size() == 1 && r.final.front().gold_reward)
        msg += QString(", gold %1").arg(*r.final.front().gold_reward, 0, 'g', 4);
    const SummaryMeans m = summaryMeans(r.summary);
    if (m.diversity) msg += QString(" · diversity %1").arg(*m.diversity, 0, 'f', 3);
    if (m.coherence) msg += QString(" · coherence %1").arg(*m.coherence, 0, 'f', 3);
    if (m.kl_to_base) msg += QString(" · KL to base %1 nats").arg(*m.kl_to_base, 0, 'g', 3);
    if (!r.message.empty()) msg += " — " + QString::fromStdString(r.message);
    return msg;
}
// A value model in one line: its file, what it was trained on, when.
QString describeValue(const ValueModelInfo& info, bool reused)
{
    return QFileInfo(QString::fromStdString(info.path)).fileName() + QString(" (%1 responses to %2 prompts, %3%4)")
                                                                           .arg(info.responses)
                                                                           .arg(info.prompts)
                                                                           .arg(QString::fromStdString(info.created))
                                                                           .arg(reused ? ", reused" : "");
}
QString shortName(const std::string& s)
{
    const QString q = QString::fromStdString(s);
    const QString name = QFileInfo(q).fileName();
    return name.isEmpty() ? q : name;
}
} // namespace

MainWindow::MainWindow(const QString& sessionPath, QWidget* parent)
    : QMainWindow(parent), ctl_(new RunController(this)), models_(new ModelsPanel), prompt_(new PromptPanel),
      method_(new MethodPanel), sessions_(new SessionsPanel), inspector_(new SampleInspector),
      rewardPlot_(new RewardCurvePlot), acceptPlot_(new AcceptancePlot), weightPlot_(new WeightHistogramPlot),
      distPlot_(new RewardDistributionPlot), betaPlot_(new BetaCurvePlot), answersPlot_(new AnswersPlot), sweepView_(new SweepView), valueView_(new ValueModelView), progress_(new QProgressBar),
      rate_(new QLabel), refreshTimer_(new QTimer(this)), current_(std::make_unique<RunData>())
{
    setWindowTitle("Rudder — test-time alignment workbench");
    setObjectName("RudderMainWindow");
    setDockNestingEnabled(true);
    plots_ = {rewardPlot_, distPlot_, weightPlot_, acceptPlot_, betaPlot_, answersPlot_};
    buildDocks();
    buildMenus();
    progress_->setMaximumWidth(220);
    progress_->setFormat("%p%");
    progress_->setValue(0);
    statusBar()->addPermanentWidget(rate_);
    statusBar()->addPermanentWidget(progress_);
    models_->setCudaAvailable(cudaAvailable());

    for (RunPlot* p : plots_) {
        p->setRun(current_.get());
        connect(p, &RunPlot::sampleClicked, inspector_, &SampleInspector::select);
    }
    inspector_->setRun(current_.get());
    // Streamed events: drained on the GUI thread, redrawn at most every 100 ms.
    refreshTimer_->setSingleShot(true);
    refreshTimer_->setInterval(100);
    connect(refreshTimer_, &QTimer::timeout, this, &MainWindow::refreshNow);
    connect(ctl_, &RunController::eventsReady, this, &MainWindow::onEventsReady);
    connect(ctl_, &RunController::runFinished, this, &MainWindow::onRunFinished);
    connect(ctl_, &RunController::runStarted, this,
            [this](qint64 id, QString method, QString config, QString base, QString reward, QString gold) {
                currentRunId_ = id;
                RunMeta& m = current_->meta();
                m.runId = id;
                m.method = method.toStdString();
                m.config = nlohmann::json::parse(config.toStdString());
                m.base = base.toStdString();
                m.reward = reward.toStdString();
                m.gold = gold.toStdString();
                m.title = QString("%1 #%2").arg(method).arg(id).toStdString();
                // The per-method plots share a tabbed pane: bring forward the one this method feeds.
                if (const MethodInfo* info = findMethod(m.method)) {
                    const char* name = info->hasAcceptance ? "dock-acceptance" : info->hasWeights ? "dock-weights" : nullptr;
                    for (QDockWidget* d : docks_)
                        if (name && d->objectName() == name) d->raise();
                }
                statusBar()->showMessage(QString("running %1 (run %2)…").arg(method).arg(id));
                sessions_->reload();
            });
    connect(ctl_, &RunController::loadProgress, models_, &ModelsPanel::setLoading);
    connect(ctl_, &RunController::modelsLoaded, this, [this](QString base, QString reward, QString gold, QString) {
        // A served model reads "NAME at http://HOST:PORT/v1"; a directory by its name.
        const bool remote = base.startsWith("http://") || base.startsWith("https://");
        const QString baseName = remote ? base.section('#', 1) + " at " + base.section('#', 0, 0) : QFileInfo(base).fileName();
        models_->setLoaded(QString("ready: %1 · reward %2%3 · %4 threads")
                               .arg(baseName, reward,
                                    gold.isEmpty() ? QString() : " · gold " + gold)
                               .arg(initTorchRuntime()));
        statusBar()->showMessage("models loaded", 4000);
        ctl_->requestPreview(prompt_->prompt(), prompt_->templateName());
        if (pendingResume_ >= 0) {
            // The run's models were loaded for a resume: go on with it (after the controller's
            // own slot has marked the models ready: queue behind it).
            const int64_t id = std::exchange(pendingResume_, -1);
            QMetaObject::invokeMethod(this, [this, id] {
                const QString e = resumeRun(id, true);
                if (!e.isEmpty()) showError("Cannot resume the run", e);
                emit resumeAfterLoad(id, e);
            }, Qt::QueuedConnection);
        }
    });
    connect(ctl_, &RunController::loadFailed, this, [this](QString msg) {
        pendingResume_ = -1;
        models_->setFailed(msg);
        if (!quietLoad_) showError("Cannot load the models", msg);
        else statusBar()->showMessage(msg);
    });
    connect(ctl_, &RunController::previewReady, prompt_, &PromptPanel::setPreview);
    connect(prompt_, &PromptPanel::previewRequested, ctl_, &RunController::requestPreview);
    // The dataset tab's "gold: reference answer in FIELD" sets the Models panel's gold and reloads.
    connect(prompt_, &PromptPanel::answerGoldChosen, this, [this](const QString& spec) {
        ModelChoice c = models_->choice();
        if (spec.isEmpty() && !answerGoldField(c.gold.toStdString())) return;
        c.gold = spec;
        models_->setChoice(c);
        if (!running_) loadModels(true);
    });
    connect(models_, &ModelsPanel::loadRequested, this, [this] { loadModels(false); });
    connect(method_, &MethodPanel::runRequested, this, [this] { startRun(false); });
    connect(method_, &MethodPanel::stopRequested, this, &MainWindow::stopRun);
    connect(method_, &MethodPanel::sweepRequested, this, &MainWindow::sweepInteractive);
    connect(sweepView_, &SweepView::exportRequested, this, &MainWindow::exportSweepInteractive);
    connect(sweepView_, &SweepView::runsRequested, this, [this](std::vector<int64_t> ids) {
        // A grid point's runs (and the reference's) overlaid on the reward curves, each side as
        // its mean ± se over seeds and prompts.
        if (running_) return;
        sessions_->setGroupBy(SessionsPanel::BySweepPoint);
        const QString e = overlayRuns(ids);
        if (!e.isEmpty()) showError("Cannot overlay the runs", e);
        else if (curvesDock_) curvesDock_->raise();
    });
    connect(method_, &MethodPanel::tuneBetaRequested, this, [this](double target) {
        const QString e = tuneBeta(target);
        if (!e.isEmpty()) statusBar()->showMessage(e, 6000);
    });
    connect(ctl_, &RunController::betaTuned, this, [this](double beta, QString error) {
        tuning_ = false;
        method_->setRunning(false);
        if (!error.isEmpty()) {
            statusBar()->showMessage("tuning β: " + error, 8000);
            return;
        }
        const std::string id = method_->currentMethod();
        method_->setConfig(id, {{"scale", 0}, {"beta", beta}});
        statusBar()->showMessage(QString("β = %1 (absolute units) gives about half the proposals accepted on this prompt")
                                     .arg(beta, 0, 'g', 4));
        emit betaTuned(beta);
    });
    // RE-Control's value model: trained on the worker (its own button, or first thing in a run
    // that has none), chosen as a file, or cleared.
    connect(method_, &MethodPanel::trainValueRequested, this, [this] {
        const QString e = trainValue();
        if (!e.isEmpty()) statusBar()->showMessage(e, 6000);
    });
    connect(method_, &MethodPanel::valueModelChosen, this, [this](QString path) {
        if (path.isEmpty()) {
            method_->setValueModel(QString(), QString());
            valueView_->clear();
            return;
        }
        try {
            ValueModelInfo info = Workbench::readValueModel(path.toStdString());
            method_->setValueModel(path, describeValue(info, false));
            valueView_->setModel(info, true);
            valueDock_->raise();
        } catch (const std::exception& e) {
            showError("Not a value model", e.what());
        }
    });
    connect(ctl_, &RunController::valueProgress, this,
            [this](QString stage, qlonglong done, qlonglong total, double trainLoss, double heldLoss) {
                if (stage == "collect" && done <= 1) valueDock_->raise();
                valueView_->addProgress({stage.toStdString(), done, total, trainLoss, heldLoss});
                progress_->setValue(total > 0 ? int(100 * done / total) : 0);
                statusBar()->showMessage(stage == "collect"
                                             ? QString("value model: collecting rollouts, prompt %1 of %2…").arg(done).arg(total)
                                             : QString("value model: epoch %1 of %2…").arg(done).arg(total));
            });
    connect(ctl_, &RunController::valueTrained, this, [this](QString json, bool reused, QString error) {
        const bool own = std::exchange(tuning_, false);   // the Train button's (a run's goes on)
        if (own) method_->setRunning(false);
        if (!error.isEmpty()) {
            statusBar()->showMessage("value model: " + error, 10000);
            valueView_->setStopped(error);
            emit valueModelReady(QString(), error);
            return;
        }
        const ValueModelInfo info = ValueModelInfo::fromJson(nlohmann::json::parse(json.toStdString()));
        const QString path = QString::fromStdString(info.path);
        const QString what = describeValue(info, reused);
        // A run's own (its config names it) or the Train button's: shown, not pinned (see
        // MethodPanel::setTrainedValueModel); a file the user chose stays chosen.
        if (method_->valueModel() != path) method_->setTrainedValueModel(what);
        valueView_->setModel(info, reused);
        statusBar()->showMessage(QString("value model %1: held-out RMSE %2 against a reward std of %3")
                                     .arg(reused ? "reused" : "trained")
                                     .arg(info.heldout_rmse, 0, 'g', 3)
                                     .arg(info.reward_std, 0, 'g', 3),
                                 8000);
        emit valueModelReady(path, QString());
    });
    connect(method_, &MethodPanel::liveTuneRequested, this, [this] {
        if (running_) {
            rerunWhenStopped_ = true;   // restart with the new value once the old run has stopped
            stopRun();
        } else {
            startRun(true);
        }
    });
    connect(sessions_, &SessionsPanel::reopenRequested, this, [this](qint64 id) {
        const QString e = reopenRun(id);
        if (!e.isEmpty()) showError("Cannot reopen the run", e);
    });
    connect(sessions_, &SessionsPanel::overlayRequested, this, [this](std::vector<int64_t> ids) {
        const QString e = overlayRuns(ids);
        if (!e.isEmpty()) showError("Cannot overlay the runs", e);
    });
    connect(sessions_, &SessionsPanel::resumeRequested, this, [this](qint64 id) {
        const QString e = resumeRun(id);
        if (!e.isEmpty()) showError("Cannot resume the run", e);
    });
    connect(sessions_, &SessionsPanel::openSessionRequested, this, [this] {
        const QString p = QFileDialog::getOpenFileName(this, "Open a session", QFileInfo(sessions_->sessionPath()).path(),
                                                       "Rudder sessions (*.rudder *.sqlite *.db);;All files (*)");
        if (!p.isEmpty())
            if (const QString e = openSession(p); !e.isEmpty()) showError("Cannot open the session", e);
    });
    connect(sessions_, &SessionsPanel::newSessionRequested, this, [this] {
        const QString p = QFileDialog::getSaveFileName(this, "New session", QFileInfo(sessions_->sessionPath()).path(),
                                                       "Rudder sessions (*.rudder)");
        if (!p.isEmpty())
            if (const QString e = openSession(p); !e.isEmpty()) showError("Cannot create the session", e);
    });

    defaultState_ = saveState();
    restoreSettings();
    const QString session = !sessionPath.isEmpty()
                                ? sessionPath
                                : QSettings().value("session/path", defaultSessionPath()).toString();
    if (const QString e = openSession(session); !e.isEmpty()) statusBar()->showMessage(e);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildDocks()
{
    auto dock = [this](QWidget* w, const QString& title, const QString& name) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setWidget(w);
        d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                       QDockWidget::DockWidgetClosable);
        docks_.push_back(d);
        return d;
    };
    auto* dModels = dock(models_, "Models", "dock-models");
    auto* dPrompt = dock(prompt_, "Prompt", "dock-prompt");
    auto* dMethod = dock(method_, "Method", "dock-method");
    auto* dCurves = dock(rewardPlot_, "Reward curves", "dock-curves");
    auto* dDist = dock(distPlot_, "Reward distribution", "dock-distribution");
    auto* dWeights = dock(weightPlot_, "Importance weights", "dock-weights");
    auto* dAccept = dock(acceptPlot_, "QAlign acceptance", "dock-acceptance");
    auto* dBeta = dock(betaPlot_, "BoN-equivalent β(n)", "dock-beta");
    auto* dAnswers = dock(answersPlot_, "Answers", "dock-answers");
    auto* dSamples = dock(inspector_, "Samples", "dock-samples");
    auto* dSessions = dock(sessions_, "Session", "dock-sessions");
    auto* dSweep = dock(sweepView_, "Sweep", "dock-sweep");
    valueDock_ = dock(valueView_, "Value model", "dock-value");
    sweepDock_ = dSweep;
    curvesDock_ = dCurves;
    // Left column: what to run.  Right: plots over the sample table and run list.
    addDockWidget(Qt::LeftDockWidgetArea, dModels);
    splitDockWidget(dModels, dPrompt, Qt::Vertical);
    splitDockWidget(dPrompt, dMethod, Qt::Vertical);
    addDockWidget(Qt::RightDockWidgetArea, dCurves);
    splitDockWidget(dCurves, dDist, Qt::Horizontal);
    splitDockWidget(dCurves, dWeights, Qt::Vertical);
    // The per-method plots share one tabbed pane (AISP's weights and QAlign's acceptance are never
    // both of interest): side by side they made the window 1584 px wide, more than a laptop has.
    tabifyDockWidget(dWeights, dAccept);
    tabifyDockWidget(dAccept, dBeta);
    tabifyDockWidget(dAccept, dAnswers);
    tabifyDockWidget(dCurves, valueDock_);
    tabifyDockWidget(dCurves, dSweep);
    splitDockWidget(dDist, dSamples, Qt::Vertical);
    tabifyDockWidget(dSamples, dSessions);
    dCurves->raise();
    dSamples->raise();
    dWeights->raise();   // (then the running method's own plot: runStarted)
    resizeDocks({dModels, dCurves}, {430, 1100}, Qt::Horizontal);
    resizeDocks({dModels, dPrompt, dMethod}, {170, 250, 480}, Qt::Vertical);
    setCentralWidget(nullptr);
}

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu("&File");
    file->addAction("&New session…", sessions_, &SessionsPanel::newSessionRequested);
    file->addAction("&Open session…", QKeySequence::Open, sessions_, &SessionsPanel::openSessionRequested);
    file->addSeparator();
    file->addAction("&Export figure or data…", QKeySequence("Ctrl+E"), this, &MainWindow::exportInteractive);
    file->addAction("Export the &sweep…", this, &MainWindow::exportSweepInteractive);
    file->addSeparator();
    file->addAction("&Quit", QKeySequence::Quit, this, &QWidget::close);
    QMenu* run = menuBar()->addMenu("&Run");
    run->addAction("&Load models", this, [this] { loadModels(false); });
    run->addAction("&Run", QKeySequence("Ctrl+R"), this, [this] { startRun(false); });
    run->addAction("&Stop", QKeySequence("Ctrl+."), this, &MainWindow::stopRun);
    run->addAction("S&weep…", QKeySequence("Ctrl+Shift+R"), this, &MainWindow::sweepInteractive);
    run->addAction("&Compare methods…", this, &MainWindow::compareInteractive);
    QMenu* view = menuBar()->addMenu("&View");
    for (QDockWidget* d : docks_) view->addAction(d->toggleViewAction());
    view->addSeparator();
    view->addAction("Reset layout", this, [this] { restoreState(defaultState_); });
}

void MainWindow::showError(const QString& title, const QString& message)
{
    statusBar()->showMessage(message, 10000);
    // Non-blocking: the window (and tests) keep running while the message is up.
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
}

void MainWindow::loadModels(bool quiet)
{
    quietLoad_ = quiet;
    if (running_) {
        statusBar()->showMessage("stop the run before loading other models", 5000);
        return;
    }
    const ModelChoice c = models_->choice();
    models_->setLoading("loading…");
    ctl_->loadModels(ModelsSpec{c.baseDir, c.tokenizer, c.reward, c.gold, c.device, c.dtype});
}

int64_t MainWindow::expectedSamples() const
{
    const int64_t prompts = std::max<int64_t>(1, int64_t(current_->meta().prompts.size()));
    try {
        return plannedSamplesPerPrompt(current_->meta().method, current_->meta().config) * prompts;
    } catch (const std::exception&) {
        return prompts;   // a stored config this version cannot read: progress by prompts
    }
}

// The job's run becomes the current one (empty plots carrying its method, config, seed and
// prompts), the controls switch to running, and the controller starts it.
void MainWindow::beginRun(const RunJob& job)
{
    auto run = std::make_unique<RunData>();
    RunMeta m;
    m.method = job.request.method;
    m.config = job.request.config;
    m.seed = job.request.seed;
    m.prompts = job.request.prompts;
    m.objectiveNames = objectiveNamesOf(ctl_->provenance().value("reward_model", nlohmann::json::object()));
    run->setMeta(m);
    setCurrent(std::move(run));
    expectedSamples_ = expectedSamples();
    running_ = true;
    method_->setRunning(true);
    progress_->setValue(0);
    ctl_->start(job);
}

void MainWindow::startRun(bool smallBudget)
{
    if (running_) return;
    if (sweepActive_) {   // between two of its runs: the next one is already queued
        statusBar()->showMessage("a sweep is running: Stop ends it", 6000);
        return;
    }
    if (tuning_) {
        statusBar()->showMessage("β is being tuned: wait for it or press Stop", 6000);
        return;
    }
    if (!ctl_->modelsReady()) {
        statusBar()->showMessage("load the models first (Models panel)", 6000);
        models_->setFailed(models_->statusText().startsWith("Could not") ? models_->statusText().mid(16)
                                                                          : "no models loaded yet");
        return;
    }
    RunJob job;
    job.request.method = method_->currentMethod();
    nlohmann::json config = method_->config();
    if (smallBudget) config = MethodPanel::smallBudget(job.request.method, config);
    try {
        job.request.config = validateConfig(job.request.method, config);
    } catch (const std::exception& e) {
        showError("Invalid settings", e.what());
        return;
    }
    job.request.seed = method_->seed();
    // Accuracy as the gold: the method's own answer is the vote over extracted answers where it
    // can vote (QAlign §3.2, MV/WMV), as rudder-cli does.
    bool votes = false;
    if (answerGoldField(models_->choice().gold.toStdString()) && job.request.config.contains("vote") &&
        job.request.config["vote"] != 1) {
        job.request.config["vote"] = 1;
        method_->setConfig(job.request.method, {{"vote", 1}});   // the tab shows what the run does
        votes = true;
    }
    job.prompts = prompt_->promptRecords();
    for (const auto& p : job.prompts) job.request.prompts.push_back(p.text);
    job.request.prompt_template = prompt_->templateName().toStdString();
    job.sessionPath = sessions_->sessionPath();
    lastWasSmall_ = smallBudget;
    beginRun(job);
    statusBar()->showMessage(smallBudget ? "live tuning: re-running with a small budget…"
                             : votes   ? "starting… (accuracy as the gold: the answer is chosen by vote)"
                                       : "starting…");
}

QString MainWindow::tuneBeta(double target)
{
    if (running_ || tuning_ || sweepActive_) return "a run is in progress: stop it first";
    if (!ctl_->modelsReady()) return "load the models first (Models panel)";
    RunRequest req;
    req.method = method_->currentMethod();
    const MethodInfo* info = findMethod(req.method);
    if (!info || !info->hasAcceptance) return "β tuning is for QAlign";
    try {
        req.config = validateConfig(req.method, method_->config());
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    req.seed = method_->seed();
    req.prompts = {prompt_->prompts().front()};
    req.prompt_template = prompt_->templateName().toStdString();
    tuning_ = true;
    method_->setRunning(true);
    statusBar()->showMessage(QString("tuning β for %1 % acceptance (pilot chains)…").arg(int(target * 100)));
    ctl_->tuneBeta(req, target);
    return {};
}

QString MainWindow::trainValue()
{
    if (running_ || tuning_ || sweepActive_) return "a run is in progress: stop it first";
    if (!ctl_->modelsReady()) return "load the models first (Models panel)";
    const std::string id = method_->currentMethod();
    const MethodInfo* info = findMethod(id);
    if (!info || !info->needsValueModel) return "a value model is for RE-Control";
    ValueTrainRequest r;
    try {
        r.options = ValueTrainOptions::fromRunConfig(validateConfig(id, method_->config(id)));
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    r.options.seed = method_->seed();
    r.prompts = prompt_->prompts();
    r.prompt_template = prompt_->templateName().toStdString();
    tuning_ = true;
    method_->setRunning(true);
    valueView_->clear();
    valueDock_->raise();
    statusBar()->showMessage("training the value model…");
    ctl_->trainValue(r, sessions_->sessionPath());
    return {};
}

void MainWindow::stopRun()
{
    if (tuning_) {
        ctl_->stop();
        statusBar()->showMessage("stopping the β tuning…");
        return;
    }
    if (!running_) return;
    if (sweepActive_) sweepQueue_.clear();   // the sweep ends with the run in progress
    ctl_->stop();
    statusBar()->showMessage("stopping…");
}

void MainWindow::setCurrent(std::unique_ptr<RunData> run)
{
    current_ = std::move(run);
    for (RunPlot* p : plots_) p->setRun(current_.get());
    inspector_->setRun(current_.get());
}

void MainWindow::onEventsReady()
{
    for (IterationEvent& e : ctl_->takeEvents()) current_->append(e);
    scheduleRefresh();
}

void MainWindow::scheduleRefresh()
{
    if (!refreshTimer_->isActive()) refreshTimer_->start();
}

void MainWindow::refreshNow()
{
    QElapsedTimer t;
    t.start();
    for (RunPlot* p : plots_)
        if (p->isVisible() || !isVisible()) p->refresh();
    inspector_->sync();
    updateProgress();
    slowestRefreshMs_ = std::max(slowestRefreshMs_, t.nsecsElapsed() / 1e6);
}

void MainWindow::updateProgress()
{
    if (current_->empty()) {
        rate_->clear();
        return;
    }
    const Budget& b = current_->events().back().budget;
    // The planned sample count is an estimate (QAlign's proposals, AISP's final decode): a run
    // that finished is 100%.
    const bool done = current_->result() && current_->result()->status == RunStatus::Done;
    const double f = done ? 1.0 : expectedSamples_ > 0 ? std::min(1.0, double(b.samples) / double(expectedSamples_)) : 0;
    progress_->setValue(int(std::lround(f * 100)));
    QString text = QString("%1 samples · %2 tokens").arg(b.samples).arg(b.tokens);
    if (b.seconds > 0) {
        text += QString(" · %1 samples/s · %2 tokens/s").arg(b.samples / b.seconds, 0, 'f', 1).arg(b.tokens / b.seconds, 0, 'f', 0);
        if (running_ && f > 0 && f < 1) text += QString(" · ETA %1 s").arg(b.seconds * (1 - f) / f, 0, 'f', 0);
    }
    rate_->setText(text);
}

void MainWindow::onRunFinished(qint64 runId, const RunResult& r)
{
    onEventsReady();
    current_->setResult(r);
    current_->meta().runId = runId;
    running_ = false;
    method_->setRunning(false);
    refreshTimer_->stop();
    refreshNow();
    if (r.status == RunStatus::Done) progress_->setValue(100);
    statusBar()->showMessage(resultLine(runId, QString::fromStdString(current_->meta().method), r));
    if (auto f = current_->finalSample(0)) inspector_->select(*f);
    try {
        sessions_->reload();
    } catch (const std::exception& e) {
        statusBar()->showMessage(e.what());
    }
    if (r.status == RunStatus::Failed && !rerunWhenStopped_) showError("The run failed", QString::fromStdString(r.message));
    emit runDone(runId, int(r.status));
    if (sweepActive_) {
        sweepView_->reload();
        if (r.status != RunStatus::Done)
            endSweep(r.status == RunStatus::Cancelled ? QString("stopped") : QString::fromStdString(r.message));
        else
            QMetaObject::invokeMethod(this, &MainWindow::nextSweepJob, Qt::QueuedConnection);
        return;
    }
    if (rerunWhenStopped_) {
        rerunWhenStopped_ = false;
        startRun(true);
    }
}

QString MainWindow::openSession(const QString& path)
{
    try {
        // Creating (or upgrading) needs a writer once; the panel then reads.
        if (!QFileInfo::exists(path)) SessionDb::open(path.toStdString());
        const QString e = sessions_->setSession(path);
        if (!e.isEmpty()) return e;
        sweepView_->setSession(path);
        QSettings().setValue("session/path", path);
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}


QString MainWindow::reopenRun(int64_t runId)
{
    if (running_) return "a run is in progress: stop it first";
    try {
        SessionDb db = SessionDb::open(sessions_->sessionPath().toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun s = db.loadRun(runId);
        setCurrent(runFromStore(s));
        currentRunId_ = runId;
        method_->setCurrentMethod(s.row.method);
        method_->setConfig(s.row.method, s.info.config);
        method_->setSeed(s.info.seed);
        refreshNow();
        if (auto f = current_->finalSample(0)) inspector_->select(*f);
        statusBar()->showMessage(resultLine(runId, QString::fromStdString(s.row.method), current_->result().value_or(RunResult{})));
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

QString MainWindow::overlayRuns(const std::vector<int64_t>& runIds)
{
    try {
        SessionDb db = SessionDb::open(sessions_->sessionPath().toStdString(), SessionDb::Mode::ReadOnly);
        overlays_.clear();
        const auto g = sessions_->groupBy();
        for (int64_t id : runIds) {
            const StoredRun s = db.loadRun(id);
            overlays_.push_back(runFromStore(s));
            overlays_.back()->meta().group = SessionsPanel::groupLabel(s.row, g, sessions_->groupKey());
        }
        std::vector<const RunData*> ptrs;
        for (const auto& o : overlays_) ptrs.push_back(o.get());
        rewardPlot_->setOverlays(ptrs);
        statusBar()->showMessage(runIds.size() == 1 ? QString("overlaying 1 run on the reward curves") : QString("overlaying %1 runs on the reward curves").arg(runIds.size()), 5000);
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

QString MainWindow::resumeRun(int64_t runId, bool modelsJustLoaded)
{
    if (running_ || tuning_) return "a run is in progress: stop it first";
    try {
        SessionDb db = SessionDb::open(sessions_->sessionPath().toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun s = db.loadRun(runId, false);
        if (s.row.status == RunStatus::Done) return QString("run %1 is already done").arg(runId);
        const std::string diff = ctl_->modelsReady() ? RunRecorder::modelDifferences(s.info, ctl_->provenance())
                                                     : std::string("no models loaded");
        if (!diff.empty() && modelsJustLoaded)   // the recorded paths hold other models now: no reload loop
            return QString("run %1's models have changed since it ran (%2); it cannot be resumed with the same results")
                .arg(runId)
                .arg(QString::fromStdString(diff));
        if (!diff.empty()) {
            // Resume with the run's own models: load what it recorded, then come back here.
            const RunSources src = RunRecorder::sources(s.info);
            if (src.base.empty() || src.reward.empty())
                return QString("run %1 was started with other models (%2) and does not record where they were; "
                               "load them and resume again")
                    .arg(runId)
                    .arg(QString::fromStdString(diff));
            ModelChoice c = models_->choice();
            // A shared session could name any command or server: never start or contact one that
            // the current choice does not already name without asking, showing what it is.
            QStringList active;
            for (const ActiveSpec& a : activeSpecs(src)) {
                const QString now = a.role == "model" ? c.baseDir : a.role == "reward" ? c.reward : c.gold;
                const QString spec = QString::fromStdString(a.spec);
                // The same server without its "#served-name" is the user's own choice already.
                if (now != spec && now.section('#', 0, 0) != spec.section('#', 0, 0))
                    active << QString::fromStdString(a.role + " " + a.what);
            }
            if (!active.isEmpty()) {
                const QString text = QString("Run %1 of this session was made with models that would start a process or "
                                             "contact a server when loaded:\n\n%2\n\nLoad them and resume?")
                                         .arg(runId)
                                         .arg(active.join("\n"));
                const bool ok = confirmSessionSpecs
                                    ? confirmSessionSpecs(text)
                                    : QMessageBox::question(this, "Resume run", text, QMessageBox::Yes | QMessageBox::No,
                                                            QMessageBox::No) == QMessageBox::Yes;
                if (!ok) return QString("run %1 not resumed: its recorded %2 was not confirmed").arg(runId).arg(active.join("; "));
            }
            c.baseDir = QString::fromStdString(src.base);
            c.tokenizer = QString::fromStdString(src.tokenizer);
            c.reward = QString::fromStdString(src.reward);
            c.gold = QString::fromStdString(src.gold);
            if (!s.info.dtype.empty()) c.dtype = QString::fromStdString(s.info.dtype);
            models_->setChoice(c);
            pendingResume_ = runId;
            loadModels(false);
            statusBar()->showMessage(QString("loading run %1's models to resume it (%2)…")
                                         .arg(runId)
                                         .arg(QString::fromStdString(diff)));
            return {};
        }
        RunJob job;
        job.request = RunRecorder::storedRequest(s);
        job.sessionPath = sessions_->sessionPath();
        job.resumeRunId = runId;
        beginRun(job);
        statusBar()->showMessage(QString("resuming run %1…").arg(runId));
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

QString MainWindow::exportFigure(int plotIndex, const QString& path, const ExportOptions& o)
{
    if (plotIndex >= int(plots_.size())) return "no such plot";
    if (QFileInfo(path).suffix().toLower() == "csv") {
        if (plotIndex < 0) return "CSV export is per plot: choose one";
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return path + ": cannot write";
        f.write(plots_[size_t(plotIndex)]->toCsv(false).toUtf8());
        return {};
    }
    if (plotIndex >= 0) return exportPlot(plots_[size_t(plotIndex)]->plot(), path, o);
    std::vector<QCustomPlot*> all;
    for (RunPlot* p : plots_) all.push_back(p->plot());
    return exportDashboard(all, path, o, 2);
}

void MainWindow::exportInteractive()
{
    QStringList names;
    for (RunPlot* p : plots_) names << p->title();
    int current = 0;
    for (size_t i = 0; i < plots_.size(); ++i)
        if (plots_[i]->isAncestorOf(QApplication::focusWidget())) current = int(i);
    ExportDialog dlg(names, current, this);
    ExportOptions o;
    QString path;
    if (!askExport(dlg, o, path)) return;
    QString err;
    if (dlg.format() == ExportDialog::CsvAll || dlg.format() == ExportDialog::CsvVisible) {
        const int i = dlg.plotIndex() < 0 ? 0 : dlg.plotIndex();
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) err = path + ": cannot write";
        else f.write(plots_[size_t(i)]->toCsv(dlg.format() == ExportDialog::CsvVisible).toUtf8());
    } else {
        err = exportFigure(dlg.plotIndex(), path, o);
    }
    if (!err.isEmpty()) showError("Export failed", err);
    else statusBar()->showMessage("exported " + path, 6000);
}

bool MainWindow::askExport(ExportDialog& dlg, ExportOptions& o, QString& path)
{
    QSettings s;
    o.widthIn = s.value("export/width", o.widthIn).toDouble();
    o.dpi = s.value("export/dpi", o.dpi).toInt();
    o.fontPt = s.value("export/font", o.fontPt).toDouble();
    dlg.setOptions(o);
    if (s.contains("export/format")) dlg.setFormat(ExportDialog::Format(s.value("export/format").toInt()));
    if (dlg.exec() != QDialog::Accepted) return false;
    o = dlg.options();
    s.setValue("export/format", int(dlg.format()));   // the next export starts from the same format
    s.setValue("export/width", o.widthIn);
    s.setValue("export/dpi", o.dpi);
    s.setValue("export/font", o.fontPt);
    const QString base = s.value("export/dir", QDir::homePath()).toString() + "/rudder-figure." + dlg.suffix();
    path = QFileDialog::getSaveFileName(this, "Export to", base, "*." + dlg.suffix());
    if (path.isEmpty()) return false;
    s.setValue("export/dir", QFileInfo(path).path());
    return true;
}

// The sweep view's figure (PDF, SVG, PNG) or its table (CSV).
void MainWindow::exportSweepInteractive()
{
    if (sweepView_->summary().cells.empty()) {
        statusBar()->showMessage("no sweep result to export yet", 5000);
        return;
    }
    ExportDialog dlg({"Sweep: " + sweepView_->currentSweep()}, 0, this);
    ExportOptions o;
    QString path;
    if (!askExport(dlg, o, path)) return;
    QString err;
    if (dlg.format() == ExportDialog::CsvAll || dlg.format() == ExportDialog::CsvVisible) {
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) err = path + ": cannot write";
        else f.write(sweepView_->toCsv().toUtf8());
    } else {
        err = exportPlot(sweepView_->plot(), path, o);
    }
    if (!err.isEmpty()) showError("Export failed", err);
    else statusBar()->showMessage("exported " + path, 6000);
}

void MainWindow::sweepInteractive()
{
    if (running_ || tuning_) {
        statusBar()->showMessage("a run is in progress: stop it first", 5000);
        return;
    }
    SweepDialog dlg(method_->currentMethod(), this);
    QSettings s;
    const QString key = "sweep/" + QString::fromStdString(method_->currentMethod());
    if (s.contains(key)) {
        try {
            const auto j = nlohmann::json::parse(s.value(key).toString().toStdString());
            SweepChoice c;
            c.grids = j.value("grids", std::vector<std::string>{});
            c.seeds = j.value("seeds", 1);
            c.reference = j.value("reference", std::string("bon"));
            c.budgetAxis = j.value("axis", std::string("samples"));
            c.budget = j.value("budget", 256.0);
            dlg.setChoice(c);
        } catch (...) {   // a damaged setting: the dialog's defaults
        }
    }
    if (dlg.exec() != QDialog::Accepted) return;
    const SweepChoice c = dlg.choice();
    s.setValue(key, QString::fromStdString(nlohmann::json{{"grids", c.grids}, {"seeds", c.seeds}, {"reference", c.reference},
                                                          {"axis", c.budgetAxis}, {"budget", c.budget}}.dump()));
    const QString e = startSweep(c);
    if (!e.isEmpty()) showError("Cannot start the sweep", e);
}

QString MainWindow::startSweep(const SweepChoice& c)
{
    if (running_ || tuning_) return "a run is in progress: stop it first";
    if (!ctl_->modelsReady()) return "load the models first (Models panel)";
    try {
        SweepRequest req;
        req.method = method_->currentMethod();
        req.baseConfig = validateConfig(req.method, method_->config());
        for (const auto& g : c.grids) req.axes.push_back(parseSweepAxis(g));
        req.reference = c.reference;
        if (!req.reference.empty()) {
            // The reference as its own tab is set (planSweep gives it the swept method's length).
            req.referenceConfig = validateConfig(req.reference, method_->config(req.reference));
        }
        req.budgetAxis = c.budgetAxis;
        req.budget = c.budget;
        const nlohmann::json& prov = ctl_->provenance();
        req.flopsPerToken = 2.0 * prov.value("base_model", nlohmann::json::object()).value("parameters", 0.0);
        if (req.budgetAxis == "flops" && !(req.flopsPerToken > 0)) return "the loaded model's parameter count is unknown: use the samples or tokens axis";
        req.firstSeed = method_->seed();
        req.seeds = c.seeds;
        req.name = c.name;
        return runPlan(planSweep(req));
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

QString MainWindow::startComparison(const CompareChoice& c)
{
    if (running_ || tuning_) return "a run is in progress: stop it first";
    if (!ctl_->modelsReady()) return "load the models first (Models panel)";
    try {
        // One response length for all, the current method's: the methods differ only in how they
        // spend the budget.
        const int64_t L = validateConfig(method_->currentMethod(), method_->config())["max_new_tokens"].get<int64_t>();
        std::vector<nlohmann::json> configs;
        for (const auto& m : c.methods) {
            nlohmann::json cfg = method_->config(m);
            cfg["max_new_tokens"] = L;
            configs.push_back(validateConfig(m, cfg));
        }
        nlohmann::json ref = method_->config("bon");
        ref["max_new_tokens"] = L;
        const double flops = 2.0 * ctl_->provenance().value("base_model", nlohmann::json::object()).value("parameters", 0.0);
        if (c.budgetAxis == "flops" && !(flops > 0)) return "the loaded model's parameter count is unknown: use the samples or tokens axis";
        return runPlan(planComparison(c.methods, configs, "bon", validateConfig("bon", ref), c.budgetAxis, c.budget, flops,
                                      method_->seed(), c.seeds, c.name));
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

void MainWindow::compareInteractive()
{
    if (running_ || tuning_) {
        statusBar()->showMessage("a run is in progress: stop it first", 5000);
        return;
    }
    int64_t L = 0;
    try {
        L = validateConfig(method_->currentMethod(), method_->config())["max_new_tokens"].get<int64_t>();
    } catch (const std::exception& e) {
        showError("Invalid settings", e.what());
        return;
    }
    CompareDialog dlg(method_->currentMethod(), L, this);
    if (dlg.exec() != QDialog::Accepted) return;
    const QString e = startComparison(dlg.choice());
    if (!e.isEmpty()) showError("Cannot start the comparison", e);
}

QString MainWindow::runPlan(const SweepPlan& plan)
{
    if (sweepActive_) return "a sweep is running: Stop ends it";
    try {
        SessionDb db = SessionDb::open(sessions_->sessionPath().toStdString(), SessionDb::Mode::ReadOnly);
        const auto rows = db.listRuns();
        std::deque<QueuedJob> queue;
        for (const SweepJob& job : plan.jobs) {
            const auto prior = findSweepRun(rows, job, sessions_->sessionPath().toStdString());
            if (prior && prior->status == RunStatus::Done) continue;   // already in the session
            if (prior && prior->status == RunStatus::Running)
                return QString("run %1 of this sweep is being written by another process").arg(prior->id);
            queue.push_back({job, prior ? prior->id : -1});   // an unfinished one continues where it stopped
        }
        sweepQueue_ = std::move(queue);
        sweepName_ = plan.name;
        sweepKeys_ = plan.keys;
        sweepTotal_ = int(plan.jobs.size());
        sweepRunsMade_ = 0;
        sweepPrompts_ = prompt_->promptRecords();
        sweepTemplate_ = prompt_->templateName().toStdString();
        sweepView_->selectSweep(QString::fromStdString(plan.name));
        sweepDock_->raise();
        if (sweepQueue_.empty()) {
            statusBar()->showMessage(QString("\"%1\": every run is already in the session").arg(QString::fromStdString(plan.name)), 8000);
            sweepActive_ = true;   // so that endSweep reports it (and shows a comparison's curves)
            endSweep({});
            return {};
        }
        sweepActive_ = true;
        nextSweepJob();
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

void MainWindow::nextSweepJob()
{
    if (sweepQueue_.empty()) {
        endSweep({});
        return;
    }
    const QueuedJob next = sweepQueue_.front();
    sweepQueue_.pop_front();
    const SweepJob& job = next.job;
    RunJob rj;
    rj.sessionPath = sessions_->sessionPath();
    rj.resumeRunId = next.resumeRunId;
    rj.request.method = job.method;
    rj.request.config = job.config;
    rj.request.seed = job.seed;
    rj.prompts = sweepPrompts_;
    for (const auto& p : sweepPrompts_) rj.request.prompts.push_back(p.text);
    rj.request.prompt_template = sweepTemplate_;
    rj.tags = job.tags;
    ++sweepRunsMade_;
    const int done = sweepTotal_ - int(sweepQueue_.size()) - 1;
    beginRun(rj);
    statusBar()->showMessage(QString("sweep \"%1\": run %2 of %3 — %4 %5, seed %6")
                                 .arg(QString::fromStdString(sweepName_))
                                 .arg(done + 1)
                                 .arg(sweepTotal_)
                                 .arg(QString::fromStdString(job.method),
                                      QString::fromStdString(sweepPointLabel(job.params, sweepKeys_)))
                                 .arg(job.seed));
}

void MainWindow::endSweep(const QString& error)
{
    const bool was = sweepActive_;
    sweepActive_ = false;
    sweepQueue_.clear();
    sweepView_->reload();
    if (!was) return;
    const QString name = QString::fromStdString(sweepName_);
    if (error.isEmpty() && sweepKeys_ == std::vector<std::string>{"method"}) {
        // A comparison: every method's runs, and the reference's, as mean ± se on the reward curves.
        std::vector<int64_t> ids;
        for (const auto& c : sweepView_->summary().cells) ids.insert(ids.end(), c.runs.begin(), c.runs.end());
        if (const auto& r = sweepView_->summary().referenceCell) ids.insert(ids.end(), r->runs.begin(), r->runs.end());
        sessions_->setGroupBy(SessionsPanel::BySweepPoint);
        if (overlayRuns(ids).isEmpty() && curvesDock_) curvesDock_->raise();
    }
    if (error.isEmpty()) statusBar()->showMessage(QString("\"%1\" done: %2 runs").arg(name).arg(sweepRunsMade_), 10000);
    else statusBar()->showMessage(QString("sweep \"%1\" stopped: %2 (its finished points are kept; Sweep… again continues it)").arg(name, error), 15000);
    emit sweepDone(name, sweepRunsMade_, error);
}

void MainWindow::restoreSettings()
{
    QSettings s;
    ModelChoice c;
    c.baseDir = s.value("models/base", QString::fromStdString(demoModelDir())).toString();
    c.tokenizer = s.value("models/tokenizer").toString();
    c.reward = s.value("models/reward", QString::fromStdString(demoRewardDir())).toString();
    c.gold = s.value("models/gold", "lexicon").toString();
    c.device = s.value("models/device", "auto").toString();
    c.dtype = s.value("models/dtype", "auto").toString();
    models_->setRecent(s.value("models/recent").toStringList());
    models_->setChoice(c);
    prompt_->setPrompt(s.value("prompt/text", "In the beginning God created").toString());
    prompt_->setTemplateName(s.value("prompt/template", "auto").toString());
    for (const MethodInfo& m : allMethods()) {
        const QString j = s.value(QString("method/%1").arg(QString::fromStdString(m.id))).toString();
        if (j.isEmpty()) continue;
        try {
            method_->setConfig(m.id, nlohmann::json::parse(j.toStdString()));
        } catch (...) {   // a damaged setting falls back to the defaults
        }
    }
    method_->setCurrentMethod(s.value("method/current", "aisp").toString().toStdString());
    method_->setSeed(s.value("method/seed", 1).toULongLong());
    method_->setLiveTuning(s.value("method/live", false).toBool());
    rewardPlot_->setXAxis(XAxis(s.value("plots/xaxis", 0).toInt()));
    // First start: 1600×1000, or the screen's free area when that is smaller (a 1280×800 laptop).
    if (!restoreGeometry(s.value("window/geometry").toByteArray()))
        resize(screen() ? QSize(1600, 1000).boundedTo(screen()->availableGeometry().size()) : QSize(1600, 1000));
    restoreState(s.value("window/state").toByteArray());
}

void MainWindow::saveSettings()
{
    QSettings s;
    const ModelChoice c = models_->choice();
    s.setValue("models/base", c.baseDir);
    s.setValue("models/tokenizer", c.tokenizer);
    s.setValue("models/reward", c.reward);
    s.setValue("models/gold", c.gold);
    s.setValue("models/device", c.device);
    s.setValue("models/dtype", c.dtype);
    s.setValue("models/recent", models_->recent());
    s.setValue("prompt/text", prompt_->prompt());
    s.setValue("prompt/template", prompt_->templateName());
    for (const MethodInfo& m : allMethods())
        s.setValue(QString("method/%1").arg(QString::fromStdString(m.id)),
                   QString::fromStdString(method_->config(m.id).dump()));
    s.setValue("method/current", QString::fromStdString(method_->currentMethod()));
    s.setValue("method/seed", qulonglong(method_->seed()));
    s.setValue("method/live", method_->liveTuning());
    s.setValue("plots/xaxis", int(rewardPlot_->xAxisKind()));
    s.setValue("window/geometry", saveGeometry());
    s.setValue("window/state", saveState());
}

void MainWindow::closeEvent(QCloseEvent* e)
{
    saveSettings();
    if (running_) ctl_->stop();   // the controller's destructor waits for the run to return
    QMainWindow::closeEvent(e);
}

} // namespace rudder::gui
