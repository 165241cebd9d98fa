// rudder-cli sweep: a grid over method parameters (and seeds) against a reference method at the
// same budget, every point a normal run in the session tagged with its sweep, then one table:
// mean proxy/gold ± standard error per point and the paired difference to the reference — "which
// settings win, by how much, and is it noise?".  Rerunning the same command continues the sweep:
// finished points are reused, interrupted ones resumed.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include "commands.h"
#include "rudder/answer_reward.h"
#include "run_common.h"
#include "rudder/error.h"
#include "rudder/sweep.h"
#include "rudder/sweep_store.h"

using nlohmann::json;

namespace rudder::cli {

namespace {

std::string fmt(const MeanSe& m)
{
    if (m.n == 0) return "-";
    char b[64];
    if (std::isnan(m.se)) std::snprintf(b, sizeof b, "%.4f", m.mean);
    else std::snprintf(b, sizeof b, "%.4f ± %.4f", m.mean, m.se);
    return b;
}

std::string fmt(const std::optional<PairedDiff>& d)
{
    if (!d) return "-";
    char b[64];
    if (std::isnan(d->se)) std::snprintf(b, sizeof b, "%+.4f", d->mean);
    else std::snprintf(b, sizeof b, "%+.4f ± %.4f (%+.1f)", d->mean, d->se, std::isfinite(d->z) ? d->z : 0.0);
    return b;
}

json cellJson(const SweepCell& c)
{
    auto ms = [](const MeanSe& m) {
        return m.n ? json{{"mean", m.mean}, {"se", std::isnan(m.se) ? json(nullptr) : json(m.se)}, {"n", m.n}} : json(nullptr);
    };
    auto pd = [](const std::optional<PairedDiff>& d) {
        return d ? json{{"mean", d->mean}, {"se", std::isnan(d->se) ? json(nullptr) : json(d->se)}, {"z", std::isfinite(d->z) ? json(d->z) : json(nullptr)},
                        {"n", d->n}}
                 : json(nullptr);
    };
    return {{"params", c.params}, {"runs", c.runs},        {"proxy", ms(c.proxyStats)},       {"gold", ms(c.goldStats)},
            {"proxy_vs_reference", pd(c.proxyVsRef)}, {"gold_vs_reference", pd(c.goldVsRef)}, {"beats_reference", c.beatsReference()}};
}

json summaryJson(const SweepSummary& s)
{
    json cells = json::array();
    for (const auto& c : s.cells) cells.push_back(cellJson(c));
    return {{"name", s.name}, {"method", s.method}, {"reference", s.reference.empty() ? json(nullptr) : json(s.reference)},
            {"keys", s.keys}, {"cells", cells}, {"reference_cell", s.referenceCell ? cellJson(*s.referenceCell) : json(nullptr)}};
}

void printSummary(const SweepSummary& s, const std::string& db, bool graded = false)
{
    size_t pairs = 0;
    for (const auto& c : s.cells) pairs = std::max(pairs, c.proxy.size());
    std::printf("sweep \"%s\" in %s: %s over %zu grid points, %zu prompt x seed answers per point%s\n", s.name.c_str(),
                db.c_str(), s.method.c_str(), s.cells.size(), pairs,
                s.reference.empty() ? "" : (", reference " + s.reference).c_str());
    std::string head;
    for (const auto& k : s.keys) head += k + " ";
    // With the accuracy gold (--gold answer) the gold columns are accuracy.
    const std::string g = graded ? "accuracy" : "gold";
    std::printf("%-26s %19s %19s %26s %26s  %s\n", head.empty() ? "point" : head.c_str(), "proxy ± se", (g + " ± se").c_str(),
                ("proxy − " + (s.reference.empty() ? std::string("ref") : s.reference) + " (z)").c_str(),
                (g + " − " + (s.reference.empty() ? std::string("ref") : s.reference) + " (z)").c_str(), "runs");
    auto runs = [](const std::vector<int64_t>& ids) {
        std::string r;
        for (auto id : ids) r += (r.empty() ? "" : ",") + std::to_string(id);
        return r;
    };
    int winners = 0;
    for (const auto& c : s.cells) {
        std::string label;
        for (const auto& k : s.keys) label += (c.params.contains(k) ? (c.params[k].is_string() ? c.params[k].get<std::string>() : c.params[k].dump()) : "-") + " ";
        if (c.beatsReference()) {
            label += "*";
            ++winners;
        }
        std::printf("%-26s %19s %19s %26s %26s  %s\n", label.c_str(), fmt(c.proxyStats).c_str(), fmt(c.goldStats).c_str(),
                    fmt(c.proxyVsRef).c_str(), fmt(c.goldVsRef).c_str(), runs(c.runs).c_str());
    }
    if (s.referenceCell)
        std::printf("%-26s %19s %19s %26s %26s  %s\n", (s.reference + " (reference)").c_str(), fmt(s.referenceCell->proxyStats).c_str(),
                    fmt(s.referenceCell->goldStats).c_str(), "", "", runs(s.referenceCell->runs).c_str());
    if (s.referenceCell)
        std::printf("* proxy above the reference by more than 2 standard errors of the paired difference "
                    "(same prompt, same seed): %d of %zu points\n",
                    winners, s.cells.size());
}

} // namespace

void addSweepCommand(CLI::App& app)
{
    struct Opts {
        ModelOptions m;
        PromptOptions p;
        std::string method = "aisp", reference = "bon", axis = "samples", db = "rudder-session.sqlite", name;
        std::vector<std::string> grid, sets;
        double budget = 0;
        int seeds = 1;
        uint64_t seed = 0;
        bool json = false, reportOnly = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "sweep", "Run a grid over one or more method parameters (x seeds) and a reference method at the same budget, "
                 "each point a run in the session tagged with the sweep, and print mean proxy/gold ± standard error "
                 "per point with the paired difference to the reference.  The same command again continues an "
                 "interrupted sweep; the GUI's Sweep view opens it.");
    cmd->add_option("--method", o->method, "Method to sweep")->capture_default_str();
    cmd->add_option("--grid", o->grid,
                    "KEY=v1,v2,... | KEY=log:LO:HI:N | KEY=lin:LO:HI:N, a parameter of the method (repeatable: the "
                    "grid is every combination)");
    cmd->add_option("--seeds", o->seeds, "Seeds per point: --seed, --seed+1, ...")->capture_default_str()->check(CLI::Range(1, 100));
    cmd->add_option("--reference", o->reference, "Method at the same budget to compare against ('none': no reference)")
        ->capture_default_str();
    cmd->add_option("--budget-axis", o->axis, "samples | tokens | flops")->capture_default_str();
    cmd->add_option("--budget", o->budget, "Budget per prompt on that axis (see `rudder-cli compare --help`)");
    cmd->add_option("--name", o->name, "Sweep name in the session (default: METHOD KEY×KEY AXIS=BUDGET)");
    addModelOptions(cmd, o->m);
    addPromptOptions(cmd, o->p);
    cmd->add_option("--db", o->db, "Session file (SQLite); created if missing")->capture_default_str();
    cmd->add_option("--seed", o->seed, "First seed")->capture_default_str()->check(seedRange());
    cmd->add_option("--set", o->sets, "key=value for the swept method and the reference, or method.key=value");
    cmd->add_flag("--json", o->json, "Print the table as JSON on stdout");
    cmd->add_flag("--report-only", o->reportOnly, "Run nothing: print the table of sweep --name from the session");
    cmd->callback([o] {
        if (o->reportOnly) {
            SessionDb db = SessionDb::open(o->db, SessionDb::Mode::ReadOnly);
            if (o->name.empty()) {
                std::string names;
                for (const auto& n : sessionSweeps(db)) names += (names.empty() ? "" : "; ") + n;
                throw UsageError("--name", "", "--report-only needs the sweep's --name (in " + o->db + ": " +
                                                   (names.empty() ? std::string("none") : names) + ")");
            }
            const SweepSummary s = loadSweep(db, o->name);
            if (s.cells.empty() && !s.referenceCell) throw UsageError(o->db, "--name", "no finished run of a sweep named \"" + o->name + "\"");
            if (o->json) std::cout << summaryJson(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
            else printSummary(s, o->db);
            return;
        }
        std::vector<SweepAxis> axes;
        for (const auto& g : o->grid) axes.push_back(parseSweepAxis(g));
        const auto prompts = collectPrompts(o->p, o->seed);
        Workbench wb;
        loadModels(wb, o->m);
        applyAnswerGold(wb, o->m, prompts);
        SweepRequest req;
        req.method = o->method;
        req.baseConfig = compareConfig(o->method, o->sets);
        voteWhenGraded(o->m, o->method, req.baseConfig, o->sets);
        req.axes = axes;
        req.reference = o->reference == "none" ? "" : o->reference;
        if (!req.reference.empty()) req.referenceConfig = compareConfig(req.reference, o->sets);
        req.budgetAxis = o->axis;
        req.budget = o->budget;
        req.flopsPerToken = 2.0 * double(wb.base().parameters) + (wb.reward() ? wb.reward()->flopsPerToken() : 0.0);
        req.firstSeed = o->seed;
        req.seeds = o->seeds;
        req.name = o->name;
        const SweepPlan plan = planSweep(req);
        const std::string& name = plan.name;
        const std::vector<std::string>& keys = plan.keys;
        const std::vector<SweepJob>& jobs = plan.jobs;
        SessionDb db = SessionDb::open(o->db);
        const std::vector<RunRow> existing = db.listRuns();
        std::vector<RunOutcome> outs;
        size_t done = 0;
        for (const auto& job : jobs) {
            ++done;
            const std::optional<RunRow> prior = findSweepRun(existing, job, o->db);
            std::fprintf(stderr, "rudder-cli: sweep [%zu/%zu] %s %s, seed %llu", done, jobs.size(), job.method.c_str(),
                         sweepPointLabel(job.params, keys).c_str(), static_cast<unsigned long long>(job.seed));
            if (prior && prior->status == RunStatus::Done) {
                std::fprintf(stderr, ": already in the session (run %lld)\n", static_cast<long long>(prior->id));
                continue;
            }
            std::fprintf(stderr, "\n");
            if (prior && prior->status == RunStatus::Running)
                throw UsageError(o->db, "--name", "run " + std::to_string(prior->id) + " of sweep \"" + name +
                                                      "\" is being written by another process");
            RunSpec spec = makeSpec(o->m, job.method, job.config, job.seed, prompts);
            spec.tags = job.tags;
            std::optional<int64_t> resume;
            if (prior) resume = prior->id;   // interrupted, cancelled or failed: continued where it stopped
            outs.push_back(executeRun(wb, db, spec, resume, true));
            if (outs.back().result.status != RunStatus::Done) break;
        }
        const SweepSummary s = loadSweep(db, name);
        if (o->json) std::cout << summaryJson(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        else printSummary(s, o->db, answerGoldField(o->m.gold).has_value());
        for (const auto& out : outs) reportEnd(out);
    });
}

} // namespace rudder::cli
