// rudder-screenshots OUTDIR: drives the real main window on the demo models (load, BoN, AISP
// mid-run and finished, QAlign, an overlay of two runs) and saves what the window shows at each
// stage as PNG, for docs/ and for looking at the GUI after a change.  Run it under Xvfb
// (scripts/screenshots.sh) to see the window as a user's X server draws it.
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QPixmap>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>

#include "main_window.h"
#include "method_panel.h"
#include "models_panel.h"
#include "plot_export.h"
#include "prompt_panel.h"
#include "rudder/paths.h"
#include "sweep_dialog.h"
#include "sweep_view.h"
#include "reward_curve_plot.h"
#include "sessions_panel.h"

using rudder::gui::MainWindow;

namespace {

// Spins the event loop until `done` or the timeout; false on timeout.
template <class F>
bool waitFor(F done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs) return false;
        QApplication::processEvents(QEventLoop::AllEvents, 50);
    }
    return true;
}

void settle(int ms)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
}

bool shot(MainWindow& w, const QString& dir, const QString& name)
{
    w.refreshNow();
    settle(400);
    const bool ok = w.grab().save(dir + "/" + name);
    std::printf("%s %s\n", ok ? "wrote" : "FAILED to write", qPrintable(dir + "/" + name));
    return ok;
}

void raiseDock(MainWindow& w, const char* objectName)
{
    if (auto* d = w.findChild<QDockWidget*>(objectName)) d->raise();
}

// Loads the Models panel's `c` and waits until the models are ready.
void loadChoice(MainWindow& w, const rudder::widgets::ModelChoice& c, int timeoutMs)
{
    w.modelsPanel()->setChoice(c);
    bool loaded = false;
    auto conn = QObject::connect(w.controller(), &rudder::gui::RunController::modelsLoaded, [&] { loaded = true; });
    w.loadModels(false);
    waitFor([&] { return loaded && w.controller()->modelsReady(); }, timeoutMs);
    QObject::disconnect(conn);
}

// Runs `method` with `config` to the end, brings `dock` to the front and takes the shot.
bool runAndShoot(MainWindow& w, const QString& out, int& runs, const std::string& method, const nlohmann::json& config,
                 const char* dock, const char* name)
{
    w.methodPanel()->setCurrentMethod(method);
    w.methodPanel()->setConfig(method, config);
    const int before = runs;
    w.startRun();
    const bool ok = waitFor([&] { return runs > before; }, 600000);
    raiseDock(w, dock);
    shot(w, out, name);
    return ok;
}

// The base model and the reward behind `rudder-cli serve` (as a GPU box would serve them), a BoN
// run through it.  False when the server does not start or the run fails.
bool remoteStage(MainWindow& w, const QString& out, int& runs)
{
#ifndef RUDDER_HAS_SERVE
    std::fprintf(stderr, "rudder-screenshots: built without cpp-httplib, no served-model shot\n");
    return true;
#endif
    QProcess serve;
    serve.start(RUDDER_CLI_PATH, {"serve", "--port", "0"});
    QString log;
    int port = 0;
    waitFor([&] {
        log += QString::fromUtf8(serve.readAllStandardError());
        const int at = log.indexOf("127.0.0.1:");
        if (at >= 0 && log.indexOf(' ', at) > at) port = log.mid(at + 10).section(' ', 0, 0).toInt();
        return port > 0 || serve.state() == QProcess::NotRunning;
    }, 60000);
    if (port <= 0) return std::fprintf(stderr, "serve: %s\n", qPrintable(log)), false;
    rudder::widgets::ModelChoice c = w.modelsPanel()->choice();
    c.tokenizer = c.baseDir;
    c.baseDir = QString("http://127.0.0.1:%1/v1").arg(port);
    c.reward = QString("http://127.0.0.1:%1/pooling").arg(port);
    loadChoice(w, c, 60000);
    w.methodPanel()->setCurrentMethod("bon");
    w.methodPanel()->setConfig("bon", {{"n", 64}, {"max_new_tokens", 32}});
    const int before = runs;
    w.startRun();
    const bool ok = waitFor([&] { return runs > before; }, 300000);
    shot(w, out, "workbench-remote.png");
    serve.terminate();
    serve.waitForFinished(5000);
    return ok;
}

