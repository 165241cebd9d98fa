// rudder-figures: redraws the AISP and QAlign papers' figures from runs stored in a session, with
// the workbench's own plots and figure export (PDF), and writes the numbers behind each figure.
//   rudder-figures --db S --out DIR --aisp ID --kl ID,ID,... --bon ID --bon-small ID --qalign-small ID
// Figures (each DIR/NAME.pdf, numbers in DIR/numbers.md):
//   aisp-reward-vs-samples   AISP Fig. 4: mean@k, best@k, best so far and BoN on the same samples
//   aisp-kl-vs-reward        AISP Table 3 analogue: KL to the base model vs final reward per (λ, α)
//   qalign-gold-vs-compute   QAlign's headline: gold (and proxy) of the answer vs samples for BoN,
//                            WMV, MV and QAlign, against the weak proxy demo-rm-small
//   qalign-gold-vs-flops     the same against FLOPs per prompt (the runs' budget meters: a QAlign
//                            step proposes a suffix, cheaper than a whole sample)
//   beta-curve               β(n) from the mixture fit, with its a_n against the empirical BoN curve
//   accuracy-NAME            QAlign Fig. 2 analogue (--accuracy NAME:BON_ID:QALIGN_ID,...): error rate
//                            against FLOPs per question for BoN, MV, WMV (all from BoN's pool of
//                            samples: expectations over k-subsets) and QAlign runs at several step
//                            counts, with standard errors over questions
#include <QApplication>

#include <CLI/CLI.hpp>
#include <qcustomplot.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "beta_curve_plot.h"
#include "plot_export.h"
#include "plot_style.h"
#include "reward_curve_plot.h"
#include "run_data.h"
#include "rudder/analysis.h"
#include "rudder/grading.h"
#include "rudder/selection.h"
#include "rudder/session_db.h"

using namespace rudder;
using namespace rudder::widgets;

