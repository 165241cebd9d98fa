// Reopening a stored run reproduces the plotted data: events streamed into the window's plots
// and the same run reopened from the session must give identical CSV for every plot.
#include <QtTest>

#include <QDockWidget>
#include <QTemporaryDir>

#include <sqlite3.h>

#include "main_window.h"
#include "method_panel.h"
#include "plot_export.h"
#include "reward_curve_plot.h"
#include "rudder/run_recorder.h"
#include "rudder/session_db.h"
#include "run_plot.h"
#include "sessions_panel.h"
#include "synthetic.h"

using namespace rudder;

class TestReopen : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("RudderTest");
        QCoreApplication::setApplicationName("test_reopen");
        QSettings().clear();
    }

    void reopenReproducesPlots()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("s.rudder");
        // A run as the worker stores it, and the same events as the plots saw them live.
        const auto events = testing::syntheticRun("aisp", 5, 12);
        nlohmann::json config = {{"n", 12}, {"iterations", 5}, {"lambda", 0.3}};
        int64_t id;
        widgets::RunData live;
        {
            // Recorded the way the GUI worker and the CLI record runs.
            SessionDb db = SessionDb::open(path.toStdString());
            RunRequest request;
            request.method = "aisp";
            request.config = config;
            request.seed = 3;
            request.prompts = {"In the beginning"};
            RunRecorder rec = RunRecorder::start(db, request, {{"base_model", {{"spec", "demo-lm"}}}});
            id = rec.id();
            widgets::RunMeta m;
            m.method = "aisp";
            m.config = config;
            live.setMeta(m);
            for (const auto& e : events) {
                rec.append(e);
                live.append(e);
            }
            FinalAnswer f;
            f.text = events[4].samples[2].text;
            f.reward = events[4].samples[2].reward;
            f.gold_reward = events[4].samples[2].gold_reward;
            RunResult r;
            r.final = {f};
            r.budget = events.back().budget;
            rec.finish(r);
            live.setResult(r);
        }
        gui::MainWindow w(path);
        w.resize(1400, 900);
        QCOMPARE(w.sessionsPanel()->rows().size(), size_t(1));
        QCOMPARE(w.sessionsPanel()->rows()[0].status, RunStatus::Done);
        // Live: plots fed directly.
        std::vector<QString> liveCsv;
        for (widgets::RunPlot* p : w.plots()) {
            p->setRun(&live);
            liveCsv.push_back(p->toCsv(false));
        }
        QCOMPARE(w.reopenRun(id), QString());
        QCOMPARE(w.current().events().size(), size_t(5));
        QCOMPARE(w.methodPanel()->currentMethod(), std::string("aisp"));
        QCOMPARE(w.methodPanel()->config()["lambda"].get<double>(), 0.3);
        for (size_t i = 0; i < w.plots().size(); ++i) {
            const QString again = w.plots()[i]->toCsv(false);
            // Curves, distribution and weights must have data; acceptance is QAlign's only.
            QVERIFY2(again.count('\n') > 1 || i >= 3,
                     qPrintable(w.plots()[i]->title() + " is empty"));
            QCOMPARE(again, liveCsv[i]);
        }
        // Overlay: the run on top of itself adds its curves.
        QCOMPARE(w.overlayRuns({id}), QString());
        QVERIFY(w.rewardPlot()->toCsv(false).contains("aisp #"));
        // Filtering the run list.
        w.sessionsPanel()->setFilter("qalign");
        QCOMPARE(w.sessionsPanel()->visibleRows(), 0);
        w.sessionsPanel()->setFilter("aisp 0.3");
        QCOMPARE(w.sessionsPanel()->visibleRows(), 1);
        // By a metric: the run's final reward is below 1e9 and above -1e9, never both ways.
        const double best = *w.sessionsPanel()->rows().front().best_final_reward;
        w.sessionsPanel()->setFilter(QString("aisp reward>=%1").arg(best - 1e-9, 0, 'g', 17));
        QCOMPARE(w.sessionsPanel()->visibleRows(), 1);
        w.sessionsPanel()->setFilter(QString("reward>%1").arg(best + 1e-6, 0, 'g', 17));
        QCOMPARE(w.sessionsPanel()->visibleRows(), 0);
        w.sessionsPanel()->setFilter("iterations>=1 seed=" + QString::number(w.sessionsPanel()->rows().front().seed));
        QCOMPARE(w.sessionsPanel()->visibleRows(), 1);
        w.sessionsPanel()->setFilter("iterations<1");
        QCOMPARE(w.sessionsPanel()->visibleRows(), 0);
        // A run that does not exist: an error message, not a crash.
        QVERIFY(!w.reopenRun(999).isEmpty());
        // Export of the whole dashboard.
        QCOMPARE(w.exportFigure(-1, dir.filePath("dash.pdf"), widgets::ExportOptions{}), QString());
        QVERIFY(QFileInfo(dir.filePath("dash.pdf")).size() > 5000);
        QCOMPARE(w.exportFigure(0, dir.filePath("curves.csv"), widgets::ExportOptions{}), QString());
        QFile csv(dir.filePath("curves.csv"));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QVERIFY(csv.readAll().startsWith("series,x,y"));
    }

    // Damaged values inside a session: the other runs stay listed and open; the damaged ones are
    // listed as failed with the reason, and opening them says which file and field, in place.
    void damagedRunsAreNamedOthersStillOpen()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("mixed.rudder");
        {
            SessionDb db = SessionDb::open(path.toStdString());
            for (int k = 0; k < 3; ++k) {
                RunRequest request;
                request.method = "aisp";
                request.config = {{"n", 6}, {"iterations", 3}};
                request.seed = uint64_t(k);
                request.prompts = {"In the beginning"};
                RunRecorder rec = RunRecorder::start(db, request, {{"base_model", {{"spec", "demo-lm"}}}});
                for (const auto& e : testing::syntheticRun("aisp", 3, 6)) rec.append(e);
                RunResult r;
                rec.finish(r);
            }
        }
        sqlite3* raw = nullptr;
        QCOMPARE(sqlite3_open(path.toUtf8().constData(), &raw), SQLITE_OK);
        QCOMPARE(sqlite3_exec(raw, "UPDATE runs SET config = '[1' WHERE id = 1; "
                                   "UPDATE samples SET prompt_index = 7 WHERE run_id = 2",
                              nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
        gui::MainWindow w(path);
        const auto& rows = w.sessionsPanel()->rows();
        QCOMPARE(rows.size(), size_t(3));
        QCOMPARE(rows[0].status, RunStatus::Failed);
        QVERIFY2(QString::fromStdString(rows[0].message).contains("runs.config"), rows[0].message.c_str());
        QCOMPARE(rows[2].status, RunStatus::Done);
        QString e = w.reopenRun(1);
        QVERIFY2(e.contains("mixed.rudder") && e.contains("runs.config"), qPrintable(e));
        e = w.reopenRun(2);
        QVERIFY2(e.contains("mixed.rudder") && e.contains("samples.prompt_index"), qPrintable(e));
        QCOMPARE(w.reopenRun(3), QString());
        QVERIFY(!w.overlayRuns({2, 3}).isEmpty());
        QCOMPARE(w.overlayRuns({3}), QString());
    }

    void damagedSessionIsRefusedWithAMessage()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("bad.rudder");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is not a database, just text that is long enough to look like a header........");
        f.close();
        gui::MainWindow w(dir.filePath("ok.rudder"));
        const QString e = w.openSession(path);
        QVERIFY(!e.isEmpty());
        QVERIFY2(e.contains("bad.rudder"), qPrintable(e));
    }

    // Issue 37 item 1: the window fits a 1280×800 laptop screen with every dock visible and none
    // overlapping, and still lays out at 1920×1080.
    void windowFitsALaptopScreen()
    {
        QTemporaryDir dir;
        gui::MainWindow w(dir.filePath("s.rudder"));
        const QSize min = w.minimumSizeHint().expandedTo(w.minimumSize());
        qInfo("minimum size %dx%d", min.width(), min.height());
        for (auto* d : w.findChildren<QDockWidget*>())
            qInfo("  %s: min %dx%d", qPrintable(d->windowTitle()), d->minimumSizeHint().width(), d->minimumSizeHint().height());

        for (const QSize screen : {QSize(1280, 800), QSize(1920, 1080)}) {
            w.resize(screen - QSize(0, 60));   // minus a desktop panel and the title bar
            w.show();
            QTest::qWait(50);
            QVERIFY2(w.width() <= screen.width() && w.height() <= screen.height() - 60,
                     qPrintable(QString("window %1x%2 on %3x%4").arg(w.width()).arg(w.height()).arg(screen.width()).arg(screen.height())));
            std::vector<QRect> shown;
            for (auto* d : w.findChildren<QDockWidget*>()) {
                if (!d->isVisible() || d->visibleRegion().isEmpty()) continue;   // (a tab behind another)
                const QRect r(d->mapTo(&w, QPoint(0, 0)), d->size());
                QVERIFY2(QRect(QPoint(0, 0), w.size()).contains(r), qPrintable(d->windowTitle() + " is off the window"));
                for (const QRect& o : shown) QVERIFY2(!o.intersects(r), qPrintable(d->windowTitle() + " overlaps another dock"));
                shown.push_back(r);
            }
        }
    }
};

QTEST_MAIN(TestReopen)
#include "test_reopen.moc"