// A σ × λ sweep of AISP against best-of-n at the same number of samples, with the Sweep view in
// front; its heatmap also exported as a paper figure (PDF and SVG).
bool sweepStage(MainWindow& w, const QString& out)
{
    w.methodPanel()->setCurrentMethod("aisp");
    w.methodPanel()->setConfig("aisp", {{"n", 8}, {"max_new_tokens", 24}});
    w.methodPanel()->setSeed(1);
    rudder::widgets::SweepChoice c;
    c.grids = {"sigma=0.2,0.3,0.5", "lambda=0.1,0.3,1"};   // scale-free: × RMS, × reward std
    c.seeds = 3;
    c.budget = 32;
    bool done = false;
    QString error;
    auto conn = QObject::connect(&w, &MainWindow::sweepDone, [&](QString, int, QString e) {
        done = true;
        error = e;
    });
    if (const QString e = w.startSweep(c); !e.isEmpty()) return std::fprintf(stderr, "sweep: %s\n", qPrintable(e)), false;
    const bool ok = waitFor([&] { return done; }, 900000) && error.isEmpty();
    QObject::disconnect(conn);
    raiseDock(w, "dock-sweep");
    shot(w, out, "workbench-sweep.png");
    // The best point's runs against the reference's, as mean ± se bands on the reward curves (what a
    // click on its cell shows).
    const auto& sum = w.sweepView()->summary();
    if (!sum.cells.empty() && sum.referenceCell) {
        size_t best = 0;
        for (size_t i = 1; i < sum.cells.size(); ++i)
            if (sum.cells[i].proxyStats.mean > sum.cells[best].proxyStats.mean) best = i;
        std::vector<int64_t> ids = sum.cells[best].runs;
        ids.insert(ids.end(), sum.referenceCell->runs.begin(), sum.referenceCell->runs.end());
        w.sessionsPanel()->setGroupBy(rudder::widgets::SessionsPanel::BySweepPoint);
        w.rewardPlot()->setShowGroupMembers(true);
        if (const QString e = w.overlayRuns(ids); !e.isEmpty()) std::fprintf(stderr, "overlay: %s\n", qPrintable(e));
        raiseDock(w, "dock-curves");
        shot(w, out, "workbench-sweep-bands.png");
        w.rewardPlot()->setShowGroupMembers(false);
    }
    rudder::widgets::ExportOptions o;
    o.widthIn = rudder::widgets::ExportOptions::kSingleColumn;
    o.heightIn = 2.6;
    for (const char* f : {"figures/sweep-heatmap.pdf", "figures/sweep-heatmap.svg"}) {
        QDir().mkpath(out + "/figures");
        const QString e = rudder::widgets::exportPlot(w.sweepView()->plot(), out + "/" + f, o);
        std::printf("%s %s\n", e.isEmpty() ? "wrote" : qPrintable("FAILED: " + e), qPrintable(out + "/" + f));
    }
    return ok;
}

// RE-Control: Run with no value model trains one on the prompt first (the Value model view shows
// its losses and calibration), then steers the greedy decode with it.
bool recontrolStage(MainWindow& w, const QString& out, int& runs)
{
    return runAndShoot(w, out, runs, "recontrol", {{"train_samples", 128}, {"train_epochs", 30}, {"max_new_tokens", 32}},
                       "dock-value", "workbench-recontrol.png");
}

} // namespace

