// Widgets fed with synthetic events: slider <-> box <-> config round trip, plots contain the data,
// sample selection, PDF/PNG export.
#include <QtTest>
#include <QFormLayout>
#include <QLabel>

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QImage>
#include <QMenu>
#include <QToolButton>
#include <QSlider>
#include <QTemporaryDir>
#include <QTextEdit>

#include <cmath>

#include <qcustomplot.h>

#include "acceptance_plot.h"
#include "answers_plot.h"
#include "beta_curve_plot.h"
#include "method_panel.h"
#include "models_panel.h"
#include "param_slider.h"
#include "plot_export.h"
#include "prompt_panel.h"
#include "reward_curve_plot.h"
#include "reward_distribution_plot.h"
#include "run_data.h"
#include "rudder/methods.h"
#include "sample_inspector.h"
#include "synthetic.h"
#include "weight_histogram_plot.h"

using namespace rudder;
using namespace rudder::widgets;

namespace {
QCPGraph* graphNamed(QCustomPlot* p, const QString& prefix)
{
    for (int i = 0; i < p->graphCount(); ++i)
        if (p->graph(i)->name().startsWith(prefix)) return p->graph(i);
    return nullptr;
}
RunData makeRun(const std::string& method, const std::vector<IterationEvent>& events, nlohmann::json config = {})
{
    RunData r;
    RunMeta m;
    m.method = method;
    m.config = config.is_null() ? nlohmann::json::object() : config;
    r.setMeta(m);
    for (const auto& e : events) r.append(e);
    return r;
}
} // namespace

class TestWidgets : public QObject {
    Q_OBJECT
private slots:
    // RE-Control's events carry their value model's training cost: "incl. training" shifts the
    // curves' x by it on every axis; a run without one (negative control) is not shifted.
    void trainingCostShiftsTheBudgetAxes()
    {
        std::vector<IterationEvent> ev(2);
        for (int p = 0; p < 2; ++p) {
            ev[size_t(p)].method = "recontrol";
            ev[size_t(p)].prompt_index = p;
            Sample s;
            s.prompt_index = p;
            s.reward = 0.1 * (p + 1);
            ev[size_t(p)].samples = {s};
            ev[size_t(p)].budget = {p + 1, 10 * (p + 1), 1e6 * (p + 1), 0.5 * (p + 1)};
            ev[size_t(p)].stats["training"] = {{"budget", Budget{320, 8000, 2e11, 9.0}}};
        }
        RunData run = makeRun("recontrol", ev);
        QVERIFY(run.hasTrainingCost());
        const auto plain = run.rewardCurves(XAxis::Samples), with = run.rewardCurves(XAxis::Samples, -1, true);
        QCOMPARE(plain.x, (std::vector<double>{1, 2}));
        QCOMPARE(with.x, (std::vector<double>{321, 322}));
        QCOMPARE(run.rewardCurves(XAxis::Seconds, -1, true).x, (std::vector<double>{9.5, 10.0}));
        QCOMPARE(with.mean, plain.mean);
        for (auto& e : ev) e.stats.erase("training");
        RunData untrained = makeRun("bon", ev);
        QVERIFY(!untrained.hasTrainingCost());
        QCOMPARE(untrained.rewardCurves(XAxis::Samples, -1, true).x, (std::vector<double>{1, 2}));
        // The plot offers the switch only where it means something.
        RewardCurvePlot plot;
        plot.setRun(&untrained);
        plot.refresh();
        auto* box = plot.findChild<QCheckBox*>();
        QCheckBox* training = nullptr;
        for (auto* b : plot.findChildren<QCheckBox*>())
            if (b->text() == "incl. training") training = b;
        QVERIFY(box && training);
        QVERIFY(training->isHidden());
        plot.setRun(&run);
        plot.refresh();
        QVERIFY(!training->isHidden());
        training->setChecked(true);
        QVERIFY(plot.plot()->xAxis->label().contains("training"));
    }

