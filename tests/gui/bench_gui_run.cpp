// Not a test: the GUI's own run throughput against rudder-cli's on the same run, idle and with
// one competing busy process (`yes > /dev/null`), interleaved and repeated (README, "Benchmarks").
// The window is shown and redraws its plots while the worker runs, as for a user.  GUI time is
// from the Run click to runDone; the CLI's is the run's own clock (its process start-up and model
// load excluded), so the GUI's redraws are what the comparison shows.
//   bench_gui_run [ROUNDS]     (needs a display: Xvfb or QT_QPA_PLATFORM=offscreen)
#include <QApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "main_window.h"
#include "method_panel.h"
#include "models_panel.h"
#include "prompt_panel.h"
#include "rudder/paths.h"
#include "rudder/runtime_init.h"

using namespace rudder;

namespace {

const char* kPrompt = "In the beginning God created";
const nlohmann::json kConfig = {{"n", 16}, {"iterations", 8}, {"max_new_tokens", 48}};

struct Result {
    double wall = 0, samplesPerSecond = 0;
};

Result guiRun(gui::MainWindow& w)
{
    auto* m = w.methodPanel();
    m->setCurrentMethod("aisp");
    m->setConfig("aisp", kConfig);
    m->setSeed(1);
    QSignalSpy done(&w, &gui::MainWindow::runDone);
    QElapsedTimer t;
    t.start();
    m->runButton()->click();
    while (done.isEmpty() && t.elapsed() < 600000) QTest::qWait(5);
    Result r;
    r.wall = t.elapsed() / 1000.0;
    const auto& ev = w.current().events();
    r.samplesPerSecond = ev.empty() ? 0 : double(ev.back().budget.samples) / r.wall;
    return r;
}

Result cliRun(const QString& db)
{
    QStringList args = {"run", "--method", "aisp", "--prompt", kPrompt, "--seed", "1", "--db", db, "--json"};
    for (auto it = kConfig.begin(); it != kConfig.end(); ++it)
        args << "--set" << QString::fromStdString(it.key() + "=" + it.value().dump());
    QProcess p;
    QElapsedTimer t;
    t.start();
    p.start(RUDDER_BINARY_DIR "/app/cli/rudder-cli", args);
    p.waitForFinished(600000);
    Result r;
    r.wall = t.elapsed() / 1000.0;
    try {
        // The run's own clock: the process's start-up and model load are not the run.
        const auto j = nlohmann::json::parse(p.readAllStandardOutput().toStdString());
        r.wall = j["budget"]["seconds"].get<double>();
        r.samplesPerSecond = double(j["budget"]["samples"].get<int64_t>()) / r.wall;
    } catch (const std::exception&) {
        std::fprintf(stderr, "rudder-cli: %s\n", p.readAllStandardError().constData());
    }
    return r;
}

void report(const char* name, std::vector<Result> rs)
{
    std::sort(rs.begin(), rs.end(), [](const Result& a, const Result& b) { return a.wall < b.wall; });
    const Result& med = rs[rs.size() / 2];
    std::printf("| %s | %.2f | %.2f | %.1f | %.1f |\n", name, rs.front().wall, med.wall, rs.front().samplesPerSecond,
                med.samplesPerSecond);
}

} // namespace

int main(int argc, char** argv)
{
    preferPassiveOpenMP(argv);   // as the rudder and rudder-cli binaries do
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName("RudderBench");
    QCoreApplication::setApplicationName("bench_gui_run");
    QSettings().clear();
    const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2;
    QTemporaryDir dir;
    gui::MainWindow w(dir.filePath("gui.rudder"));
    w.resize(1400, 900);
    w.show();
    widgets::ModelChoice c;
    c.baseDir = QString::fromStdString(demoModelDir());
    c.reward = QString::fromStdString(demoRewardDir());
    c.gold = "lexicon";
    c.device = "cpu";
    w.modelsPanel()->setChoice(c);
    w.loadModels();
    QElapsedTimer t;
    t.start();
    while (!w.controller()->modelsReady() && t.elapsed() < 120000) QTest::qWait(10);
    w.promptPanel()->setPrompt(kPrompt);

    std::vector<Result> gIdle, cIdle, gBusy, cBusy;
    for (int k = 0; k < rounds; ++k) {
        gIdle.push_back(guiRun(w));
        cIdle.push_back(cliRun(dir.filePath("cli.rudder")));
        QProcess busy;   // one competing CPU-bound process
        busy.start("sh", {"-c", "exec yes > /dev/null"});
        busy.waitForStarted();
        gBusy.push_back(guiRun(w));
        cBusy.push_back(cliRun(dir.filePath("cli.rudder")));
        busy.kill();
        busy.waitForFinished();
    }
    std::printf("AISP n=16 K=8, 48 new tokens, one prompt; %d rounds, interleaved\n", rounds);
    std::printf("| run | min s | median s | samples/s (best) | samples/s (median) |\n| --- | --- | --- | --- | --- |\n");
    report("GUI, idle", gIdle);
    report("rudder-cli, idle", cIdle);
    report("GUI, one core busy", gBusy);
    report("rudder-cli, one core busy", cBusy);
    return 0;
}
