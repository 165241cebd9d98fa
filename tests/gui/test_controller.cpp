// Drives the real controller from the GUI's own actions on the demo models: BoN and AISP runs
// reach the plots and the session; Stop cancels within a second; the window never blocks.
#include <QtTest>

#include <signal.h>

#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>

#include <qcustomplot.h>

#include "main_window.h"
#include "method_panel.h"
#include "models_panel.h"
#include "prompt_panel.h"
#include "reward_curve_plot.h"
#include "cli_process.h"
#include "rudder/paths.h"
#include "rudder/methods.h"
#include "rudder/run_recorder.h"
#include "rudder/session_db.h"
#include "sample_inspector.h"
#include "sessions_panel.h"
#include "sweep_dialog.h"
#include "sweep_view.h"
#include "value_model_view.h"
#include "weight_histogram_plot.h"
#include "plot_export.h"

using namespace rudder;

namespace {
bool waitFor(QSignalSpy& spy, int ms)
{
    return spy.count() > 0 || spy.wait(ms);
}

using testing::cli;
using testing::kCli;
using testing::storedIterations;
using Cli = testing::CliResult;
// "prompt|reward|text" of each final answer, for comparing runs.
const auto answers = testing::finalTexts;

} // namespace

class TestController : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("RudderTest");
        QCoreApplication::setApplicationName("test_controller");
        QSettings().clear();
        if (!QFileInfo::exists(QString::fromStdString(demoModelDir()) + "/config.json"))
            QFAIL("resources/models/demo-lm is missing (the demo models ship with Rudder)");
        QVERIFY(dir_.isValid());
        w_ = std::make_unique<gui::MainWindow>(dir_.filePath("s.rudder"));
        w_->resize(1400, 900);
        w_->show();
        widgets::ModelChoice c;
        c.baseDir = QString::fromStdString(demoModelDir());
        c.reward = QString::fromStdString(demoRewardDir());
        c.gold = "lexicon";
        c.device = "cpu";
        w_->modelsPanel()->setChoice(c);
        QSignalSpy loaded(w_->controller(), &gui::RunController::modelsLoaded);
        QSignalSpy failed(w_->controller(), &gui::RunController::loadFailed);
        w_->loadModels();
        QTRY_VERIFY_WITH_TIMEOUT(loaded.count() + failed.count() > 0, 120000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][0].toString()));
        // The spy hears the worker's signal at once; the controller marks the models ready when
        // the queued copy reaches the GUI thread.  Run before that would be refused.
        QTRY_VERIFY_WITH_TIMEOUT(w_->controller()->modelsReady(), 5000);
        w_->promptPanel()->setPrompt("In the beginning God created");
    }

    void bonRunReachesPlotsAndSession()
    {
        auto* m = w_->methodPanel();
        m->setCurrentMethod("bon");
        m->setConfig("bon", {{"n", 8}, {"batch", 4}, {"max_new_tokens", 8}});
        m->setSeed(5);
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        m->runButton()->click();   // the GUI's own action
        QVERIFY(waitFor(done, 120000));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Done));
        const int64_t id = done[0][0].toLongLong();
        QCOMPARE(w_->current().events().size(), size_t(2));
        QCOMPARE(w_->current().sampleCount(), size_t(8));
        // Plots received data: mean@k has one point per batch, gold is shown beside the proxy.
        QCustomPlot* p = w_->rewardPlot()->plot();
        QCPGraph* mean = nullptr;
        bool gold = false;
        for (int i = 0; i < p->graphCount(); ++i) {
            if (p->graph(i)->name() == "mean@k") mean = p->graph(i);
            if (p->graph(i)->name().startsWith("gold")) gold = gold || p->graph(i)->dataCount() > 0;
        }
        QVERIFY(mean);
        QCOMPARE(mean->dataCount(), 2);
        QVERIFY(gold);
        // Smoothing adds a moving average and never hides the raw mean@k.
        const int graphs = p->graphCount();
        w_->rewardPlot()->setSmoothing(true);
        QCOMPARE(p->graphCount(), graphs + 1);
        QVERIFY(w_->rewardPlot()->toCsv(false).contains("\"mean@k\","));
        QVERIFY(w_->rewardPlot()->toCsv(false).contains("mean@k, moving average (5)"));
        w_->rewardPlot()->setSmoothing(false);
        QCOMPARE(w_->inspector()->model()->rowCount(), 8);
        QVERIFY(w_->current().finalSample(0).has_value());
        // The session holds the run.
        SessionDb db = SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun s = db.loadRun(id);
        QCOMPARE(s.row.status, RunStatus::Done);
        QCOMPARE(s.iterations.size(), size_t(2));
        QCOMPARE(s.final.size(), size_t(1));
        QCOMPARE(s.info.seed, uint64_t(5));
        QVERIFY(w_->sessionsPanel()->rows().size() >= 1);
        bonRun_ = id;
    }

    void aispRunHasWeights()
    {
        auto* m = w_->methodPanel();
        m->setCurrentMethod("aisp");
        m->setConfig("aisp", {{"n", 4}, {"iterations", 3}, {"max_new_tokens", 8}});
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        w_->startRun();
        QVERIFY(waitFor(done, 120000));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Done));
        QCOMPARE(w_->current().events().size(), size_t(3));
        QCOMPARE(w_->current().sampleCount(), size_t(12));
        QVERIFY(w_->current().events()[0].samples[0].weight.has_value());
        auto* wp = qobject_cast<widgets::WeightHistogramPlot*>(w_->plots()[2]);
        QVERIFY(wp);
        QVERIFY(wp->currentEss() >= 1.0 - 1e-9 && wp->currentEss() <= 4.0 + 1e-9);
        // Reopening it shows the same plotted data.
        std::vector<QString> csv;
        for (auto* p : w_->plots()) csv.push_back(p->toCsv(false));
        QCOMPARE(w_->reopenRun(done[0][0].toLongLong()), QString());
        for (size_t i = 0; i < csv.size(); ++i) QCOMPARE(w_->plots()[i]->toCsv(false), csv[i]);
        QVERIFY(w_->slowestRefreshMs() < 1000);   // generous: the budget is in the benchmark
    }

    // A sweep from the GUI: the grid x seeds and the reference run one after another as tagged
    // runs of the session, the Sweep view pools them (line for one parameter, heatmap for two),
    // a click asks for a point's runs, the figure exports, and the same sweep again runs nothing.
    void sweepFromTheGui()
    {
        auto* m = w_->methodPanel();
        m->setCurrentMethod("aisp");
        m->setConfig("aisp", {{"n", 4}, {"max_new_tokens", 6}});
        m->setSeed(3);
        widgets::SweepChoice c;
        c.grids = {"sigma=1,4"};
        c.seeds = 2;
        c.reference = "bon";
        c.budget = 8;
        QSignalSpy swept(w_.get(), &gui::MainWindow::sweepDone);
        QCOMPARE(w_->startSweep(c), QString());
        QVERIFY(w_->sweepRunning());
        QVERIFY(!m->sweepButton()->isEnabled());
        QVERIFY(waitFor(swept, 240000));
        QCOMPARE(swept[0][2].toString(), QString());
        QCOMPARE(swept[0][1].toInt(), 6);   // (bon + 2 points) x 2 seeds
        QVERIFY(m->sweepButton()->isEnabled());
        auto* v = w_->sweepView();
        const QString name = v->currentSweep();
        QCOMPARE(name, QString("aisp sigma samples=8"));
        QCOMPARE(v->summary().cells.size(), size_t(2));
        QVERIFY(v->summary().referenceCell.has_value());
        QCOMPARE(v->summary().cells[0].proxy.size(), size_t(2));   // 1 prompt x 2 seeds
        QVERIFY(v->summary().cells[0].proxyVsRef.has_value());
        SessionDb db = SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly);
        int tagged = 0;
        for (const auto& row : db.listRuns()) {
            if (!row.tags.contains("sweep") || row.tags["sweep"]["name"] != name.toStdString()) continue;
            ++tagged;
            if (row.method == "aisp") QCOMPARE(row.config["iterations"].get<int>(), 2);   // 8 samples = 4 x 2
            else QCOMPARE(row.config["n"].get<int>(), 8);
            QCOMPARE(row.config["max_new_tokens"].get<int>(), 6);   // the reference decodes as long
        }
        QCOMPARE(tagged, 6);
        // One parameter: the points with error bars over the reference's band.
        QCustomPlot* p = v->plot();
        QVERIFY(p->graphCount() >= 2);
        QCOMPARE(p->graph(0)->dataCount(), 2);
        QCOMPARE(v->toCsv().count('\n'), 1 + 2 + 1);   // header, 2 points, the reference
        // A click on the second point asks for its runs and the reference's.
        QSignalSpy asked(v, &widgets::SweepView::runsRequested);
        const QPoint px(int(p->xAxis->coordToPixel(1)), int(p->yAxis->coordToPixel(v->summary().cells[1].proxyStats.mean)));
        QTest::mouseClick(p, Qt::LeftButton, {}, px);
        QCOMPARE(asked.count(), 1);
        QCOMPARE(asked[0][0].value<std::vector<int64_t>>().size(), size_t(4));
        // ... which the reward curves draw as two groups, each its mean ± se over the 2 seeds.
        QStringList names;
        QCustomPlot* rp = w_->rewardPlot()->plot();
        for (int i = 0; i < rp->graphCount(); ++i) names << rp->graph(i)->name();
        QVERIFY2(names.contains("aisp sigma=4 (2 runs): best so far, mean ± se"), qPrintable(names.join(" | ")));
        QVERIFY2(names.contains("bon (reference) (2 runs): best so far, mean ± se"), qPrintable(names.join(" | ")));
        const int before = rp->graphCount();
        w_->rewardPlot()->setShowGroupMembers(true);   // every run behind its band
        QCOMPARE(rp->graphCount(), before + 4);
        w_->rewardPlot()->setShowGroupMembers(false);
        // Min–max instead of ± se: the band's edges are the runs' extremes, the CSV carries them.
        w_->rewardPlot()->setBandMinMax(true);
        QVERIFY(w_->rewardPlot()->toCsv(false).contains("aisp sigma=4 (2 runs): best so far, upper edge"));
        QVERIFY(w_->rewardPlot()->toCsv(false).contains("best so far, mean min–max"));
        w_->rewardPlot()->setBandMinMax(false);
        QCOMPARE(v->cellAt(0, 0), 0);
        QCOMPARE(v->cellAt(5, 0), -1);
        for (const char* f : {"sweep.svg", "sweep.pdf", "sweep.png"}) {
            QCOMPARE(widgets::exportPlot(p, dir_.filePath(f), widgets::ExportOptions{}), QString());
            QVERIFY(QFileInfo(dir_.filePath(f)).size() > 1000);
        }
        // The same sweep again: every point is in the session already.
        swept.clear();
        QCOMPARE(w_->startSweep(c), QString());
        QVERIFY(waitFor(swept, 5000));
        QCOMPARE(swept[0][1].toInt(), 0);
        // Two parameters: a heatmap with one labelled cell per point.
        c.grids = {"sigma=1,4", "lambda=0.01,0.1"};
        c.seeds = 1;
        swept.clear();
        QCOMPARE(w_->startSweep(c), QString());
        QVERIFY(waitFor(swept, 240000));
        QCOMPARE(swept[0][1].toInt(), 5);
        QCOMPARE(v->summary().cells.size(), size_t(4));
        bool heatmap = false;
        for (int i = 0; i < p->plottableCount(); ++i) heatmap = heatmap || qobject_cast<QCPColorMap*>(p->plottable(i));
        QVERIFY(heatmap);
        QCOMPARE(p->itemCount(), 4);
        QCOMPARE(v->cellAt(1, 1), 3);   // sigma=4 (row 1), lambda=0.1 (column 1)
        // A bad grid is refused before anything runs.
        c.grids = {"sigma=1,,4"};
        QVERIFY(!w_->startSweep(c).isEmpty());
        QVERIFY(!w_->sweepRunning());
    }

    // Methods compared at a matched budget over seeds: one run per method x seed plus best-of-n,
    // then the reward curves show each method's best-so-far mean ± se (the GUI's `compare`).
    void compareFromTheGui()
    {
        auto* m = w_->methodPanel();
        m->setCurrentMethod("aisp");
        m->setConfig("aisp", {{"n", 4}, {"max_new_tokens", 6}});
        m->setSeed(11);
        widgets::CompareChoice c;
        c.methods = {"aisp", "wmv"};
        c.seeds = 2;
        c.budget = 8;
        QSignalSpy swept(w_.get(), &gui::MainWindow::sweepDone);
        QCOMPARE(w_->startComparison(c), QString());
        QVERIFY(waitFor(swept, 240000));
        QCOMPARE(swept[0][2].toString(), QString());
        QCOMPARE(swept[0][1].toInt(), 6);
        const auto& s = w_->sweepView()->summary();
        QCOMPARE(s.cells.size(), size_t(2));
        QCOMPARE(s.method, std::string("aisp, wmv"));
        QCOMPARE(s.cells[1].params["method"].get<std::string>(), std::string("wmv"));
        QStringList names;
        QCustomPlot* rp = w_->rewardPlot()->plot();
        for (int i = 0; i < rp->graphCount(); ++i) names << rp->graph(i)->name();
        for (const char* g : {"aisp (2 runs): best so far, mean ± se", "wmv (2 runs): best so far, mean ± se",
                              "bon (reference) (2 runs): best so far, mean ± se"})
            QVERIFY2(names.contains(g), qPrintable(names.join(" | ")));
        // Every method decoded as long, and spent the same budget.
        SessionDb db = SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly);
        for (const auto& row : db.listRuns())
            if (row.tags.contains("sweep") && row.tags["sweep"]["name"] == s.name) {
                QCOMPARE(row.config["max_new_tokens"].get<int>(), 6);
                QCOMPARE(db.loadRun(row.id, false).budget.samples, int64_t(row.method == "aisp" ? 9 : 8));   // AISP's final decode
            }
        c.methods = {"bon"};
        QVERIFY(!w_->startComparison(c).isEmpty());   // the reference is not compared with itself
    }

    void stopCancelsWithinASecond()
    {
        auto* m = w_->methodPanel();
        m->setCurrentMethod("bon");
        m->setConfig("bon", {{"n", 4096}, {"batch", 4}, {"max_new_tokens", 64}});
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        QSignalSpy events(w_->controller(), &gui::RunController::eventsReady);
        w_->startRun();
        QVERIFY(events.wait(60000));   // it is really running
        QElapsedTimer t;
        t.start();
        m->stopButton()->click();
        QVERIFY(waitFor(done, 5000));
        QVERIFY2(t.elapsed() < 1000, qPrintable(QString("stop took %1 ms").arg(t.elapsed())));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Cancelled));
        SessionDb db = SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly);
        QCOMPARE(db.loadRun(done[0][0].toLongLong(), false).row.status, RunStatus::Cancelled);
        QVERIFY(m->runButton()->isEnabled());
    }

    void badModelDirectoryIsReportedNotFatal()
    {
        widgets::ModelChoice c = w_->modelsPanel()->choice();
        const widgets::ModelChoice good = c;
        c.baseDir = dir_.filePath("no-such-model");
        w_->modelsPanel()->setChoice(c);
        QSignalSpy failed(w_->controller(), &gui::RunController::loadFailed);
        w_->loadModels();
        QVERIFY(waitFor(failed, 30000));
        QVERIFY2(failed[0][0].toString().contains("no-such-model"), qPrintable(failed[0][0].toString()));
        // The spy hears the worker's signal at once; the panel updates when the queued copy
        // reaches the GUI thread.
        QTRY_VERIFY2_WITH_TIMEOUT(w_->modelsPanel()->statusText().contains("no-such-model"),
                                  qPrintable(w_->modelsPanel()->statusText()), 5000);
        // And back to working models.
        w_->modelsPanel()->setChoice(good);
        QSignalSpy loaded(w_->controller(), &gui::RunController::modelsLoaded);
        w_->loadModels();
        QVERIFY(waitFor(loaded, 120000));
        QTRY_VERIFY_WITH_TIMEOUT(w_->controller()->modelsReady(), 5000);
    }

    // QAlign's "Tune β" button: pilot chains on the worker, then β in absolute units on the panel,
    // and the acceptance it was tuned for roughly met by a run with it.
    void tuneBetaSetsAnAbsoluteBeta()
    {
        auto* m = w_->methodPanel();
        m->setCurrentMethod("qalign");
        m->setConfig("qalign", {{"chains", 2}, {"steps", 8}, {"max_new_tokens", 8}, {"scale", 1}, {"beta", 0.5}});
        QSignalSpy tuned(w_.get(), &gui::MainWindow::betaTuned);
        QCOMPARE(w_->tuneBeta(0.5), QString());
        QVERIFY(!m->runButton()->isEnabled());   // the worker is busy
        QVERIFY(waitFor(tuned, 120000));
        const double beta = tuned[0][0].toDouble();
        QVERIFY2(beta > 1e-3 && beta < 1e2, qPrintable(QString::number(beta)));
        QCOMPARE(m->config("qalign")["scale"].get<int64_t>(), int64_t(0));
        QVERIFY(std::abs(m->config("qalign")["beta"].get<double>() - beta) <= 1e-6 * beta + 1e-3);
        QVERIFY(m->runButton()->isEnabled());
        // Only QAlign has acceptance to tune for.
        m->setCurrentMethod("bon");
        QVERIFY(!w_->tuneBeta(0.5).isEmpty());
    }

    // RE-Control in the GUI: "Train value model" trains on the worker (the Value model view shows
    // the epochs, then the record), the panel uses the file, a Run with the same settings reuses
    // it and stores its name in the run's config; Stop mid-training and Train again continues.
    void reControlTrainsAndRunsInTheGui()
    {
        auto* m = w_->methodPanel();
        m->setCurrentMethod("recontrol");
        m->setValueModel(QString(), QString());
        m->setConfig("recontrol", {{"train_samples", 4}, {"train_epochs", 3}, {"max_new_tokens", 6}, {"steps", 3}});
        QSignalSpy ready(w_.get(), &gui::MainWindow::valueModelReady);
        QSignalSpy progress(w_->controller(), &gui::RunController::valueProgress);
        QCOMPARE(w_->trainValue(), QString());
        QVERIFY(!m->runButton()->isEnabled());
        QVERIFY(waitFor(ready, 120000));
        const QString path = ready[0][0].toString();
        QVERIFY2(!path.isEmpty(), qPrintable(ready[0][1].toString()));
        QVERIFY(path.contains("s.values/value-"));
        QCOMPARE(m->valueModel(), QString());   // shown, not pinned: the Run finds it by its key
        int epochs = 0;
        for (const auto& p : progress) epochs += p[0].toString() == "train";
        QCOMPARE(epochs, 3);
        QVERIFY2(w_->valueView()->caption().contains("4 responses to 1 prompts"), qPrintable(w_->valueView()->caption()));
        QVERIFY(m->runButton()->isEnabled());
        // Run: the same settings find that file again (nothing trained), recorded in the run's config.
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        w_->startRun();
        QVERIFY(waitFor(done, 120000));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Done));
        auto db = SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun run = db.loadRun(done[0][0].toLongLong(), false);
        QCOMPARE(QString::fromStdString(run.info.config.value("value_model", std::string())), path);
        QCOMPARE(ready.count(), 2);   // the run's own announcement: the same file, reused
        QCOMPARE(ready[1][0].toString(), path);
        // Other training settings: stopped at once, then Train again finishes.
        m->setConfig("recontrol", {{"train_epochs", 40}, {"train_samples", 8}});
        ready.clear();
        QCOMPARE(w_->trainValue(), QString());
        w_->stopRun();
        QVERIFY(waitFor(ready, 120000));
        QVERIFY2(ready[0][0].toString().isEmpty() && ready[0][1].toString().contains("cancelled"),
                 qPrintable(ready[0][1].toString()));
        QVERIFY(m->runButton()->isEnabled());
        ready.clear();
        QCOMPARE(w_->trainValue(), QString());
        QVERIFY(waitFor(ready, 120000));
        QVERIFY2(!ready[0][0].toString().isEmpty() && ready[0][0].toString() != path, qPrintable(ready[0][1].toString()));
        QCOMPARE(Workbench::readValueModel(ready[0][0].toString().toStdString()).train_loss.size(), size_t(40));
        // Stop while a Run trains its value model first: nothing recorded, the view says so.
        m->setConfig("recontrol", {{"train_epochs", 7}});
        ready.clear();
        done.clear();
        const size_t runsBefore = db.listRuns().size();
        w_->startRun();
        w_->stopRun();
        QVERIFY(waitFor(done, 120000));
        QCOMPARE(done[0][0].toLongLong(), qlonglong(-1));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Cancelled));
        QVERIFY(!ready.isEmpty() && ready[0][0].toString().isEmpty());
        QVERIFY2(w_->valueView()->caption().startsWith("Training stopped"), qPrintable(w_->valueView()->caption()));
        QCOMPARE(SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly).listRuns().size(), runsBefore);
        QVERIFY(m->runButton()->isEnabled());
    }

    // One recorder for both front ends.  A run started in the GUI and stopped after its
    // first iteration resumes in rudder-cli; a run started in rudder-cli and killed mid-run resumes
    // in the GUI, which first loads the run's own models (others are loaded).  Both end with the
    // answers of an uninterrupted CLI run.
    void guiRunResumesInTheCli()
    {
        const QString session = dir_.filePath("s.rudder");
        auto* m = w_->methodPanel();
        m->setCurrentMethod("bon");
        m->setConfig("bon", {{"n", 6}, {"batch", 2}, {"max_new_tokens", 6}});
        m->setSeed(9);
        w_->promptPanel()->setPrompt("In the beginning God created");
        // Stop from the worker thread as the first event is queued: the run ends after exactly
        // one iteration, whatever the machine's speed.
        auto* ctl = w_->controller();
        auto stopper = connect(ctl, &gui::RunController::eventsReady, ctl, [ctl] { ctl->stop(); }, Qt::DirectConnection);
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        w_->startRun();
        QVERIFY(waitFor(done, 120000));
        disconnect(stopper);
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Cancelled));
        const qint64 id = done[0][0].toLongLong();
        {
            SessionDb db = SessionDb::open(session.toStdString(), SessionDb::Mode::ReadOnly);
            const StoredRun s = db.loadRun(id, false);
            QCOMPARE(s.row.iterations, int64_t(1));
            // The GUI records what the CLI needs to load the models again.
            QVERIFY(!s.info.reward_model.value("spec", std::string()).empty());
            QCOMPARE(s.info.gold.value("spec", std::string()), std::string("lexicon"));
            QVERIFY(!s.info.versions.empty());
        }
        const Cli resumed = cli({"run", "--db", session, "--resume", QString::number(id), "--json"}, {}, 180000);
        QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
        const Cli whole = cli({"run", "--method", "bon", "--db", dir_.filePath("whole.rudder"), "--seed", "9",
                               "--prompt", "In the beginning God created", "--set", "n=6", "--set", "batch=2",
                               "--set", "max_new_tokens=6", "--json"},
                               {}, 180000);
        QVERIFY2(whole.code == 0, qPrintable(whole.err));
        QCOMPARE(answers(resumed.json()), answers(whole.json()));
        QCOMPARE(resumed.json()["status"].get<std::string>(), std::string("done"));
    }

    void cliRunResumesInTheGuiWithItsOwnModels()
    {
        const QString session = dir_.filePath("cli.rudder");
        const QStringList args = {"run", "--method", "bon", "--reward", "lexicon", "--gold", "none", "--seed", "11",
                                  "--prompt", "In the beginning", "--prompt", "And the LORD said", "--set", "n=20",
                                  "--set", "batch=1", "--set", "max_new_tokens=6", "--json", "--db"};
        const Cli whole = cli(args + QStringList{dir_.filePath("cli-whole.rudder")}, {}, 180000);
        QVERIFY2(whole.code == 0, qPrintable(whole.err));
        // Killed mid-run (40 iterations in all).
        QProcess p;
        p.start(kCli, args + QStringList{session});
        QVERIFY(p.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(storedIterations(session, 1) >= 3, 60000);
        ::kill(pid_t(p.processId()), SIGKILL);
        QVERIFY(p.waitForFinished());
        QVERIFY(storedIterations(session, 1) < 40);
        // The GUI has the demo RM loaded; the run used the lexicon reward and no gold.
        QVERIFY(w_->controller()->provenance()["reward_model"].value("spec", std::string()) != "lexicon");
        QCOMPARE(w_->openSession(session), QString());
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        QCOMPARE(w_->resumeRun(1), QString());
        QVERIFY(waitFor(done, 120000));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Done));
        QCOMPARE(w_->modelsPanel()->choice().reward, QString("lexicon"));
        QCOMPARE(w_->modelsPanel()->choice().gold, QString());
        SessionDb db = SessionDb::open(session.toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun s = db.loadRun(1);
        QCOMPARE(s.row.status, RunStatus::Done);
        QCOMPARE(s.iterations.size(), size_t(40));
        nlohmann::json fin = nlohmann::json::array();
        for (const auto& f : s.final) fin.push_back({{"prompt_index", f.prompt_index}, {"text", f.text}, {"reward", f.reward}});
        QCOMPARE(answers({{"final", fin}}), answers(whole.json()));
        QCOMPARE(w_->openSession(dir_.filePath("s.rudder")), QString());
    }

    // A run whose recorded model has changed on disk since (other weights at the same path): the
    // GUI loads the recorded models once, finds them still different, and says so — no reload loop.
    void resumeWithChangedModelsIsRefusedOnce()
    {
        const QString session = dir_.filePath("changed.rudder");
        {
            SessionDb db = SessionDb::open(session.toStdString());
            RunRequest req;
            req.method = "bon";
            req.config = validateConfig("bon", {{"n", 4}, {"batch", 2}, {"max_new_tokens", 4}});
            req.prompts = {"In the beginning"};
            nlohmann::json base = {{"spec", demoModelDir()}, {"directory", demoModelDir()},
                                   {"weights_fingerprint", "0000not-the-demo-weights"}, {"config_sha256", "x"}};
            RunRecorder rec = RunRecorder::start(db, req, {{"base_model", base}, {"reward_model", {{"spec", "lexicon"}}}});
            RunResult r;
            r.status = RunStatus::Cancelled;
            rec.finish(r);
        }
        QCOMPARE(w_->openSession(session), QString());
        QSignalSpy after(w_.get(), &gui::MainWindow::resumeAfterLoad);
        QSignalSpy loaded(w_->controller(), &gui::RunController::modelsLoaded);
        QCOMPARE(w_->resumeRun(1), QString());   // loads the recorded models first
        QVERIFY(waitFor(after, 120000));
        QVERIFY2(after[0][1].toString().contains("changed since it ran"), qPrintable(after[0][1].toString()));
        QTest::qWait(500);
        QCOMPARE(loaded.count(), 1);   // loaded once, not again and again
        QCOMPARE(after.count(), 1);
    }

    // A shared session whose run records a command as its reward: resuming asks first, showing the
    // command, and a "No" starts nothing.
    void resumeAsksBeforeRunningASessionsCommand()
    {
        const QString session = dir_.filePath("tampered.rudder"), marker = dir_.filePath("pwned");
        const std::string spec = "cmd:touch " + marker.toStdString() + "; while read l; do echo 0.5; done";
        {
            SessionDb db = SessionDb::open(session.toStdString());
            RunRequest req;
            req.method = "bon";
            req.config = validateConfig("bon", {{"n", 4}, {"batch", 2}, {"max_new_tokens", 4}});
            req.prompts = {"In the beginning"};
            RunRecorder rec = RunRecorder::start(db, req, {{"base_model", {{"spec", demoModelDir()}}}, {"reward_model", {{"spec", spec}}}});
            RunResult r;
            r.status = RunStatus::Cancelled;
            rec.finish(r);
        }
        QCOMPARE(w_->openSession(session), QString());
        QString asked;
        w_->confirmSessionSpecs = [&](const QString& text) { asked = text; return false; };
        const QString e = w_->resumeRun(1);
        w_->confirmSessionSpecs = nullptr;
        QVERIFY2(e.contains("not confirmed"), qPrintable(e));
        QVERIFY2(asked.contains("runs the command") && asked.contains(marker), qPrintable(asked));
        QTest::qWait(200);
        QVERIFY(!QFile::exists(marker));
    }

    // A serving engine as the base model from the GUI: the URL in the model field shows the
    // tokenizer row; a BoN run through `rudder-cli serve` has the answers of the local CLI run.
    void remoteBaseModelRunsInTheGui()
    {
#ifndef RUDDER_HAS_SERVE
        QSKIP("built without cpp-httplib: no rudder-cli serve");
#endif
        QProcess serve;
        serve.start(kCli, {"serve", "--port", "0"});
        int port = 0;
        QString log;
        QElapsedTimer t;
        t.start();
        while (port == 0 && t.elapsed() < 60000 && serve.state() != QProcess::NotRunning) {
            serve.waitForReadyRead(100);
            log += QString::fromUtf8(serve.readAllStandardError());
            const int at = log.indexOf("127.0.0.1:");
            if (at >= 0 && log.indexOf(' ', at) > at) port = log.mid(at + 10).section(' ', 0, 0).toInt();
        }
        QVERIFY2(port > 0, qPrintable(log));
        QCOMPARE(w_->openSession(dir_.filePath("s.rudder")), QString());   // earlier tests opened others
        widgets::ModelChoice local = w_->modelsPanel()->choice();
        local.baseDir = QString::fromStdString(demoModelDir());
        local.reward = QString::fromStdString(demoRewardDir());   // the CLI run's defaults
        local.gold = "lexicon";
        widgets::ModelChoice c = local;
        w_->modelsPanel()->setChoice(local);
        QVERIFY(!w_->modelsPanel()->tokenizerShown());
        c.baseDir = QString("http://127.0.0.1:%1/v1").arg(port);
        c.tokenizer = QString::fromStdString(demoModelDir());
        w_->modelsPanel()->setChoice(c);
        QVERIFY(w_->modelsPanel()->tokenizerShown());
        QSignalSpy loaded(w_->controller(), &gui::RunController::modelsLoaded);
        QSignalSpy failed(w_->controller(), &gui::RunController::loadFailed);
        w_->loadModels();
        QTRY_VERIFY_WITH_TIMEOUT(loaded.count() + failed.count() > 0, 60000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed[0][0].toString()));
        QTRY_VERIFY_WITH_TIMEOUT(w_->controller()->modelsReady(), 5000);

        auto* m = w_->methodPanel();
        m->setCurrentMethod("bon");
        m->setConfig("bon", {{"n", 6}, {"batch", 3}, {"max_new_tokens", 8}});
        m->setSeed(12);
        w_->promptPanel()->setPrompt("In the beginning God created");
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        m->runButton()->click();
        QVERIFY(waitFor(done, 120000));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Done));
        QCOMPARE(w_->current().sampleCount(), size_t(6));
        const Cli whole = cli({"run", "--method", "bon", "--db", dir_.filePath("remote-ref.rudder"), "--seed", "12",
                               "--prompt", "In the beginning God created", "--set", "n=6", "--set", "batch=3",
                               "--set", "max_new_tokens=8", "--json"},
                              {}, 120000);
        QVERIFY2(whole.code == 0, qPrintable(whole.err));
        SessionDb db = SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun s = db.loadRun(done[0][0].toLongLong());
        QCOMPARE(s.final.size(), size_t(1));
        QCOMPARE(QString::fromStdString(s.final[0].text), QString::fromStdString(whole.json()["final"][0]["text"]));
        QCOMPARE(QString::fromStdString(s.info.base_model["remote"]["server"].get<std::string>()), c.baseDir);

        serve.terminate();
        serve.waitForFinished(5000);
        w_->modelsPanel()->setChoice(local);
        QSignalSpy back(w_->controller(), &gui::RunController::modelsLoaded);
        w_->loadModels();
        QVERIFY(waitFor(back, 120000));
        QTRY_VERIFY_WITH_TIMEOUT(w_->controller()->modelsReady(), 5000);
    }

    void cleanupTestCase() { w_.reset(); }