    // Bad dataset files: the dataset tab says what and where in place (file, line, field) and
    // stays usable; a good file afterwards loads.  Same parser as the CLI (depth cap, UTF-8).
    void datasetProblemsShownInPlace()
    {
        QTemporaryDir dir;
        auto write = [&](const char* name, const QByteArray& bytes) {
            QFile f(dir.filePath(name));
            f.open(QIODevice::WriteOnly);
            f.write(bytes);
            return dir.filePath(name);
        };
        widgets::PromptPanel panel;
        struct Case { QString path; QString expect; };
        const Case cases[] = {
            {write("deep.jsonl", "{\"prompt\": \"ok\"}\n" + QByteArray(100000, '[') + "\n"), "line 2"},
            {write("utf8.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": \"bad \xff\xfe bytes\"}\n"), "line 2"},
            {write("number.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": 42}\n"), "line 2: prompt"},
            {write("long.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": \"" + QByteArray(10 << 20, 'a') + "\n"), "line 2"},
            {write("empty.jsonl", ""), "no JSON object"},
            {dir.filePath("missing.jsonl"), "cannot be read"},
        };
        for (const Case& c : cases) {
            const QString err = panel.openDataset(c.path);
            QVERIFY2(err.contains(QFileInfo(c.path).fileName()) && err.contains(c.expect), qPrintable(err.left(600)));
            QCOMPARE(panel.datasetStatus(), err);
            QVERIFY(err.size() < 2000);   // a 10 MB line is not echoed back
            QVERIFY(!panel.datasetUsable());
        }
        const QString good = write("good.jsonl", "{\"prompt\": \"In the beginning\"}\n{\"prompt\": \"And God said\"}\n");
        QCOMPARE(panel.openDataset(good), QString());
        QVERIFY(panel.datasetUsable());
        QVERIFY2(panel.datasetStatus().contains("2 prompts"), qPrintable(panel.datasetStatus()));
    }

    // The models panel's "HF cache" menus list the cache's models with architecture, size and
    // kind; the right role's entries are enabled and put the repo id in the field.
    void cachedModelsMenu()
    {
        QTemporaryDir dir;
        auto model = [&](const QString& repo, const char* arch, int bytes) {
            const QString snap = dir.filePath("models--" + repo.section('/', 0, 0) + "--" + repo.section('/', 1) +
                                              "/snapshots/" + QString(40, 'e'));
            QDir().mkpath(snap);
            QDir().mkpath(snap + "/../../refs");
            QFile ref(snap + "/../../refs/main");
            ref.open(QIODevice::WriteOnly);
            ref.write(QByteArray(40, 'e'));
            QFile cfg(snap + "/config.json");
            cfg.open(QIODevice::WriteOnly);
            cfg.write(QString("{\"architectures\": [\"%1\"]}").arg(arch).toUtf8());
            QFile w(snap + "/model.safetensors");
            w.open(QIODevice::WriteOnly);
            w.write(QByteArray(bytes, '\0'));
        };
        model("org/base-7b", "LlamaForCausalLM", 3000000);
        model("org/rm-8b", "LlamaForSequenceClassification", 1000);
        const QByteArray old = qgetenv("HF_HUB_CACHE");
        qputenv("HF_HUB_CACHE", dir.path().toUtf8());
        widgets::ModelsPanel panel;
        QList<QToolButton*> buttons;
        for (QToolButton* b : panel.findChildren<QToolButton*>())
            if (b->text().startsWith("HF cache")) buttons << b;
        QCOMPARE(buttons.size(), 4);   // base, tokenizer (for a served base), reward, gold
        buttons.removeAt(1);
        auto entries = [](QToolButton* b) {
            emit b->menu()->aboutToShow();
            return b->menu()->actions();
        };
        const auto base = entries(buttons[0]);
        QCOMPARE(base.size(), 2);
        QVERIFY2(base[0]->text().contains("org/base-7b") && base[0]->text().contains("LlamaForCausalLM") &&
                     base[0]->text().contains("3.0 MB") && base[0]->text().contains("causal LM"),
                 qPrintable(base[0]->text()));
        QVERIFY(base[0]->isEnabled());
        QVERIFY(!base[1]->isEnabled());   // a reward model is not offered as the base LM
        base[0]->trigger();
        QCOMPARE(panel.choice().baseDir, QString("org/base-7b"));
        const auto reward = entries(buttons[1]);
        QVERIFY(!reward[0]->isEnabled() && reward[1]->isEnabled());
        reward[1]->trigger();
        QCOMPARE(panel.choice().reward, QString("org/rm-8b"));
        qputenv("HF_HUB_CACHE", dir.filePath("empty").toUtf8());
        const auto none = entries(buttons[2]);
        QCOMPARE(none.size(), 1);
        QVERIFY(none[0]->text().startsWith("no models in") && !none[0]->isEnabled());
        if (old.isEmpty()) qunsetenv("HF_HUB_CACHE"); else qputenv("HF_HUB_CACHE", old);
    }

    void linearSliderRoundTrip()
    {
        ParamSpec spec{"alpha", "α", 0.0, 1.0, 0.9999, false, false, ""};
        ParamSlider s(spec);
        QCOMPARE(s.value(), 0.9999);   // the default survives (box has enough decimals)
        s.slider()->setValue(250);
        QCOMPARE(s.value(), 0.25);
        s.box()->setValue(0.5);
        QCOMPARE(s.slider()->value(), 500);
        s.setValue(7.0);               // clamped to the bound
        QCOMPARE(s.value(), 1.0);
        QCOMPARE(s.slider()->value(), ParamSlider::kTicks);
        s.setValue(-3);
        QCOMPARE(s.value(), 0.0);
        QCOMPARE(s.slider()->value(), 0);
    }

    void logSliderRoundTrip()
    {
        ParamSpec spec{"lambda", "λ", 1e-4, 1000.0, 0.3, false, true, ""};
        ParamSlider s(spec);
        // The middle tick of a log slider is the geometric mean of the bounds: sqrt(1e-4 * 1e3).
        s.slider()->setValue(ParamSlider::kTicks / 2);
        QVERIFY(std::abs(s.value() - std::sqrt(1e-4 * 1e3)) < 1e-4);
        // Each decade takes the same slider distance: 7 decades over 1000 ticks.
        QCOMPARE(s.tickFor(1e-3) - s.tickFor(1e-4), s.tickFor(1000) - s.tickFor(100));
        QCOMPARE(s.tickFor(1e-3) - s.tickFor(1e-4), int(std::lround(1000.0 / 7)));
        // Box -> slider -> value at every decade, exact within one tick's relative step.
        for (double v : {1e-4, 1e-3, 0.3, 1.0, 240.0, 1000.0}) {
            s.setValue(v);
            QCOMPARE(s.value(), v);
            const double back = s.valueAt(s.slider()->value());
            const double tickRatio = std::pow(1e7, 1.0 / ParamSlider::kTicks);   // one tick, multiplicatively
            QVERIFY2(back / v <= std::sqrt(tickRatio) * (1 + 1e-9) && v / back <= std::sqrt(tickRatio) * (1 + 1e-9),
                     qPrintable(QString("%1 -> %2").arg(v).arg(back)));
        }
        QCOMPARE(s.valueAt(0), 1e-4);
        QCOMPARE(s.valueAt(ParamSlider::kTicks), 1000.0);
        // The smallest bound is shown, not rounded to zero.
        s.setValue(1e-4);
        QVERIFY(s.box()->text().contains("0.0001"));
        s.setValue(0.3);
        QCOMPARE(s.box()->text(), QString("0.3"));
        // Typed text, including exponent notation, goes through the box to the slider.
        s.box()->selectAll();
        QTest::keyClicks(s.box(), "2.5e-3");
        QTest::keyClick(s.box(), Qt::Key_Enter);
        QCOMPARE(s.value(), 0.0025);
        QCOMPARE(s.slider()->value(), s.tickFor(0.0025));
    }

    void integerLogSlider()
    {
        ParamSpec spec{"n", "n", 1, 4096, 64, true, true, ""};
        ParamSlider s(spec);
        QCOMPARE(s.value(), 64.0);
        for (int t = 0; t <= ParamSlider::kTicks; t += 37) {
            const double v = s.valueAt(t);
            QCOMPARE(v, std::round(v));
            QVERIFY(v >= 1 && v <= 4096);
        }
        s.box()->setValue(100.4);   // the box rounds integers
        QCOMPARE(s.value(), 100.0);
        s.setValue(5000);
        QCOMPARE(s.value(), 4096.0);
    }

    void methodPanelConfigRoundTrip()
    {
        MethodPanel panel;
        for (const MethodInfo& m : allMethods()) {
            // Defaults: exactly the table's defaults, and valid for the engine.
            const nlohmann::json c = panel.config(m.id);
            QCOMPARE(c, defaultConfig(m.id));
            QVERIFY(validateConfig(m.id, c) == c);
            // Each parameter at its bounds and back.
            nlohmann::json hi = c, lo = c;
            for (const ParamSpec& p : m.params) {
                hi[p.key] = p.integer ? nlohmann::json(int64_t(p.max)) : nlohmann::json(p.max);
                lo[p.key] = p.integer ? nlohmann::json(int64_t(p.min)) : nlohmann::json(p.min);
            }
            panel.setConfig(m.id, hi);
            QCOMPARE(panel.config(m.id), validateConfig(m.id, hi));
            panel.setConfig(m.id, lo);
            QCOMPARE(panel.config(m.id), validateConfig(m.id, lo));
        }
        // Scale-free by default: the temperature sliders say so; a paper preset (AISP Table 4)
        // lands in the sliders and switches to absolute units.
        panel.setConfig("aisp", defaultConfig("aisp"));
        auto labelOf = [&](const char* key) {
            auto* f = qobject_cast<QFormLayout*>(panel.slider("aisp", key)->parentWidget()->findChild<QFormLayout*>());
            auto* l = f ? qobject_cast<QLabel*>(f->labelForField(panel.slider("aisp", key))) : nullptr;
            return l ? l->text() : QString();
        };
        QCOMPARE(panel.config("aisp")["scale"].get<int64_t>(), int64_t(1));
        QVERIFY2(labelOf("lambda").contains("reward std"), qPrintable(labelOf("lambda")));
        QVERIFY2(labelOf("sigma").contains("RMS"), qPrintable(labelOf("sigma")));
        panel.applyPreset("aisp", 2);   // Llama-3 & Eurus: σ 0.5, λ 240, α 0.999
        const auto c = panel.config("aisp");
        QCOMPARE(c["scale"].get<int64_t>(), int64_t(0));
        QVERIFY2(!labelOf("lambda").contains("reward std"), qPrintable(labelOf("lambda")));
        QCOMPARE(c["lambda"].get<double>(), 240.0);
        QCOMPARE(c["alpha"].get<double>(), 0.999);
        QCOMPARE(c["sigma"].get<double>(), 0.5);
        QCOMPARE(c["rho"].get<double>(), 0.0);   // the paper's independent noise
        // Moving a slider changes the config the Run button would send.
        panel.slider("aisp", "sigma")->slider()->setValue(0);
        QCOMPARE(panel.config("aisp")["sigma"].get<double>(), 0.01);
        // Live tuning caps the budget.
        const auto small = MethodPanel::smallBudget("aisp", c);
        QVERIFY(small["n"].get<int64_t>() <= 8 && small["iterations"].get<int64_t>() <= 4);
        QCOMPARE(small["lambda"], c["lambda"]);
    }

    void liveTuningEmitsOnRelease()
    {
        MethodPanel panel;
        QSignalSpy spy(&panel, &MethodPanel::liveTuneRequested);
        auto* s = panel.slider("bon", "n");
        emit s->slider()->sliderReleased();
        QCOMPARE(spy.count(), 0);   // off by default
        panel.setLiveTuning(true);
        emit s->slider()->sliderReleased();
        QCOMPARE(spy.count(), 1);
    }

    void rewardCurvesContainTheData()
    {
        const auto events = testing::syntheticRun("aisp", 6, 16);
        RunData run = makeRun("aisp", events);
        RewardCurvePlot plot;
        plot.resize(600, 400);
        plot.setRun(&run);
        QCustomPlot* p = plot.plot();
        auto* mean = graphNamed(p, "mean@k");
        auto* bsf = graphNamed(p, "best so far");
        auto* gold = graphNamed(p, "gold of best");
        // AISP draws no base-model samples: no BoN reference is made up from its own (issue 36
        // item 1: it used to be its first iteration), and the plot says why.
        QVERIFY(mean && bsf && gold && !graphNamed(p, "BoN"));
        bool noted = false;
        for (int i = 0; i < p->itemCount(); ++i)
            if (auto* t = qobject_cast<QCPItemText*>(p->item(i)); t && t->text().contains("no BoN reference")) noted = true;
        QVERIFY(noted);
        QCOMPARE(mean->dataCount(), 6);
        double best = -1e9;
        for (int it = 0; it < 6; ++it) {
            double sum = 0, mx = -1e9;
            for (const auto& s : events[it].samples) { sum += s.reward; mx = std::max(mx, s.reward); }
            best = std::max(best, mx);
            QCOMPARE(mean->dataMainKey(it), double(16 * (it + 1)));   // x = samples so far
            QVERIFY(std::abs(mean->dataMainValue(it) - sum / 16) < 1e-12);
            QCOMPARE(bsf->dataMainValue(it), best);
        }
        // Gold is on the right axis, the gold of the proxy's best (gold = -reward/2 here).
        QCOMPARE(gold->valueAxis(), p->yAxis2);
        QCOMPARE(gold->dataMainValue(5), -0.5 * best);
        // WMV's samples are the base model's: its reference is E[max of N draws] from all of them.
        RunData wmv = makeRun("wmv", events);
        RewardCurvePlot wplot;
        wplot.setRun(&wmv);
        auto* bon = graphNamed(wplot.plot(), "BoN");
        QVERIFY(bon && bon->dataCount() == 6);
        QVERIFY(bon->dataMainValue(5) <= best + 1e-12 && bon->dataMainValue(0) < bon->dataMainValue(5));
        // Switch the x axis to tokens.
        plot.setXAxis(XAxis::Tokens);
        QCOMPARE(graphNamed(p, "mean@k")->dataMainKey(5), double(events[5].budget.tokens));
        // CSV holds every plotted point.
        const QString csv = plot.toCsv(false);
        QVERIFY(csv.startsWith("series,x,y\n"));
        QVERIFY(csv.count('\n') > 6 * 5);
        // Streaming: append and refresh.
        auto more = testing::syntheticRun("aisp", 7, 16);
        run.append(more[6]);
        plot.refresh();
        QCOMPARE(graphNamed(p, "mean@k")->dataCount(), 7);
    }

    void overlayAddsCurves()
    {
        RunData a = makeRun("aisp", testing::syntheticRun("aisp", 4, 8));
        RunData b = makeRun("bon", testing::syntheticRun("bon", 4, 8, 0.0, false, 9));
        b.meta().title = "BoN #2";
        RewardCurvePlot plot;
        plot.setRun(&a);
        plot.setOverlays({&b});
        auto* g = graphNamed(plot.plot(), "BoN #2: best so far");
        QVERIFY(g);
        QCOMPARE(g->dataCount(), 4);
    }

    void acceptanceRates()
    {
        RunData run = makeRun("qalign", testing::syntheticChains(3, 30), {{"window", 3}});
        AcceptancePlot plot;
        plot.setRun(&run);
        auto* running = graphNamed(plot.plot(), "running");
        auto* windowed = graphNamed(plot.plot(), "windowed");
        QVERIFY(running && windowed);
        // Steps 1..30 plus the initial state; every 3 consecutive steps accept exactly 3 of 9.
        QCOMPARE(running->dataCount(), 31);
        QCOMPARE(running->dataMainValue(30), 1.0 / 3);
        for (int i = 3; i <= 30; ++i) QCOMPARE(windowed->dataMainValue(i), 1.0 / 3);
        // Negative control: the first step alone is not 1/3 (chain 2 accepts at t=1 only).
        QCOMPARE(running->dataMainValue(1), 1.0 / 3);
        QCOMPARE(windowed->dataMainValue(2), 0.5 * (1.0 / 3 + 1.0 / 3));
        // Chain 0 accepts at t = 3, 6, ...: its state reward is the last accepted proposal's.
        auto* chain0 = graphNamed(plot.plot(), "chain rewards");   // the first trace names them all
        QVERIFY(chain0);
        QCOMPARE(chain0->dataMainValue(4), 3.0);
        QCOMPARE(chain0->dataMainValue(6), 6.0);
        // Not a QAlign run: nothing drawn (no chains read out of AISP iterations).
        RunData aisp = makeRun("aisp", testing::syntheticRun("aisp", 6, 8));
        plot.setRun(&aisp);
        QCOMPARE(plot.plot()->graphCount(), 0);
    }

    void weightHistogramAndScrubber()
    {
        const auto events = testing::syntheticRun("aisp", 5, 32);
        RunData run = makeRun("aisp", events);
        WeightHistogramPlot plot;
        plot.setRun(&run);
        auto ess = [](const IterationEvent& e) {
            double s2 = 0;
            for (const auto& s : e.samples) s2 += *s.weight * *s.weight;
            return 1.0 / s2;
        };
        QVERIFY(std::abs(plot.currentEss() - ess(events[4])) < 1e-9);   // follows the newest
        QCOMPARE(plot.scrubber()->maximum(), 4);
        plot.setIteration(1);
        QVERIFY(std::abs(plot.currentEss() - ess(events[1])) < 1e-9);
        // The bars hold all 32 samples.
        auto* bars = qobject_cast<QCPBars*>(plot.plot()->plottable(0));
        QVERIFY(bars);
        double total = 0;
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) total += it->value;
        QCOMPARE(total, 32.0);
        // A BoN run has no weights: the plot says so instead of drawing nothing silently.
        RunData bon = makeRun("bon", testing::syntheticRun("bon", 2, 8, 0, false));
        plot.setRun(&bon);
        QCOMPARE(plot.plot()->plottableCount(), 0);
    }

