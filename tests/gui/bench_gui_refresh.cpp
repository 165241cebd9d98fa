// GUI refresh benchmark: the five plots and the sample inspector fed a growing run, one event at
// a time, as the main window's coalescing timer would.  Prints the refresh time per event (the
// plots' rebuild plus the queued replot it schedules) against the 100 ms frame budget of the
// GUI issue.  Not a test: timings depend on the machine.  Run: build/tests/gui/bench_gui_refresh
#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QVBoxLayout>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "acceptance_plot.h"
#include "beta_curve_plot.h"
#include "reward_curve_plot.h"
#include "reward_distribution_plot.h"
#include "run_data.h"
#include "rudder/session_db.h"
#include "rudder/sweep.h"
#include "sample_inspector.h"
#include "sweep_view.h"
#include "synthetic.h"
#include "weight_histogram_plot.h"

using namespace rudder;
using namespace rudder::widgets;

namespace {

void scenario(const char* name, const std::string& method, const std::vector<IterationEvent>& events)
{
    RunData run;
    RunMeta meta;
    meta.method = method;
    meta.config = nlohmann::json::object();
    run.setMeta(meta);
    QWidget window;
    auto* l = new QVBoxLayout(&window);
    std::vector<RunPlot*> plots = {new RewardCurvePlot, new AcceptancePlot, new WeightHistogramPlot,
                                   new RewardDistributionPlot, new BetaCurvePlot};
    for (auto* p : plots) {
        l->addWidget(p);
        p->setRun(&run);
    }
    auto* inspector = new SampleInspector;
    l->addWidget(inspector);
    inspector->setRun(&run);
    window.resize(900, 1800);
    window.show();
    QApplication::processEvents();

    std::vector<double> ms;
    std::vector<double> part(6, 0.0);   // worst time of each plot's rebuild, then the inspector
    size_t samples = 0;
    for (const auto& e : events) {
        run.append(e);
        samples += e.samples.size();
        QElapsedTimer t;
        t.start();
        for (size_t i = 0; i < plots.size(); ++i) {
            QElapsedTimer tp;
            tp.start();
            plots[i]->refresh();
            part[i] = std::max(part[i], tp.nsecsElapsed() / 1e6);
        }
        QElapsedTimer ti;
        ti.start();
        inspector->sync();
        part[5] = std::max(part[5], ti.nsecsElapsed() / 1e6);
        QApplication::processEvents();   // the rpQueuedReplot paints here
        ms.push_back(t.nsecsElapsed() / 1e6);
    }
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const double worst = sorted.back(), median = sorted[sorted.size() / 2];
    std::printf("%-34s %6zu events %7zu samples  median %7.1f ms  worst %7.1f ms  last %7.1f ms  worst/100 ms = %.2f\n",
                name, events.size(), samples, median, worst, ms.back(), worst / 100.0);
    std::printf("    worst rebuild: curves %.1f, acceptance %.1f, weights %.1f, distribution %.1f, beta %.1f, "
                "inspector %.1f ms (the rest is painting)\n", part[0], part[1], part[2], part[3], part[4], part[5]);
}

// The views a sweep adds: the Sweep view reading a finished 3 x 3 grid x 5 seeds + best-of-n (50
// runs of 20 prompts) from a session after each run, and the reward curves drawing 50 overlaid
// runs as 10 groups' mean ± se bands.
void sweepScenario()
{
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/bench.rudder").toStdString();
    {
        SessionDb db = SessionDb::open(path);
        const auto points = sweepPoints({parseSweepAxis("sigma=0.5,2,8"), parseSweepAxis("lambda=0.003,0.03,0.3")});
        for (uint64_t seed = 0; seed < 5; ++seed)
            for (size_t p = 0; p <= points.size(); ++p) {
                RunInfo info;
                info.method = p == points.size() ? "bon" : "aisp";
                info.seed = seed;
                info.tags = {{"sweep", sweepTag("bench", p == points.size() ? "reference" : "point", info.method,
                                                p == points.size() ? nlohmann::json::object() : points[p], seed, {"sigma", "lambda"})}};
                const int64_t id = db.createRun(info);
                std::vector<FinalAnswer> finals;
                for (int i = 0; i < 20; ++i) {
                    FinalAnswer f;
                    f.prompt_index = i;
                    f.text = "answer";
                    f.reward = 0.01 * double((i * 7 + p * 3 + seed) % 50);
                    f.gold_reward = f.reward / 2;
                    finals.push_back(f);
                }
                db.setFinal(id, finals);
                db.finishRun(id, RunStatus::Done, "", Budget{});
            }
    }
    SweepView view;
    view.resize(900, 600);
    view.show();
    view.setSession(QString::fromStdString(path));
    std::vector<double> ms;
    for (int r = 0; r < 10; ++r) {
        QElapsedTimer t;
        t.start();
        view.reload();
        QApplication::processEvents();
        ms.push_back(t.nsecsElapsed() / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-34s %6d runs  %7d answers   median %7.1f ms  worst %7.1f ms  worst/100 ms = %.2f\n",
                "Sweep view reload (3x3 x 5 seeds)", 50, 50 * 20, ms[ms.size() / 2], ms.back(), ms.back() / 100.0);

    std::vector<std::unique_ptr<RunData>> runs;
    std::vector<const RunData*> ptrs;
    for (int i = 0; i < 50; ++i) {
        auto r = std::make_unique<RunData>();
        RunMeta m;
        m.method = "bon";
        m.group = "group " + std::to_string(i % 10);
        r->setMeta(m);
        for (const auto& e : testing::syntheticRun("bon", 8, 32, 0.0, false)) r->append(e);
        ptrs.push_back(r.get());
        runs.push_back(std::move(r));
    }
    RewardCurvePlot curves;
    curves.resize(900, 500);
    curves.show();
    curves.setShowGroupMembers(true);
    ms.clear();
    for (int r = 0; r < 10; ++r) {
        QElapsedTimer t;
        t.start();
        curves.setOverlays(ptrs);
        QApplication::processEvents();
        ms.push_back(t.nsecsElapsed() / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-34s %6d runs  %7d groups    median %7.1f ms  worst %7.1f ms  worst/100 ms = %.2f\n",
                "Grouped overlay (bands + members)", 50, 10, ms[ms.size() / 2], ms.back(), ms.back() / 100.0);
}

} // namespace

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    std::printf("refresh time per event (all five plots + sample inspector); frame budget 100 ms\n");
    scenario("BoN n=4096 (64 events of 64)", "bon", testing::syntheticRun("bon", 64, 64, 0.0, false));
    scenario("AISP n=32 x K=32", "aisp", testing::syntheticRun("aisp", 32, 32));
    scenario("AISP n=256 x K=16", "aisp", testing::syntheticRun("aisp", 16, 256));
    scenario("QAlign 64 chains x 128 steps", "qalign", testing::syntheticChains(64, 128));
    sweepScenario();
    return 0;
}
