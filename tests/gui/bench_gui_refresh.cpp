// GUI refresh benchmark: the five plots and the sample inspector fed a growing run, one event at
// a time, as the main window's coalescing timer would.  Prints the refresh time per event (the
// plots' rebuild plus the queued replot it schedules) against the 100 ms frame budget of the
// GUI issue.  Not a test: timings depend on the machine.  Run: build/tests/gui/bench_gui_refresh
#include <QApplication>
#include <QElapsedTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "acceptance_plot.h"
#include "beta_curve_plot.h"
#include "reward_curve_plot.h"
#include "reward_distribution_plot.h"
#include "run_data.h"
#include "sample_inspector.h"
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

} // namespace

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    std::printf("refresh time per event (all five plots + sample inspector); frame budget 100 ms\n");
    scenario("BoN n=4096 (64 events of 64)", "bon", testing::syntheticRun("bon", 64, 64, 0.0, false));
    scenario("AISP n=32 x K=32", "aisp", testing::syntheticRun("aisp", 32, 32));
    scenario("AISP n=256 x K=16", "aisp", testing::syntheticRun("aisp", 16, 256));
    scenario("QAlign 64 chains x 128 steps", "qalign", testing::syntheticChains(64, 128));
    return 0;
}