    void distributionAndBeta()
    {
        // Two well-separated modes: the fit must find them.
        std::vector<IterationEvent> events(1);
        events[0].method = "qalign";
        std::mt19937_64 rng(3);
        std::normal_distribution<double> a(-2.0, 0.5), b(3.0, 1.0);
        for (int i = 0; i < 400; ++i) {
            Sample s;
            s.index = i;
            s.reward = i % 4 == 0 ? b(rng) : a(rng);
            events[0].samples.push_back(s);
        }
        RunData run = makeRun("qalign", events, {{"beta", 0.5}});
        RewardDistributionPlot dist;
        dist.setRun(&run);
        QCOMPARE(dist.fit().status, analysis::Status::Ok);
        QVERIFY(std::abs(dist.fit().means[0] + 2.0) < 0.2 && std::abs(dist.fit().means[1] - 3.0) < 0.3);
        QVERIFY(graphNamed(dist.plot(), "GMM mixture"));
        QVERIFY(!graphNamed(dist.plot(), "π_β"));
        dist.setShowPrediction(true, 0.5);
        auto* pred = graphNamed(dist.plot(), "π_β");
        QVERIFY(pred);
        BetaCurvePlot beta;
        beta.setRun(&run);
        QVERIFY(graphNamed(beta.plot(), "β(n)"));
        QVERIFY(beta.matchingN() > 2);
        // β(n) decreases with n, and the marked n gives the closest β to 0.5.
        auto* g = graphNamed(beta.plot(), "β(n)");
        QVERIFY(g->dataMainValue(0) > g->dataMainValue(g->dataCount() - 1));
    }

