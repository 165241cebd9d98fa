// Sweep grids, tags and their statistics (rudder/sweep.h).
#include "rudder/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "rudder/error.h"
#include "rudder/methods.h"

namespace rudder {

namespace {

std::vector<std::string> split(const std::string& s, char sep)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep)) out.push_back(item);
    return out;
}

// "2" -> 2 (integer), "0.5" -> 0.5, anything else stays text (a method's choice parameter).
nlohmann::json parseValue(const std::string& text)
{
    if (text.empty()) return text;
    char* end = nullptr;
    const long long i = std::strtoll(text.c_str(), &end, 10);
    if (end && *end == '\0') return i;
    const double d = std::strtod(text.c_str(), &end);
    if (end && *end == '\0' && std::isfinite(d)) return d;
    return text;
}

} // namespace

SweepAxis parseSweepAxis(const std::string& spec)
{
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        throw UsageError("--grid", spec, "expected KEY=v1,v2,... or KEY=log:LO:HI:N or KEY=lin:LO:HI:N");
    SweepAxis a;
    a.key = spec.substr(0, eq);
    const std::string rhs = spec.substr(eq + 1);
    if (rhs.rfind("log:", 0) == 0 || rhs.rfind("lin:", 0) == 0) {
        const bool log = rhs[1] == 'o';
        const auto f = split(rhs.substr(4), ':');
        if (f.size() != 3) throw UsageError("--grid", spec, "a range is " + rhs.substr(0, 3) + ":LO:HI:N");
        const nlohmann::json lo = parseValue(f[0]), hi = parseValue(f[1]), n = parseValue(f[2]);
        if (!lo.is_number() || !hi.is_number() || !n.is_number_integer() || n.get<int64_t>() < 2 || n.get<int64_t>() > 64)
            throw UsageError("--grid", spec, "LO and HI must be numbers and N an integer from 2 to 64");
        const double l = lo.get<double>(), h = hi.get<double>();
        if (log && !(l > 0 && h > 0)) throw UsageError("--grid", spec, "a log range needs LO and HI above zero");
        const int64_t count = n.get<int64_t>();
        for (int64_t i = 0; i < count; ++i) {
            const double t = double(i) / double(count - 1);
            // Rounded to 4 significant digits: the values are labels in tables and tags.
            double v = log ? std::exp(std::log(l) + t * (std::log(h) - std::log(l))) : l + t * (h - l);
            v = std::stod([&] { std::ostringstream o; o.precision(4); o << v; return o.str(); }());
            a.values.push_back(v);
        }
    } else {
        for (const auto& v : split(rhs, ',')) {
            if (v.empty()) throw UsageError("--grid", spec, "has an empty value");
            a.values.push_back(parseValue(v));
        }
    }
    for (size_t i = 0; i < a.values.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (a.values[i] == a.values[j]) throw UsageError("--grid", spec, "repeats the value " + a.values[i].dump());
    return a;
}

std::vector<nlohmann::json> sweepPoints(const std::vector<SweepAxis>& axes)
{
    std::vector<nlohmann::json> points{nlohmann::json::object()};
    for (const auto& a : axes) {
        std::vector<nlohmann::json> next;
        for (const auto& p : points)
            for (const auto& v : a.values) {
                nlohmann::json q = p;
                q[a.key] = v;
                next.push_back(q);
            }
        points = std::move(next);
    }
    return points;
}

std::string sweepPointLabel(const nlohmann::json& params, const std::vector<std::string>& keys)
{
    std::vector<std::string> order = keys;
    if (order.empty())
        for (const auto& [k, v] : params.items()) order.push_back(k);
    std::string s;
    for (const auto& k : order) {
        if (!params.contains(k)) continue;
        const auto& v = params[k];
        s += (s.empty() ? "" : " ") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    return s.empty() ? "reference" : s;
}

nlohmann::json sweepTag(const std::string& name, const std::string& role, const std::string& method,
                        const nlohmann::json& params, uint64_t seed, const std::vector<std::string>& keys)
{
    return {{"name", name}, {"role", role}, {"method", method}, {"params", params}, {"seed", seed}, {"keys", keys}};
}

std::string defaultSweepName(const std::string& method, const std::vector<std::string>& keys, const std::string& axis,
                             double budget)
{
    std::string name = method + " ";
    for (size_t i = 0; i < keys.size(); ++i) name += (i ? "×" : "") + keys[i];
    char b[64];
    std::snprintf(b, sizeof b, " %s=%g", axis.c_str(), budget);
    return name + b;
}

SweepPlan planSweep(const SweepRequest& r)
{
    const MethodInfo& info = methodInfo(r.method);
    if (r.axes.empty()) throw UsageError("--grid", "", "give at least one KEY=values");
    SweepPlan plan;
    for (const auto& a : r.axes) {
        bool has = false;
        for (const auto& p : info.params) has = has || p.key == a.key;
        if (!has) throw UsageError("--grid", a.key, "is not a parameter of " + r.method);
        if (std::find(plan.keys.begin(), plan.keys.end(), a.key) != plan.keys.end())
            throw UsageError("--grid", a.key, "is swept twice");
        plan.keys.push_back(a.key);
    }
    if (!(r.budget > 0)) throw UsageError("--budget", std::to_string(r.budget), "must be positive: the points and the reference spend the same budget");
    if (r.budgetAxis != "samples" && r.budgetAxis != "tokens" && r.budgetAxis != "flops")
        throw UsageError("--budget-axis", r.budgetAxis, "must be samples, tokens or flops");
    if (r.seeds < 1) throw UsageError("--seeds", std::to_string(r.seeds), "must be at least 1");
    plan.name = r.name.empty() ? defaultSweepName(r.method, plan.keys, r.budgetAxis, r.budget) : r.name;
    // Every configuration first, so a bad value stops the sweep before its first run.
    const auto points = sweepPoints(r.axes);
    std::vector<nlohmann::json> configs;
    for (const auto& params : points) {
        nlohmann::json cfg = r.baseConfig;
        for (const auto& [k, v] : params.items()) cfg[k] = v;
        try {
            cfg = budgetedConfig(r.method, cfg, r.budgetAxis, r.budget, r.flopsPerToken);
        } catch (const UsageError& e) {
            throw UsageError("--grid", sweepPointLabel(params, plan.keys), e.what());
        }
        for (const auto& [k, v] : params.items())
            if (cfg[k] != v && !(cfg[k].is_number() && v.is_number() && cfg[k].get<double>() == v.get<double>()))
                throw UsageError("--grid", k, "is set by the matched budget (" + cfg[k].dump() +
                                                  "): sweep another parameter, or the budget itself with separate sweeps");
        configs.push_back(cfg);
    }
    nlohmann::json refConfig;
    if (!r.reference.empty()) {
        // The reference decodes responses as long as the swept method's: only how the budget is
        // spent differs.
        nlohmann::json rc = r.referenceConfig;
        if (!configs.empty() && configs.front().contains("max_new_tokens")) rc["max_new_tokens"] = configs.front()["max_new_tokens"];
        refConfig = budgetedConfig(r.reference, rc, r.budgetAxis, r.budget, r.flopsPerToken);
    }
    for (int s = 0; s < r.seeds; ++s) {
        const uint64_t seed = r.firstSeed + uint64_t(s);
        if (!r.reference.empty())
            plan.jobs.push_back({r.reference, "reference", nlohmann::json::object(), refConfig,
                                 {{"sweep", sweepTag(plan.name, "reference", r.reference, nlohmann::json::object(), seed, plan.keys)}}, seed});
        for (size_t i = 0; i < points.size(); ++i)
            plan.jobs.push_back({r.method, "point", points[i], configs[i],
                                 {{"sweep", sweepTag(plan.name, "point", r.method, points[i], seed, plan.keys)}}, seed});
    }
    return plan;
}

SweepPlan planComparison(const std::vector<std::string>& methods, const std::vector<nlohmann::json>& configs,
                         const std::string& reference, const nlohmann::json& referenceConfig, const std::string& budgetAxis,
                         double budget, double flopsPerToken, uint64_t firstSeed, int seeds, std::string name)
{
    if (methods.empty()) throw UsageError("--methods", "", "choose at least one method to compare");
    if (methods.size() != configs.size()) throw Error("planComparison: one config per method");
    if (!(budget > 0)) throw UsageError("--budget", std::to_string(budget), "must be positive");
    if (seeds < 1) throw UsageError("--seeds", std::to_string(seeds), "must be at least 1");
    SweepPlan plan;
    plan.keys = {"method"};
    if (name.empty()) {
        name = "compare ";
        for (size_t i = 0; i < methods.size(); ++i) name += (i ? "," : "") + methods[i];
        char b[64];
        std::snprintf(b, sizeof b, " %s=%g", budgetAxis.c_str(), budget);
        name += b;
    }
    plan.name = name;
    std::vector<nlohmann::json> matched;
    for (size_t i = 0; i < methods.size(); ++i) {
        if (methods[i] == reference) throw UsageError("--methods", methods[i], "is the reference already");
        matched.push_back(budgetedConfig(methods[i], configs[i], budgetAxis, budget, flopsPerToken));
    }
    nlohmann::json refConfig;
    if (!reference.empty()) refConfig = matchBudget(reference, referenceConfig, budgetAxis, budget, flopsPerToken);
    for (int s = 0; s < seeds; ++s) {
        const uint64_t seed = firstSeed + uint64_t(s);
        if (!reference.empty())
            plan.jobs.push_back({reference, "reference", nlohmann::json::object(), refConfig,
                                 {{"sweep", sweepTag(plan.name, "reference", reference, nlohmann::json::object(), seed, plan.keys)}}, seed});
        for (size_t i = 0; i < methods.size(); ++i) {
            const nlohmann::json params = {{"method", methods[i]}};
            plan.jobs.push_back({methods[i], "point", params, matched[i],
                                 {{"sweep", sweepTag(plan.name, "point", methods[i], params, seed, plan.keys)}}, seed});
        }
    }
    return plan;
}

MeanSe meanSe(const std::vector<double>& v)
{
    MeanSe r;
    r.n = v.size();
    if (v.empty()) return r;
    for (double x : v) r.mean += x / double(v.size());
    double var = 0;
    for (double x : v) var += (x - r.mean) * (x - r.mean);
    r.se = v.size() > 1 ? std::sqrt(var / double(v.size() - 1) / double(v.size())) : NAN;
    return r;
}

PairedDiff pairedDifference(const std::vector<double>& a, const std::vector<double>& b)
{
    if (a.size() != b.size()) throw Error("pairedDifference: " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " values");
    std::vector<double> d(a.size());
    for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
    const MeanSe m = meanSe(d);
    PairedDiff p;
    p.mean = m.mean;
    p.se = m.se;
    p.n = m.n;
    p.z = m.se > 0 ? m.mean / m.se : (m.mean > 0 ? INFINITY : m.mean < 0 ? -INFINITY : 0.0);
    return p;
}

std::vector<std::string> sweepNames(const std::vector<nlohmann::json>& tags)
{
    std::vector<std::string> names;
    for (const auto& t : tags) {
        if (!t.is_object() || !t.contains("sweep") || !t["sweep"].is_object()) continue;
        const std::string n = t["sweep"].value("name", "");
        if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
    return names;
}

SweepSummary summarizeSweep(const std::string& name, const std::vector<SweepRunData>& runs)
{
    SweepSummary s;
    s.name = name;
    // (seed -> per-prompt values) for the reference, and per point.
    struct Acc {
        nlohmann::json params;
        std::map<uint64_t, const SweepRunData*> bySeed;
    };
    std::vector<Acc> points;
    Acc ref;
    for (const auto& r : runs) {
        if (!r.tags.is_object() || !r.tags.contains("sweep")) continue;
        const nlohmann::json& t = r.tags["sweep"];
        if (t.value("name", "") != name) continue;
        if (s.keys.empty() && t.contains("keys") && t["keys"].is_array())
            for (const auto& k : t["keys"]) if (k.is_string()) s.keys.push_back(k);
        const uint64_t seed = t.value("seed", uint64_t(0));
        if (t.value("role", "") == "reference") {
            s.reference = t.value("method", s.reference);
            ref.bySeed[seed] = &r;   // a later run of the same seed (a rerun) wins
            continue;
        }
        s.method = t.value("method", s.method);
        const nlohmann::json params = t.value("params", nlohmann::json::object());
        auto it = std::find_if(points.begin(), points.end(), [&](const Acc& a) { return a.params == params; });
        if (it == points.end()) {
            points.push_back(Acc{params, {}});
            it = points.end() - 1;
        }
        it->bySeed[seed] = &r;
    }
    auto cellOf = [&](const Acc& a) {
        SweepCell c;
        c.params = a.params;
        for (const auto& [seed, r] : a.bySeed) {
            c.runs.push_back(r->id);
            c.proxy.insert(c.proxy.end(), r->proxy.begin(), r->proxy.end());
            c.gold.insert(c.gold.end(), r->gold.begin(), r->gold.end());
        }
        c.proxyStats = meanSe(c.proxy);
        c.goldStats = meanSe(c.gold);
        // Paired on the seeds both have, prompt by prompt.
        std::vector<double> ap, bp, ag, bg;
        bool aligned = true;
        for (const auto& [seed, r] : a.bySeed) {
            auto rs = ref.bySeed.find(seed);
            if (rs == ref.bySeed.end()) continue;
            if (r->proxy.size() != rs->second->proxy.size()) { aligned = false; continue; }
            ap.insert(ap.end(), r->proxy.begin(), r->proxy.end());
            bp.insert(bp.end(), rs->second->proxy.begin(), rs->second->proxy.end());
            if (r->gold.size() == r->proxy.size() && rs->second->gold.size() == r->proxy.size()) {
                ag.insert(ag.end(), r->gold.begin(), r->gold.end());
                bg.insert(bg.end(), rs->second->gold.begin(), rs->second->gold.end());
            }
        }
        if (aligned && !ap.empty()) c.proxyVsRef = pairedDifference(ap, bp);
        if (aligned && !ag.empty() && ag.size() == ap.size()) c.goldVsRef = pairedDifference(ag, bg);
        return c;
    };
    for (const auto& p : points) s.cells.push_back(cellOf(p));
    // A comparison's points are different methods: name them all.
    std::vector<std::string> methods;
    for (const auto& p : points)
        if (p.params.contains("method") && p.params["method"].is_string() &&
            std::find(methods.begin(), methods.end(), p.params["method"].get<std::string>()) == methods.end())
            methods.push_back(p.params["method"]);
    if (methods.size() > 1) {
        s.method.clear();
        for (const auto& m : methods) s.method += (s.method.empty() ? "" : ", ") + m;
    }
    if (!ref.bySeed.empty()) {
        SweepCell c = cellOf(ref);
        c.proxyVsRef.reset();
        c.goldVsRef.reset();
        s.referenceCell = c;
    }
    return s;
}

} // namespace rudder