private:
    QTemporaryDir dir_;
    std::unique_ptr<gui::MainWindow> w_;
    int64_t bonRun_ = -1;

private slots:
    // Accuracy as the gold in the workbench (last: it swaps the models): the reasoning demo on two
    // held-out questions, the Dataset tab's reference field as the gold; QAlign votes (and its tab
    // says so), every sample's gold is the grader's verdict, the curves' right axis reads accuracy.
    void accuracyGoldFromTheDatasetTab()
    {
        auto* prompt = w_->promptPanel();
        QCOMPARE(prompt->openDataset(QString::fromStdString(resourcesDir()) + "/prompts/arith-test.jsonl", "question"), QString());
        prompt->selectDatasetRows({7, 9});
        prompt->setAnswerGold("answer:answer");
        QCOMPARE(prompt->answerGold(), QString("answer:answer"));
        widgets::ModelChoice c = w_->modelsPanel()->choice();
        c.baseDir = QString::fromStdString(resourcesDir()) + "/models/demo-math-lm";
        c.reward = QString::fromStdString(resourcesDir()) + "/models/demo-math-rm";
        c.gold = prompt->answerGold();
        w_->modelsPanel()->setChoice(c);
        QSignalSpy loaded(w_->controller(), &gui::RunController::modelsLoaded);
        w_->loadModels();
        QTRY_VERIFY_WITH_TIMEOUT(loaded.count() > 0 && w_->controller()->modelsReady(), 120000);
        auto* m = w_->methodPanel();
        m->setCurrentMethod("qalign");
        m->setConfig("qalign", {{"chains", 2}, {"steps", 4}, {"max_new_tokens", 64}, {"vote", 0}});
        QSignalSpy done(w_.get(), &gui::MainWindow::runDone);
        m->runButton()->click();
        QVERIFY(waitFor(done, 180000));
        QCOMPARE(done[0][1].toInt(), int(RunStatus::Done));
        QCOMPARE(m->config("qalign")["vote"].get<int>(), 1);
        auto s = SessionDb::open(dir_.filePath("s.rudder").toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun run = s.loadRun(done[0][0].toLongLong());
        QCOMPARE(run.info.gold["spec"].get<std::string>(), std::string("answer:answer"));
        QCOMPARE(run.info.config["vote"].get<int>(), 1);
        QCOMPARE(run.prompts.size(), size_t(2));
        int graded = 0;
        for (const auto& e : run.iterations)
            for (const auto& smp : e.samples) {
                QVERIFY(smp.gold_reward && (*smp.gold_reward == 0.0 || *smp.gold_reward == 1.0));
                ++graded;
            }
        QVERIFY(graded >= 2 * 2 * 4);
        QCOMPARE(w_->rewardPlot()->plot()->yAxis2->label(), QString("accuracy"));
    }
};

QTEST_MAIN(TestController)
#include "test_controller.moc"