    void inspectorSelectsAndHighlightsFinal()
    {
        const auto events = testing::syntheticRun("bon", 3, 4, 0.0, false);
        RunData run = makeRun("bon", events);
        SampleInspector insp;
        insp.setRun(&run);
        QCOMPARE(insp.model()->rowCount(), 12);
        // The final answer: the best sample.
        SampleRef best{0, 0};
        for (const auto& r : run.samples())
            if (run.sample(r).reward > run.sample(best).reward) best = r;
        RunResult res;
        FinalAnswer f;
        f.text = run.sample(best).text;
        f.reward = run.sample(best).reward;
        res.final = {f};
        run.setResult(res);
        insp.sync();
        const int row = insp.model()->rowOf(best);
        QCOMPARE(insp.model()->data(insp.model()->index(row, 3), Qt::BackgroundRole).value<QColor>(), QColor(255, 236, 153));
        QVERIFY(!insp.model()->data(insp.model()->index((row + 1) % 12, 3), Qt::BackgroundRole).isValid());
        // Clicking a point in a plot selects its sample: a real mouse click on the best@k point of
        // the last iteration, at its pixel (issue 37 item 2: clicks selected the series instead).
        RewardCurvePlot plot;
        plot.resize(700, 450);
        plot.show();
        plot.setRun(&run);
        plot.plot()->replot();
        QObject::connect(&plot, &RunPlot::sampleClicked, &insp, &SampleInspector::select);
        QSignalSpy clicked(&plot, &RunPlot::sampleClicked);
        auto* bestAtK = graphNamed(plot.plot(), "best@k");
        QVERIFY(bestAtK && bestAtK->dataCount() == 3);
        for (int last : {1, 2}) {   // the middle iteration, and the last one at the plot's right end
            const QPoint at(int(std::lround(bestAtK->keyAxis()->coordToPixel(bestAtK->dataMainKey(last)))),
                            int(std::lround(bestAtK->valueAxis()->coordToPixel(bestAtK->dataMainValue(last)))));
            QTest::mouseMove(plot.plot(), at);   // the hover crosshair now runs through the point
            QTest::mouseClick(plot.plot(), Qt::LeftButton, {}, at);
            QCOMPARE(clicked.count(), last);
            std::optional<SampleRef> lastBest;
            for (const auto& r : run.samples())
                if (run.sample(r).iteration == last && (!lastBest || run.sample(r).reward > run.sample(*lastBest).reward)) lastBest = r;
            QVERIFY(lastBest);
            QCOMPARE(*insp.selected(), *lastBest);
        }
        emit plot.sampleClicked(best);
        QCOMPARE(*insp.selected(), best);
        QVERIFY(insp.text()->toPlainText().contains(QString::fromStdString(run.sample(best).text)));
        QVERIFY(insp.text()->toPlainText().contains("final answer"));
        QVERIFY(!insp.text()->toPlainText().contains("reward objectives"));   // a scalar reward
        // A multi-objective reward's components (ArmoRM) are listed with the sample.
        auto multi = events;
        for (auto& e : multi)
            for (auto& smp : e.samples) smp.reward_objectives = {0.125, -2.5, 3.0};
        RunData run2 = makeRun("bon", multi);
        insp.setRun(&run2);
        insp.select(best);
        const QString t = insp.text()->toPlainText();
        QVERIFY2(t.contains("reward objectives (3") && t.contains("-2.500") && t.contains("0.125"), qPrintable(t));
        // Named when the run recorded the names (ArmoRM's attributes).
        RunMeta named = run2.meta();
        named.objectiveNames = {"helpfulness", "correctness", "safety"};
        run2.setMeta(named);
        insp.select(best);
        QVERIFY2(insp.text()->toPlainText().contains("correctness:"), qPrintable(insp.text()->toPlainText()));
    }