namespace {

std::unique_ptr<RunData> load(const SessionDb& db, int64_t id) { return runFromStore(db.loadRun(id)); }

double mean(const std::vector<double>& v)
{
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / double(v.size());
}

// All samples of one prompt, in arrival order (sample j of BoN/WMV is the j-th drawn).
std::map<int, std::vector<Sample>> byPrompt(const RunData& run)
{
    std::map<int, std::vector<Sample>> out;
    for (const auto& e : run.events())
        for (const auto& s : e.samples) out[s.prompt_index].push_back(s);
    return out;
}

// FLOPs (the run's own budget meter: LM and RM forward passes) spent on each prompt up to each of
// its iterations.  Budgets are cumulative over the run; an event's share is the step from the
// previous event, in emission order.
std::map<std::pair<int, int>, double> flopsByPromptIteration(const RunData& run)
{
    std::map<std::pair<int, int>, double> out;
    std::map<int, double> cum;
    double prev = 0;
    for (const auto& e : run.events()) {
        const double inc = e.budget.flops - prev;
        prev = e.budget.flops;
        if (e.prompt_index < 0) continue;
        cum[e.prompt_index] += inc;
        out[{e.prompt_index, e.iteration}] = cum[e.prompt_index];
    }
    return out;
}

// E[proxy, gold of the proxy-best of a random n-subset] of one prompt's N samples (without
// replacement): with samples sorted by proxy, rank j is the subset's best with probability
// C(j−1, n−1)/C(N, n).  The usual "BoN on the same samples" estimate, with far less noise than
// the first n samples alone.
std::pair<double, double> bonExpected(std::vector<Sample> s, size_t n)
{
    std::sort(s.begin(), s.end(), [](const Sample& a, const Sample& b) { return a.reward < b.reward; });
    const size_t N = s.size();
    auto lc = [](double a, double b) { return std::lgamma(a + 1) - std::lgamma(b + 1) - std::lgamma(a - b + 1); };
    double p = 0, g = 0;
    for (size_t j = n; j <= N; ++j) {
        const double w = std::exp(lc(double(j - 1), double(n - 1)) - lc(double(N), double(n)));
        p += w * s[j - 1].reward;
        g += w * s[j - 1].gold_reward.value_or(NAN);
    }
    return {p, g};
}

// The answer of each selection rule on the first n samples of a prompt.
const Sample& selectFirst(const std::vector<Sample>& all, size_t n, const std::string& rule, double betaRel)
{
    if (rule == "bon") {
        size_t best = 0;
        for (size_t i = 1; i < n; ++i)
            if (all[i].reward > all[best].reward) best = i;
        return all[best];
    }
    std::vector<std::vector<int32_t>> cands;
    std::vector<double> r;
    for (size_t i = 0; i < n; ++i) { cands.push_back(all[i].token_ids); r.push_back(all[i].reward); }
    std::vector<double> w;
    if (rule == "wmv") w = importanceWeights(r, betaRel * rewardScale(r));   // as runWMV, scale-free
    return all[size_t(mbrSelect(cands, w))];
}

// The chains' states of one prompt up to step `steps`, from burn-in on, one entry per state and
// step (a rejected proposal repeats the state): the pool runQAlign selects from.  Without any
// step past burn-in, the last states.
std::vector<Sample> qalignPool(const RunData& run, int prompt, int steps, int burnIn)
{
    std::map<int, Sample> state;
    std::vector<Sample> pool;
    for (const auto& e : run.events()) {
        if (e.prompt_index != prompt || e.iteration > steps) continue;
        for (const auto& s : e.samples)
            if (e.iteration == 0 || s.accepted.value_or(false)) state[s.index] = s;
        if (e.iteration >= burnIn)
            for (auto& [c, s] : state) pool.push_back(s);
    }
    if (pool.empty()) for (auto& [c, s] : state) pool.push_back(s);
    return pool;
}

// QAlign's answer after `steps` steps: MBR (with multiplicity) over the chains' states from
// burn-in on, as runQAlign selects it.
const Sample* qalignAnswer(const RunData& run, int prompt, int steps, int burnIn, std::vector<Sample>& keep)
{
    keep = qalignPool(run, prompt, steps, burnIn);
    if (keep.empty()) return nullptr;
    std::vector<const std::vector<int32_t>*> ids;
    for (const auto& s : keep) ids.push_back(&s.token_ids);
    return &keep[size_t(mbrSelectRepeated(ids).index)];
}

// QAlign's answer after its chains' states up to the run's end, as runQAlign picks it with the
// accuracy gold: the majority vote (grading::voteKey) over the states from burn-in on.
std::optional<double> qalignVoteGold(const RunData& run, int prompt, int burnIn)
{
    const std::vector<Sample> pool = qalignPool(run, prompt, INT32_MAX, burnIn);
    if (pool.empty()) return std::nullopt;
    std::vector<std::optional<std::string>> keys;
    for (const auto& s : pool) keys.push_back(extractAnswer(s.text));
    const Vote v = majorityVote(keys);
    return pool[size_t(std::max(v.index, 0))].gold_reward;
}

double seOf(const std::vector<double>& v)
{
    if (v.size() < 2) return NAN;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / double(v.size() - 1) / double(v.size()));
}

QCPGraph* line(QCustomPlot* p, const QString& name, const QVector<double>& x, const QVector<double>& y, QColor c,
               Qt::PenStyle style = Qt::SolidLine)
{
    QCPGraph* g = p->addGraph();
    g->setName(name);
    g->setData(x, y);
    g->setPen(QPen(c, 1.6, style));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    return g;
}

} // namespace