// Questions with a checkable answer: the reasoning demo (demo-math-lm, demo-math-rm), four held-out
// arith-test questions, accuracy as the gold (the Dataset tab's reference field), a QAlign run with
// the Answers view in front.
bool accuracyStage(MainWindow& w, const QString& out, int& runs)
{
    const QString models = QString::fromStdString(rudder::resourcesDir()) + "/models";
    if (!QFileInfo::exists(models + "/demo-math-lm/config.json")) return std::fprintf(stderr, "no demo-math-lm\n"), false;
    auto* prompt = w.promptPanel();
    if (const QString e = prompt->openDataset(QString::fromStdString(rudder::resourcesDir()) + "/prompts/arith-test.jsonl",
                                              "question");
        !e.isEmpty())
        return std::fprintf(stderr, "dataset: %s\n", qPrintable(e)), false;
    prompt->selectDatasetRows({7, 9, 19, 21});   // questions the LM gets right about half the time
    prompt->setAnswerGold("answer:answer");
    rudder::widgets::ModelChoice c = w.modelsPanel()->choice();
    c.baseDir = models + "/demo-math-lm";
    c.reward = models + "/demo-math-rm";
    c.gold = "answer:answer";
    loadChoice(w, c, 120000);
    return runAndShoot(w, out, runs, "qalign", {{"chains", 4}, {"steps", 32}, {"max_new_tokens", 128}}, "dock-answers",
                       "workbench-accuracy.png");
}

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("RudderScreenshots");   // leaves the user's settings alone
    QApplication::setApplicationName("rudder-screenshots");
    QSettings().clear();
    if (argc < 2) {
        std::fprintf(stderr, "usage: rudder-screenshots OUTDIR [remote|sweep|recontrol|accuracy|laptop|wide]\n");
        return 2;
    }
    const bool onlyRemote = argc > 2 && QString(argv[2]) == "remote";
    const bool onlySweep = argc > 2 && QString(argv[2]) == "sweep";
    const bool onlyRecontrol = argc > 2 && QString(argv[2]) == "recontrol";
    const bool onlyAccuracy = argc > 2 && QString(argv[2]) == "accuracy";
    // laptop / wide: the window on a 1280×800 and a 1920×1080 screen (minus a desktop panel),
    // after a short AISP run: every dock must be there and readable.
    const QString size = argc > 2 ? QString(argv[2]) : QString();
    const QSize windowSize = size == "laptop" ? QSize(1280, 740) : size == "wide" ? QSize(1920, 1020) : QSize(1600, 1000);
    const QString out = QString::fromLocal8Bit(argv[1]);
    QDir().mkpath(out);
    QTemporaryDir tmp;
    MainWindow w(tmp.filePath("screenshots.rudder"));
    w.resize(windowSize);
    w.show();
    bool loaded = false, failed = false;
    QObject::connect(w.controller(), &rudder::gui::RunController::modelsLoaded, [&] { loaded = true; });
    QObject::connect(w.controller(), &rudder::gui::RunController::loadFailed, [&] { failed = true; });
    w.loadModels(true);
    if (!waitFor([&] { return loaded || failed; }, 120000) || failed) {
        shot(w, out, "workbench-load-failed.png");
        std::fprintf(stderr, "rudder-screenshots: the models did not load\n");
        return 1;
    }
    waitFor([&] { return w.controller()->modelsReady(); }, 5000);   // set when the queued signal lands
    settle(500);
    shot(w, out, "workbench-start.png");

    int runs = 0;
    QObject::connect(&w, &MainWindow::runDone, [&] { ++runs; });
    if (onlyRemote) return remoteStage(w, out, runs) ? 0 : 1;
    if (onlySweep) return sweepStage(w, out) ? 0 : 1;
    if (onlyRecontrol) return recontrolStage(w, out, runs) ? 0 : 1;
    if (onlyAccuracy) return accuracyStage(w, out, runs) ? 0 : 1;
    if (size == "laptop" || size == "wide") {
        w.methodPanel()->setCurrentMethod("aisp");
        w.methodPanel()->setConfig("aisp", {{"n", 16}, {"iterations", 6}, {"max_new_tokens", 32}, {"base_samples", 64}});
        const int before = runs;
        w.startRun();
        if (!waitFor([&] { return runs > before; }, 300000)) return 1;
        settle(500);
        return shot(w, out, size == "laptop" ? "workbench-1280x800.png" : "workbench-1920x1080.png") ? 0 : 1;
    }
    auto run = [&](const std::string& method, const nlohmann::json& cfg) {
        w.methodPanel()->setCurrentMethod(method);
        w.methodPanel()->setConfig(method, cfg);
        const int before = runs;
        w.startRun();
        return before;
    };

    // BoN, finished.
    int before = run("bon", {{"n", 128}, {"max_new_tokens", 32}});
    if (!waitFor([&] { return runs > before; }, 300000)) return 1;
    const int64_t bonRun = w.currentRunId();
    shot(w, out, "workbench-bon.png");

    // AISP: once while it runs, once finished.
    before = run("aisp", {{"n", 32}, {"iterations", 8}, {"max_new_tokens", 32}});
    waitFor([&] { return w.current().events().size() >= 3 || runs > before; }, 300000);
    shot(w, out, "workbench-aisp-running.png");
    if (!waitFor([&] { return runs > before; }, 300000)) return 1;
    const int64_t aispRun = w.currentRunId();
    shot(w, out, "workbench-aisp.png");

    // QAlign with its acceptance plot in front.
    before = run("qalign", {{"chains", 4}, {"steps", 48}, {"max_new_tokens", 32}});
    if (!waitFor([&] { return runs > before; }, 300000)) return 1;
    raiseDock(w, "dock-acceptance");
    shot(w, out, "workbench-qalign.png");

    // The AISP run reopened from the session, BoN overlaid, with the run list in front.
    if (const QString e = w.reopenRun(aispRun); !e.isEmpty()) std::fprintf(stderr, "reopen: %s\n", qPrintable(e));
    raiseDock(w, "dock-sessions");
    const QString err = w.overlayRuns({bonRun});
    if (!err.isEmpty()) std::fprintf(stderr, "overlay: %s\n", qPrintable(err));
    shot(w, out, "workbench-overlay.png");
    if (!sweepStage(w, out)) return 1;
    if (!recontrolStage(w, out, runs)) return 1;
    if (!remoteStage(w, out, runs)) return 1;
    return accuracyStage(w, out, runs) ? 0 : 1;
}