    // Accuracy as the gold: the table shows each sample's answer and ✓/✗, the curves' right axis
    // reads "accuracy", and the answers view shows the vote shares with the correct answer marked.
    void gradedRunShowsAnswers()
    {
        auto sample = [](int i, const std::string& text, double gold, std::optional<bool> accepted = std::nullopt) {
            Sample s;
            s.index = i;
            s.text = text;
            s.gold_reward = gold;
            s.accepted = accepted;
            return s;
        };
        IterationEvent e0;
        e0.method = "bon";
        e0.samples = {sample(0, "so \\boxed{4}", 1), sample(1, "A: 5", 0), sample(2, "The answer is 4.", 1),
                      sample(3, "no idea", 0)};
        RunData run = makeRun("bon", {e0});
        run.meta().gold = "answer:answer";
        SampleInspector insp;
        insp.setRun(&run);
        auto* m = insp.model();
        QCOMPARE(m->data(m->index(0, SampleTableModel::Gold), Qt::DisplayRole).toString(), QString("✓"));
        QCOMPARE(m->data(m->index(1, SampleTableModel::Gold), Qt::DisplayRole).toString(), QString("✗"));
        QCOMPARE(m->data(m->index(1, SampleTableModel::Answer), Qt::DisplayRole).toString(), QString("5"));
        QCOMPARE(m->data(m->index(3, SampleTableModel::Answer), Qt::DisplayRole).toString(), QString("(none)"));
        QVERIFY(!insp.table()->isColumnHidden(SampleTableModel::Answer));
        RewardCurvePlot curves;
        curves.setRun(&run);
        QCOMPARE(curves.plot()->yAxis2->label(), QString("accuracy"));
        AnswersPlot answers;
        answers.setRun(&run);
        QCOMPARE(answers.drawn().size(), size_t(2));
        QCOMPARE(answers.drawn()[0].first, std::string("4"));
        QVERIFY(std::fabs(answers.drawn()[0].second - 2.0 / 3.0) < 1e-12);   // 3 answered: "4" twice
        // An ordinary gold: no answer column, the axis says gold.
        RunData plain = makeRun("bon", {e0});
        plain.meta().gold = "lexicon";
        insp.setRun(&plain);
        QVERIFY(insp.table()->isColumnHidden(SampleTableModel::Answer));
        QCOMPARE(m->data(m->index(0, SampleTableModel::Gold), Qt::DisplayRole).toDouble(), 1.0);
        curves.setRun(&plain);
        QCOMPARE(curves.plot()->yAxis2->label(), QString("gold reward"));
        // A QAlign chain: a rejected proposal keeps the state, which is counted again.
        IterationEvent q0, q1, q2;
        q0.method = q1.method = q2.method = "qalign";
        q1.iteration = 1;
        q2.iteration = 2;
        q0.samples = {sample(0, "A: 7", 0)};
        q1.samples = {sample(0, "A: 4", 1, true)};
        q2.samples = {sample(0, "A: 9", 0, false)};
        RunData chain = makeRun("qalign", {q0, q1, q2});
        answers.setRun(&chain);
        QCOMPARE(answers.drawn().size(), size_t(2));
        QCOMPARE(answers.drawn()[0].first, std::string("4"));   // held at steps 1 and 2
        QVERIFY(std::fabs(answers.drawn()[0].second - 2.0 / 3.0) < 1e-12);
    }

