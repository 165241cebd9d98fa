// rudder-cli analyze: one reward per line on stdin -> the two-component mixture fit, the
// one-component fit beside it and the BoN-equivalent beta curve (QAlign eq. 10) as JSON.
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rudder/analysis.h"
#include "rudder/error.h"

namespace rudder::cli {

namespace {

std::string trimmed(const std::string& s)
{
    const char* ws = " \t\r\n\f\v";
    size_t a = s.find_first_not_of(ws);
    if (a == std::string::npos) return {};
    return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

// Blank lines are skipped; anything else must be one finite number.
std::vector<double> readRewards(std::istream& in)
{
    std::vector<double> r;
    std::string line;
    long lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        const std::string t = trimmed(line);
        if (t.empty()) continue;
        char* end = nullptr;
        double v = std::strtod(t.c_str(), &end);
        const std::string field = "line " + std::to_string(lineNo);
        if (end != t.c_str() + t.size())
            throw UsageError("stdin", field, "'" + (t.size() > 60 ? t.substr(0, 60) + "..." : t) + "' is not a number");
        if (!std::isfinite(v)) throw UsageError("stdin", field, "'" + t + "' is not a finite number");
        r.push_back(v);
    }
    return r;
}

nlohmann::ordered_json optionalNumber(const std::optional<double>& v)
{
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json analyze(const std::vector<double>& rewards, int nMax)
{
    using namespace rudder::analysis;
    const GmmFit fit = fitGmm2(rewards);
    nlohmann::ordered_json out;
    out["n"] = rewards.size();
    out["status"] = toString(fit.status);
    if (!fit.message.empty()) out["message"] = fit.message;
    if (fit.status == Status::Ok) {
        out["gmm"] = {{"weights", fit.weights}, {"means", fit.means}, {"stds", fit.stds},
                      {"loglik", fit.loglik}, {"bic", fit.bic}};
        out["dominant"] = fit.dominant;
        out["two_components_supported"] = fit.twoComponentsSupported;
    } else {
        out["gmm"] = nullptr;
        out["dominant"] = nullptr;
    }
    if (fit.single.ok)
        out["gmm1"] = {{"mean", fit.single.mean}, {"std", fit.single.std},
                       {"loglik", fit.single.loglik}, {"bic", fit.single.bic}};
    else
        out["gmm1"] = nullptr;
    nlohmann::ordered_json beta = nlohmann::ordered_json::array();
    for (const BetaPoint& p : betaCurve(fit, nMax))
        beta.push_back({{"n", p.n}, {"n_d", p.n_d}, {"beta", optionalNumber(p.beta)}, {"a_n", optionalNumber(p.a_n)}});
    out["beta"] = beta;
    return out;
}

} // namespace

void addAnalyzeCommand(CLI::App& app)
{
    auto* cmd = app.add_subcommand(
        "analyze",
        "Fit a two-component Gaussian mixture to rewards (one per line on stdin) and print the "
        "BoN-equivalent beta curve as JSON");
    auto nMax = std::make_shared<int>(0);
    auto* opt = cmd->add_option("--n-max", *nMax, "largest n of the beta curve (default: the number of rewards)");
    cmd->callback([nMax, opt] {
        const bool given = opt->count() > 0;
        if (given && (*nMax < 2 || *nMax > 10000000))
            throw UsageError("", "--n-max", "must be between 2 and 10000000, got " + std::to_string(*nMax));
        const std::vector<double> rewards = readRewards(std::cin);
        const int n = given ? *nMax : int(rewards.size());
        std::cout << analyze(rewards, n).dump(2) << std::endl;
    });
}

} // namespace rudder::cli