int main(int argc, char** argv)
{
    qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? "offscreen" : qgetenv("QT_QPA_PLATFORM"));
    QApplication app(argc, argv);
    CLI::App cli("rudder-figures: the papers' figures from a session's runs");
    std::string dbPath, out = "docs/figures";
    int64_t aisp = 0, bon = 0, bonSmall = 0, qalignSmall = 0;
    std::vector<int64_t> kl;
    double betaRel = 0.5;
    cli.add_option("--db", dbPath, "session file")->required();
    cli.add_option("--out", out, "output folder")->capture_default_str();
    cli.add_option("--aisp", aisp, "AISP run for the reward-vs-samples figure");
    cli.add_option("--kl", kl, "AISP runs for KL vs reward (one per (λ, α))")->delimiter(',');
    cli.add_option("--bon", bon, "BoN run (demo-rm) for the β(n) figure");
    cli.add_option("--bon-small", bonSmall, "BoN run against demo-rm-small (its samples also give WMV and MV)");
    cli.add_option("--qalign-small", qalignSmall, "QAlign run against demo-rm-small");
    cli.add_option("--wmv-beta", betaRel, "WMV's β in reward standard deviations")->capture_default_str();
    std::vector<std::string> accuracy;
    cli.add_option("--accuracy", accuracy,
                   "NAME:BON_ID:QALIGN_ID[:QALIGN_ID...] - error rate vs FLOPs on a prompt set with the accuracy gold")
        ->delimiter(',');
    CLI11_PARSE(cli, argc, argv);
    try {
        QDir().mkpath(QString::fromStdString(out));
        SessionDb db = SessionDb::open(dbPath, SessionDb::Mode::ReadOnly);
        std::ostringstream md;
        ExportOptions ex;
        ex.widthIn = ExportOptions::kSingleColumn;
        // The workbench's own plots carry a full legend: double column; the figures drawn here: single.
        auto save = [&](QCustomPlot* p, const std::string& name, double widthIn = ExportOptions::kSingleColumn) {
            ExportOptions o = ex;
            o.widthIn = widthIn;
            o.dpi = 150;   // the PNG is for the README; the PDF is the figure
            for (const char* ext : {".pdf", ".png"}) {
                const QString path = QString::fromStdString(out + "/" + name + ext);
                const QString err = exportPlot(p, path, o);
                if (!err.isEmpty()) throw std::runtime_error(err.toStdString());
                std::printf("wrote %s\n", qPrintable(path));
            }
        };

        if (aisp) {
            auto run = load(db, aisp);
            RewardCurvePlot plot;
            plot.resize(800, 500);
            plot.setRun(run.get());
            plot.setPromptIndex(0);   // one prompt, as the paper's Fig. 4
            save(plot.plot(), "aisp-reward-vs-samples", ExportOptions::kDoubleColumn);
            md << "## aisp-reward-vs-samples (run " << aisp << ", " << run->meta().config.dump() << ")\n\n"
               << "| iteration | mean reward | best reward | best so far (prompt 0) |\n| --- | --- | --- | --- |\n";
            for (const auto& e : run->events())
                if (e.prompt_index == 0)
                    md << "| " << e.iteration << " | " << e.stats.value("mean_reward", NAN) << " | "
                       << e.stats.value("best_reward", NAN) << " | " << e.stats.value("best_so_far", NAN) << " |\n";
            md << "\n";
        }

        if (!kl.empty()) {
            QCustomPlot p;
            p.resize(800, 500);
            QVector<double> x, y;
            std::vector<QCPItemText*> labels;
            md << "## aisp-kl-vs-reward\n\n| run | λ (× std) | α | mean KL to base (nats) | mean final reward | mean gold |\n"
                  "| --- | --- | --- | --- | --- | --- |\n";
            for (int64_t id : kl) {
                auto run = load(db, id);
                const auto& c = run->meta().config;
                const auto& res = *run->result();
                std::vector<double> k, r, g;
                for (const auto& pr : res.summary.value("prompts", nlohmann::json::array()))
                    if (pr.contains("kl_to_base") && pr["kl_to_base"].is_number()) k.push_back(pr["kl_to_base"].get<double>());
                for (const auto& f : res.final) {
                    r.push_back(f.reward);
                    if (f.gold_reward) g.push_back(*f.gold_reward);
                }
                x.push_back(mean(k));
                y.push_back(mean(r));
                auto* t = new QCPItemText(&p);
                t->position->setCoords(mean(k), mean(r));
                t->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
                t->setText(QString("λ %1, α %2").arg(c.value("lambda", NAN)).arg(c.value("alpha", NAN)));
                t->setFont(QFont(p.font().family(), 6));
                t->setPadding(QMargins(6, 0, 0, 0));   // clear of the marker
                labels.push_back(t);
                md << "| " << id << " | " << c.value("lambda", NAN) << " | " << c.value("alpha", NAN) << " | " << mean(k)
                   << " | " << mean(r) << " | " << mean(g) << " |\n";
            }
            auto* g = line(&p, "AISP runs", x, y, QColor(31, 119, 180), Qt::NoPen);
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 7));
            p.xAxis->setLabel("KL to the base model (nats, mean decode)");
            p.yAxis->setLabel("final reward (proxy)");
            p.rescaleAxes();
            // Room on the right and above for the labels.
            p.xAxis->setRange(p.xAxis->range().lower - 0.1 * p.xAxis->range().size(),
                              p.xAxis->range().upper + 0.6 * p.xAxis->range().size());
            p.yAxis->scaleRange(1.3, p.yAxis->range().center());
            // Two runs at nearly the same point would print one label over the other: the later
            // one goes to the left of its point.
            const double dx = 0.25 * p.xAxis->range().size(), dy = 0.06 * p.yAxis->range().size();
            for (size_t i = 0; i < labels.size(); ++i)
                for (size_t j = 0; j < i; ++j)
                    if (std::abs(x[i] - x[j]) < dx && std::abs(y[i] - y[j]) < dy &&
                        labels[j]->positionAlignment() == (Qt::AlignLeft | Qt::AlignBottom)) {
                        labels[i]->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
                        labels[i]->setPadding(QMargins(0, 0, 6, 0));
                    }
            save(&p, "aisp-kl-vs-reward");
            md << "\n";
        }

        if (bonSmall) {
            auto run = load(db, bonSmall);
            const auto prompts = byPrompt(*run);
            std::unique_ptr<RunData> q = qalignSmall ? load(db, qalignSmall) : nullptr;
            QCustomPlot gold, proxy;
            struct Curve { QString name; QColor color; QVector<double> x, g, p, f; };   // f: FLOPs per prompt
            std::vector<Curve> curves = {{"BoN", QColor(214, 39, 40), {}, {}, {}, {}},
                                         {"WMV", QColor(31, 119, 180), {}, {}, {}, {}},
                                         {"MV", QColor(127, 127, 127), {}, {}, {}, {}},
                                         {"QAlign", QColor(44, 160, 44), {}, {}, {}, {}}};
            // BoN, WMV and MV select among the same i.i.d. samples: n of them cost n times the
            // run's mean FLOPs per sample (prompt prefill included).
            const Budget spent = run->events().empty() ? Budget{} : run->events().back().budget;
            const double flopsPerSample = spent.samples ? spent.flops / double(spent.samples) : NAN;
            const char* rules[] = {"bon", "wmv", "mv"};
            size_t nMax = SIZE_MAX;
            for (const auto& [p, s] : prompts) nMax = std::min(nMax, s.size());
            for (size_t n = 1; n <= nMax; n *= 2)
                for (int k = 0; k < 3; ++k) {
                    std::vector<double> gs, ps;
                    for (const auto& [p, s] : prompts) {
                        if (k == 0) {
                            const auto [ep, eg] = bonExpected(s, n);
                            ps.push_back(ep);
                            gs.push_back(eg);
                            continue;
                        }
                        const Sample& a = selectFirst(s, n, rules[k], betaRel);
                        ps.push_back(a.reward);
                        if (a.gold_reward) gs.push_back(*a.gold_reward);
                    }
                    curves[size_t(k)].x << double(n);
                    curves[size_t(k)].f << double(n) * flopsPerSample;
                    curves[size_t(k)].g << mean(gs);
                    curves[size_t(k)].p << mean(ps);
                }
            if (q) {
                const auto& c = q->meta().config;
                const int chains = c.value("chains", 4), burn = c.value("burn_in", 8), steps = c.value("steps", 64);
                const double extra = c.value("scale", 0) ? std::max(0, c.value("pilot", 16) - chains) : 0;
                const auto qFlops = flopsByPromptIteration(*q);
                // Iterations are 0..steps-1 (step 0 starts the chains): t is the last one included.
                const int last = steps - 1;
                for (int t = 1; t <= last; t = t * 2 >= last && t != last ? last : t * 2) {
                    std::vector<double> gs, ps, fs;
                    for (const auto& [p, s] : byPrompt(*q)) {
                        if (auto it = qFlops.find({p, t}); it != qFlops.end()) fs.push_back(it->second);
                        std::vector<Sample> keep;
                        if (const Sample* a = qalignAnswer(*q, p, t, std::min(burn, t), keep)) {
                            ps.push_back(a->reward);
                            if (a->gold_reward) gs.push_back(*a->gold_reward);
                        }
                    }
                    curves[3].x << double(chains) * (t + 1) + extra;
                    curves[3].f << mean(fs);   // suffix proposals cost less than whole samples
                    curves[3].g << mean(gs);
                    curves[3].p << mean(ps);
                }
            }
            md << "## qalign-gold-vs-compute (BoN: expected over n-subsets of run " << bonSmall
               << "'s samples; WMV/MV: its first n samples; QAlign: run " << qalignSmall << " after t steps; reward = demo-rm-small, gold = lexicon)\n\n"
               << "| method | samples per prompt | FLOPs per prompt | mean gold | mean proxy |\n| --- | --- | --- | --- | --- |\n";
            QCustomPlot goldF, proxyF;
            for (auto& c : curves) {
                if (c.x.isEmpty()) continue;
                line(&gold, c.name, c.x, c.g, c.color);
                line(&proxy, c.name, c.x, c.p, c.color);
                line(&goldF, c.name, c.f, c.g, c.color);
                line(&proxyF, c.name, c.f, c.p, c.color);
                for (int i = 0; i < c.x.size(); ++i)
                    md << "| " << c.name.toStdString() << " | " << c.x[i] << " | " << c.f[i] << " | " << c.g[i] << " | "
                       << c.p[i] << " |\n";
            }
            md << "\n";
            for (auto [plot, label, name, xLabel] :
                 {std::tuple{&gold, "gold (lexicon)", "qalign-gold-vs-compute", "samples per prompt"},
                  std::tuple{&proxy, "proxy (demo-rm-small)", "qalign-proxy-vs-compute", "samples per prompt"},
                  std::tuple{&goldF, "gold (lexicon)", "qalign-gold-vs-flops", "FLOPs per prompt (LM + RM forward passes)"},
                  std::tuple{&proxyF, "proxy (demo-rm-small)", "qalign-proxy-vs-flops", "FLOPs per prompt (LM + RM forward passes)"}}) {
                plot->resize(800, 500);
                plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
                plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
                plot->xAxis->setLabel(xLabel);
                plot->yAxis->setLabel(label);
                plot->legend->setVisible(true);
                plot->legend->setFont(QFont(plot->font().family(), 6));
                plot->legend->setIconSize(14, 6);
                plot->legend->setRowSpacing(-3);
                plot->legend->setBrush(QColor(255, 255, 255, 200));
                plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);   // curves start low
                plot->rescaleAxes();
                plot->yAxis->scaleRange(1.15, plot->yAxis->range().center());
                save(plot, name);
            }
        }

        if (bon) {
            auto run = load(db, bon);
            BetaCurvePlot plot;
            plot.resize(800, 500);
            plot.setRun(run.get());
            save(plot.plot(), "beta-curve", ExportOptions::kDoubleColumn);
            // The prediction behind β(n): a_n (eq. 17, the location of BoN's maximum from the
            // mixture's dominant component) against the empirical best-of-n curve, per prompt.
            QCustomPlot loc;
            QVector<double> xn, emp, pred;
            const auto prompts = byPrompt(*run);
            size_t N = SIZE_MAX;
            for (const auto& [p, s] : prompts) N = std::min(N, s.size());
            std::vector<std::vector<double>> e(prompts.size()), a(prompts.size());
            size_t k = 0;
            for (const auto& [p, s] : prompts) {
                std::vector<double> r;
                for (size_t i = 0; i < N; ++i) r.push_back(s[i].reward);
                e[k] = analysis::bestOfKCurve(r);
                const auto curve = analysis::betaCurve(analysis::fitGmm2(r), int(N));
                a[k].assign(N + 1, NAN);
                for (const auto& pt : curve)
                    if (pt.a_n) a[k][size_t(pt.n)] = *pt.a_n;
                ++k;
            }
            md << "## bon-location-vs-empirical (run " << bon << ", " << prompts.size()
               << " prompts): a_n (eq. 17) vs the empirical E[best of n]\n\n| n | empirical | a_n |\n| --- | --- | --- |\n";
            for (size_t n = 2; n <= N; n = n < 8 ? n + 1 : n * 2) {
                std::vector<double> ev, av;
                for (size_t j = 0; j < e.size(); ++j) {
                    ev.push_back(e[j][n - 1]);
                    if (std::isfinite(a[j][n])) av.push_back(a[j][n]);
                }
                xn << double(n);
                emp << mean(ev);
                pred << (av.size() == ev.size() ? mean(av) : NAN);
                md << "| " << n << " | " << mean(ev) << " | " << (av.size() == ev.size() ? mean(av) : NAN) << " |\n";
            }
            md << "\n";
            line(&loc, "empirical best-of-n", xn, emp, QColor(214, 39, 40));
            line(&loc, "a_n from the mixture fit (eq. 17)", xn, pred, QColor(31, 119, 180), Qt::DashLine);
            loc.resize(800, 500);
            loc.xAxis->setScaleType(QCPAxis::stLogarithmic);
            loc.xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
            loc.xAxis->setLabel("n");
            loc.yAxis->setLabel("max reward of n samples");
            loc.legend->setVisible(true);
            loc.axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
            loc.rescaleAxes();
            save(&loc, "bon-location-vs-empirical");
            md << "## beta-curve (run " << bon << "): " << plot.toCsv(false).count('\n') << " plotted points; CSV in beta-curve.csv\n\n";
            std::ofstream(out + "/beta-curve.csv") << plot.toCsv(false).toStdString();
        }
        // The accuracy figures' numbers live in their own marked block of numbers.md, kept when
        // only the other figures are redrawn (and the other way round).
        const std::string begin = "<!-- accuracy:begin -->", end = "<!-- accuracy:end -->";
        std::string accBlock, otherBlock;
        {
            std::ifstream in(out + "/numbers.md");
            std::string old((std::istreambuf_iterator<char>(in)), {});
            const size_t a = old.find(begin), b = old.find(end);
            if (a != std::string::npos && b != std::string::npos) {
                accBlock = old.substr(a, b + end.size() - a);
                otherBlock = old.substr(0, a) + old.substr(b + end.size());
            } else {
                otherBlock = old;
            }
        }
        if (!accuracy.empty()) {
            std::ostringstream acc;
            acc << begin << "\n## Accuracy against compute (QAlign Fig. 2 analogue)\n\n";
            for (const auto& spec : accuracy) {
                std::vector<std::string> f;
                std::stringstream ss(spec);
                for (std::string x; std::getline(ss, x, ':');) f.push_back(x);
                if (f.size() < 3) throw std::runtime_error("--accuracy " + spec + ": expected NAME:BON_ID:QALIGN_ID...");
                const std::string name = f[0];
                auto pool = load(db, std::stoll(f[1]));
                const auto prompts = byPrompt(*pool);
                const Budget spent = pool->events().empty() ? Budget{} : pool->events().back().budget;
                const double flopsPerSample = spent.samples ? spent.flops / double(spent.samples) : NAN;
                std::vector<analysis::GradedSamples> graded;
                std::vector<std::vector<Sample>> bySample;
                for (const auto& [p, ss] : prompts) {
                    analysis::GradedSamples g;
                    for (const auto& smp : ss) {
                        g.keys.push_back(extractAnswer(smp.text));
                        g.correct.push_back(smp.gold_reward.value_or(0) >= 0.5);
                        g.rewards.push_back(smp.reward);
                    }
                    graded.push_back(std::move(g));
                }
                const analysis::AccuracyCurves c = analysis::accuracyCurves(graded, betaRel, 1, 1000);
                struct Curve { QString name; QColor color; QVector<double> f, err, lo, hi; std::vector<std::string> rows; };
                std::vector<Curve> curves = {{"BoN", QColor(214, 39, 40), {}, {}, {}, {}, {}},
                                             {"MV", QColor(127, 127, 127), {}, {}, {}, {}, {}},
                                             {"WMV", QColor(31, 119, 180), {}, {}, {}, {}, {}},
                                             {"QAlign", QColor(44, 160, 44), {}, {}, {}, {}, {}}};
                auto add = [&](Curve& cv, double samples, double flops, double accMean, double se) {
                    cv.f << flops;
                    cv.err << 1 - accMean;
                    cv.lo << 1 - accMean - (std::isnan(se) ? 0 : se);
                    cv.hi << 1 - accMean + (std::isnan(se) ? 0 : se);
                    char b[160];
                    std::snprintf(b, sizeof b, "| %s | %g | %.3g | %.3f ± %.3f |", cv.name.toStdString().c_str(), samples, flops,
                                  1 - accMean, se);
                    cv.rows.push_back(b);
                };
                for (size_t i = 0; i < c.bestOfN.size(); ++i) {
                    const double k = c.bestOfN[i].k;
                    add(curves[0], k, k * flopsPerSample, c.bestOfN[i].mean, c.bestOfN[i].se);
                    add(curves[1], k, k * flopsPerSample, c.majority[i].mean, c.majority[i].se);
                    add(curves[2], k, k * flopsPerSample, c.weightedMajority[i].mean, c.weightedMajority[i].se);
                }
                for (size_t j = 2; j < f.size(); ++j) {
                    auto q = load(db, std::stoll(f[j]));
                    const auto& qc = q->meta().config;
                    const Budget qb = q->events().empty() ? Budget{} : q->events().back().budget;
                    std::vector<double> g;
                    for (const auto& [p, ss] : byPrompt(*q))
                        if (auto v = qalignVoteGold(*q, p, int(qc.value("burn_in", int64_t(0))))) g.push_back(*v);
                    const double nq = double(byPrompt(*q).size());
                    add(curves[3], double(qb.samples) / nq, qb.flops / nq, mean(g), seOf(g));
                }
                acc << "### " << name << " (" << prompts.size() << " questions; BoN pool: run " << f[1] << ", "
                    << (prompts.empty() ? 0 : prompts.begin()->second.size()) << " samples per question)\n\n"
                    << "| method | samples per question | FLOPs per question | error rate ± se |\n| --- | --- | --- | --- |\n";
                QCustomPlot plot;
                for (auto& cv : curves) {
                    if (cv.f.isEmpty()) continue;
                    QCPGraph* gph = line(&plot, cv.name, cv.f, cv.err, cv.color);
                    // ± one standard error as a light band.
                    QCPGraph* lo = plot.addGraph();
                    lo->setData(cv.f, cv.lo);
                    lo->setPen(Qt::NoPen);
                    lo->removeFromLegend();
                    QCPGraph* hi = plot.addGraph();
                    hi->setData(cv.f, cv.hi);
                    hi->setPen(Qt::NoPen);
                    QColor fill = cv.color;
                    fill.setAlpha(40);
                    hi->setBrush(fill);
                    hi->setChannelFillGraph(lo);
                    hi->removeFromLegend();
                    (void)gph;
                    for (const auto& r : cv.rows) acc << r << "\n";
                }
                acc << "\n";
                plot.resize(800, 500);
                plot.xAxis->setScaleType(QCPAxis::stLogarithmic);
                plot.xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
                plot.xAxis->setLabel("FLOPs per question (LM + RM forward passes)");
                plot.yAxis->setLabel(QString("error rate (%1)").arg(QString::fromStdString(name)));
                plot.legend->setVisible(true);
                plot.legend->setFont(QFont(plot.font().family(), 6));
                plot.legend->setIconSize(14, 6);
                plot.legend->setRowSpacing(-3);
                plot.legend->setBrush(QColor(255, 255, 255, 200));
                plot.axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
                plot.rescaleAxes();
                // An empty band below the curves for the legend, so it covers no data.
                const QCPRange yr = plot.yAxis->range();
                plot.yAxis->setRange(yr.lower - 1.1 * yr.size(), yr.upper + 0.05 * yr.size());
                save(&plot, "accuracy-" + name);
            }
            acc << end;
            accBlock = acc.str();
        }
        if (md.str().empty()) md << otherBlock.substr(std::min(otherBlock.size(), otherBlock.find("\n\n") + 2));
        std::ofstream(out + "/numbers.md") << "# Numbers behind docs/figures (rudder-figures)\n\n" << md.str()
                                           << (accBlock.empty() ? "" : "\n" + accBlock + "\n");
        std::printf("wrote %s/numbers.md\n", out.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rudder-figures: %s\n", e.what());
        return 1;
    }
    return 0;
}