    void exportPdfAndPng()
    {
        RunData run = makeRun("aisp", testing::syntheticRun("aisp", 6, 16));
        RewardCurvePlot plot;
        plot.resize(800, 500);
        plot.setRun(&run);
        QTemporaryDir dir;
        ExportOptions o;
        o.widthIn = ExportOptions::kSingleColumn;
        o.dpi = 300;
        o.fontPt = 8;
        const QString pdf = dir.filePath("curves.pdf");
        QCOMPARE(exportPlot(plot.plot(), pdf, o), QString());
        QFile f(pdf);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.read(5), QByteArray("%PDF-"));
        QVERIFY2(f.size() > 4000, qPrintable(QString::number(f.size())));
        const QString png = dir.filePath("curves.png");
        QCOMPARE(exportPlot(plot.plot(), png, o), QString());
        QImage img(png);
        QCOMPARE(img.size(), exportPixelSize(o));
        QCOMPARE(img.width(), 975);   // 3.25 in × 300 dpi
        QVERIFY(std::abs(img.dotsPerMeterX() * 0.0254 - 300) < 1);
        // Not blank: some dark pixels (axes, text).
        int dark = 0;
        for (int y = 0; y < img.height(); y += 3)
            for (int x = 0; x < img.width(); x += 3) dark += qGray(img.pixel(x, y)) < 100;
        QVERIFY(dark > 100);
        // No UI state in the figure (issue 37 item 3): with a series selected (drawn thick) and
        // the hover crosshair on, the export is pixel for pixel the same as without them.
        plot.show();
        QTest::mouseMove(plot.plot(), QPoint(300, 200));   // the crosshair appears
        auto* sel = graphNamed(plot.plot(), "best so far");
        QVERIFY(sel);
        sel->setSelection(QCPDataSelection(QCPDataRange(0, sel->dataCount())));
        const QString pngUi = dir.filePath("curves-ui.png");
        QCOMPARE(exportPlot(plot.plot(), pngUi, o), QString());
        QCOMPARE(QImage(pngUi), QImage(png));
        QVERIFY(!sel->selection().isEmpty());   // and the window keeps its selection
        // Double column, 150 dpi, dashboard of two plots.
        WeightHistogramPlot w;
        w.setRun(&run);
        o.widthIn = ExportOptions::kDoubleColumn;
        o.dpi = 150;
        const QString dash = dir.filePath("dash.png");
        QCOMPARE(exportDashboard({plot.plot(), w.plot()}, dash, o, 2), QString());
        QCOMPARE(QImage(dash).width(), int(std::lround(6.75 * 150)));
        QVERIFY(!exportPlot(plot.plot(), dir.filePath("x.bmp"), o).isEmpty());   // refused, with a message
        // SVG: vector, sized in points like the PDF, with the axis labels as text (editable).
        o.widthIn = ExportOptions::kSingleColumn;
        const QString svg = dir.filePath("curves.svg");
        QCOMPARE(exportPlot(plot.plot(), svg, o), QString());
        QFile sf(svg);
        QVERIFY(sf.open(QIODevice::ReadOnly));
        const QByteArray xml = sf.readAll();
        QVERIFY2(xml.contains("<svg") && xml.contains("viewBox=\"0 0 234 145\""), xml.left(600).constData());
        QVERIFY2(xml.contains(plot.plot()->xAxis->label().split(' ').first().toUtf8()), "the x-axis label is not text in the SVG");
        QVERIFY(xml.count("<path") + xml.count("<polyline") > 5);
    }
};

QTEST_MAIN(TestWidgets)
#include "test_widgets.moc"
