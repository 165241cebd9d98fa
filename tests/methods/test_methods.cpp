// The alignment methods on a toy table LM (toy_lm.h), where everything can be checked exactly:
// QAlign's stationary distribution against the enumerated p_LM·exp(r/β)/Z (and the same test
// without the length-ratio term, which must fail), AISP's weights and mean update against a hand
// computation, AISP → BoN in the limit of Theorem 3.3, determinism, cancellation and resume.
#include <QtTest>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <algorithm>
#include <map>

#include "methods/method.h"
#include "methods/value_function.h"
#include "model/safetensors.h"
#include "model/generate.h"
#include "rudder/error.h"
#include "rudder/methods.h"
#include "model/loader.h"
#include "tiny_llama.h"
#include "toy_lm.h"
#ifdef RUDDER_TEST_WIDGETS
#include "run_data.h"
#endif

using namespace rudder;
using toy::TableReward;
using toy::ToyLM;

namespace {

// Tiny Llama text codec: ids 3.. are letters, 0..2 (pad, BOS, EOS) are special.
std::vector<int32_t> llamaEncode(const std::string& s)
{
    std::vector<int32_t> ids = {1};
    for (char c : s) ids.push_back(3 + (c - 'a') % 26);
    return ids;
}
std::string llamaDecode(const std::vector<int32_t>& ids)
{
    std::string s;
    for (int32_t id : ids)
        if (id >= 3) s += static_cast<char>('a' + (id - 3) % 26);
    return s;
}

MethodContext makeCtx(ToyLM& lm, RewardFunction& reward, std::vector<IterationEvent>* sink, uint64_t seed = 5)
{
    MethodContext ctx{&lm, [&lm](const std::string& s) { return lm.encode(s); },
                      [&lm](const std::vector<int32_t>& ids) { return lm.decode(ids); }, reward};
    ctx.seed = seed;
    if (sink) ctx.onEvent = [sink](const IterationEvent& e) { sink->push_back(e); };
    return ctx;
}

using Dist = std::map<std::vector<int32_t>, double>;

// Exact p_LM over complete responses (EOS kept; a response stops at EOS or after maxLen tokens).
void enumerate(ToyLM& lm, std::vector<int64_t> ctx, std::vector<int32_t> y, double p, int maxLen, Dist& out)
{
    const auto& l = lm.logitsFor(ctx);
    double m = -1e300, z = 0;
    for (float x : l) m = std::max(m, double(x));
    for (float x : l) z += std::exp(double(x) - m);
    for (size_t v = 0; v < l.size(); ++v) {
        const double q = p * std::exp(double(l[v]) - m) / z;
        auto y2 = y;
        y2.push_back(static_cast<int32_t>(v));
        if (int64_t(v) == lm.eos() || int(y2.size()) == maxLen) { out[y2] += q; continue; }
        auto c2 = ctx;
        c2.push_back(v);
        enumerate(lm, c2, y2, q, maxLen, out);
    }
}

double tv(const Dist& a, const Dist& b)
{
    std::map<std::vector<int32_t>, double> all;
    for (auto& [k, v] : a) all[k] += v;
    for (auto& [k, v] : b) all[k] -= v;
    double s = 0;
    for (auto& [k, v] : all) s += std::fabs(v);
    return 0.5 * s;
}

// The chain states (after burn-in) of a QAlign run, reconstructed from its event stream.
Dist chainDistribution(const std::vector<IterationEvent>& events, int chains, int burnIn)
{
    std::vector<std::vector<int32_t>> state(chains);
    Dist d;
    double n = 0;
    for (const auto& e : events) {
        for (const auto& s : e.samples)
            if (e.iteration == 0 || s.accepted.value_or(false)) state[s.index] = s.token_ids;
        if (e.iteration >= burnIn)
            for (const auto& y : state) { d[y] += 1; n += 1; }
    }
    for (auto& [k, v] : d) v /= n;
    return d;
}

// AISP's noise as its definition reads: E_t = σ(√(1−ρ)·ε_t + √ρ·ε_0), the per-position ε drawn
// first (so ρ = 0 is the generator's first τ·d normals, as before ρ existed).
at::Tensor aispNoise(uint64_t seed, int p, int k, int i, int64_t tau, int64_t d, double sigma, double rho = 0)
{
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(rowSeed(seed, p, k, i));
    at::Tensor eps = at::randn({tau, d}, g, at::TensorOptions().dtype(at::kFloat)).to(at::kDouble);
    if (rho == 0) return (eps * sigma).to(at::kFloat);
    at::Tensor eps0 = at::randn({1, d}, g, at::TensorOptions().dtype(at::kFloat)).to(at::kDouble);
    return ((eps * std::sqrt(1 - rho) + eps0 * std::sqrt(rho)) * sigma).to(at::kFloat);
}

// Greedy decode of the toy LM with v_t added to the logits for t < τ (independent of the engine).
std::vector<int32_t> greedyPerturbed(ToyLM& lm, std::vector<int64_t> ctx, const at::Tensor& V, int maxNew)
{
    std::vector<int32_t> y;
    for (int t = 0; t < maxNew; ++t) {
        const auto& l = lm.logitsFor(ctx);
        int best = 0;
        float bestV = -1e30f;
        for (size_t v = 0; v < l.size(); ++v) {
            const float x = t < V.size(0) ? l[v] + V[t][v].item<float>() : l[v];
            if (x > bestV) { bestV = x; best = static_cast<int>(v); }
        }
        y.push_back(best);
        if (best == lm.eos()) break;
        ctx.push_back(best);
    }
    return y;
}

std::string key(const Sample& s)
{
    nlohmann::json j = s;
    j.erase("text");
    return j.dump();
}

std::vector<std::string> keys(const std::vector<IterationEvent>& ev)
{
    std::vector<std::string> k;
    for (const auto& e : ev) {
        std::string s = e.method + "/" + std::to_string(e.prompt_index) + "/" + std::to_string(e.iteration) + ":";
        for (const auto& x : e.samples) s += key(x) + ";";
        k.push_back(s);
    }
    return k;
}

// The share of the letter 'a' (the toy LM's token 0) in a response: raising logit 0 raises it, so
// the best value direction on the toy LM (whose pre-logits are its logits) is known: V(z) = z_0.
class LetterShare : public RewardFunction {
public:
    explicit LetterShare(std::string letters = "a") : letters_(std::move(letters)) {}
    std::vector<double> score(const std::string&, const std::vector<std::string>& responses) override
    {
        std::vector<double> out;
        for (const auto& r : responses) {
            double n = 0;
            for (char c : r) n += letters_.find(c) != std::string::npos;
            out.push_back(r.empty() ? 0.0 : n / double(r.size()));
        }
        return out;
    }
    std::string letters_;
    std::string name() const override { return "letter-share"; }
};

// A linear value model V(z) = w·z written as Rudder's value model file.
std::string writeLinearValue(const std::string& dir, const std::vector<float>& w)
{
    const at::Tensor W = at::tensor(w, at::kFloat).view({1, int64_t(w.size())});
    const auto net = methods::ValueNet::fromNamed({{"fc0.weight", W}, {"fc0.bias", at::zeros({1}, at::kFloat)}}, "test");
    ValueModelInfo info;
    info.key = "test";
    const std::string path = dir + "/linear-" + std::to_string(std::hash<std::string>()(nlohmann::json(w).dump())) + ".safetensors";
    methods::saveValueModel(path, net, info);
    return path;
}

} // namespace

class TestMethods : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void aispWeightsByHand()
    {
        // Three samples: r = (1, 2, 3), Σ_t⟨u_t, v_t⟩ = (0.5, −1, 2), λ = 0.5, α = 0.9, σ = 1.
        // exponent = r/λ − 0.1·uv = (1.95, 4.1, 5.8).
        AispWeights w = aispWeights({1, 2, 3}, {0.5, -1, 2}, 0.5, 0.9, 1.0);
        const double e0 = std::exp(1.95), e1 = std::exp(4.1), e2 = std::exp(5.8), z = e0 + e1 + e2;
        QVERIFY(std::fabs(w.weights[0] - e0 / z) < 1e-12);
        QVERIFY(std::fabs(w.weights[1] - e1 / z) < 1e-12);
        QVERIFY(std::fabs(w.weights[2] - e2 / z) < 1e-12);
        QVERIFY(std::fabs(w.rewardTerm[1] - 4.0) < 1e-12);
        QVERIFY(std::fabs(w.klTerm[2] - 0.2) < 1e-12);
        // σ enters as 1/σ²: σ = 2 quarters the KL term.
        QVERIFY(std::fabs(aispWeights({0}, {4}, 1, 0.5, 2).klTerm[0] - 0.5) < 1e-12);
        // No overflow with λ → 0.
        w = aispWeights({1, 3, 2}, {0, 0, 0}, 1e-8, 1.0, 0.5);
        QCOMPARE(w.weights[1], 1.0);
        QCOMPARE(w.weights[0], 0.0);
    }

    void aispMatchesHandComputation()
    {
        // n = 3, K = 2 on the toy LM: tokens of every sample = greedy decode with V = U + E on the
        // logits; weights (eq. 19) and U_1 = Σ w_i V_i (eq. 14) recomputed here from the rewards.
        // Absolute units (scale 0) and scale-free ones (scale 1: σ × RMS of the prompt's last
        // pre-logits, λ × the sample std of the first iteration's rewards, fixed for the prompt;
        // with adaptive_lambda, of each iteration's), all by hand.
        // Also with time-correlated noise (ρ = 0.6): the KL term ⟨U, Σ⁻¹V⟩ by an explicit inverse
        // of the τ×τ correlation matrix.
        for (auto [scale, rho, adaptive] : {std::tuple{0, 0.0, 0}, std::tuple{1, 0.0, 0}, std::tuple{1, 0.6, 0}, std::tuple{1, 0.0, 1}}) {
            ToyLM lm(4, 11, 1.0);
            TableReward reward(3.0);
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 21);
            const double sigmaSet = 0.8, lambdaSet = 0.5, alpha = 0.9;
            const int n = 3, maxNew = 4, tau = 3;
            nlohmann::json cfg = {{"n", n}, {"iterations", 2}, {"sigma", sigmaSet}, {"lambda", lambdaSet},
                                  {"alpha", alpha}, {"tau", tau}, {"max_new_tokens", maxNew}, {"scale", scale},
                                  {"rho", rho}, {"adaptive_lambda", adaptive}};
            RunResult r = runMethod("aisp", ctx, cfg, {"ab"});
            QCOMPARE(ev[0].stats["rho"].get<double>(), rho);
            at::Tensor A = at::full({tau, tau}, rho, at::kDouble);
            A.diagonal().fill_(1.0);
            const at::Tensor Ainv = at::inverse(A);
            QCOMPARE(r.status, RunStatus::Done);
            QCOMPARE(ev.size(), size_t(2));
            double rms = 0;
            for (float x : lm.logitsFor({0, 1})) rms += double(x) * double(x);
            rms = std::sqrt(rms / double(lm.logitsFor({0, 1}).size()));
            const double sigma = scale ? sigmaSet * rms : sigmaSet;
            QVERIFY(std::fabs(ev[0].stats["sigma"].get<double>() - sigma) < 1e-6 * sigma);
            const int64_t d = 4;
            at::Tensor U = at::zeros({tau, d}, at::kDouble);
            double lambda0 = -1;   // scale-free λ of the first iteration, kept unless adaptive
            for (int k = 0; k < 2; ++k) {
                std::vector<at::Tensor> Vs;
                std::vector<double> rs;
                for (int i = 0; i < n; ++i) {
                    at::Tensor V = U.to(at::kFloat) + aispNoise(21, 0, k, i, tau, d, sigma, rho);
                    Vs.push_back(V.to(at::kDouble));
                    const auto y = greedyPerturbed(lm, {0, 1}, V, maxNew);
                    QCOMPARE(ev[k].samples[i].token_ids, y);
                    rs.push_back(reward.value("ab", lm.decode(y)));
                    QCOMPARE(ev[k].samples[i].reward, rs.back());
                }
                double mean = 0, var = 0;
                for (double x : rs) mean += x / n;
                for (double x : rs) var += (x - mean) * (x - mean) / (n - 1);
                if (lambda0 < 0) lambda0 = lambdaSet * std::sqrt(var);
                const double lambda = !scale ? lambdaSet : adaptive ? lambdaSet * std::sqrt(var) : lambda0;
                QVERIFY2(std::fabs(ev[k].stats["lambda"].get<double>() - lambda) < 1e-9 * lambda,
                         qPrintable(QString("iteration %1: λ %2, expected %3").arg(k).arg(ev[k].stats["lambda"].get<double>()).arg(lambda)));
                std::vector<double> expo;
                for (int i = 0; i < n; ++i)
                    expo.push_back(rs[i] / lambda - (1 - alpha) / (sigma * sigma) * (U * at::matmul(Ainv, Vs[i])).sum().item<double>());
                double m = *std::max_element(expo.begin(), expo.end()), z = 0;
                for (double x : expo) z += std::exp(x - m);
                at::Tensor Unext = at::zeros_like(U);
                for (int i = 0; i < n; ++i) {
                    const double w = std::exp(expo[i] - m) / z;
                    QVERIFY2(std::fabs(*ev[k].samples[i].weight - w) < 1e-6, "eq. 19 weight");
                    Unext += w * Vs[i];
                }
                U = Unext;
                // ‖u_t‖ reported after the update.
                for (int t = 0; t < tau; ++t)
                    QVERIFY(std::fabs(ev[k].stats["u_norm"][t].get<double>() - U[t].norm().item<double>()) < 1e-5);
            }
            // The final answer is the best of every sample and the noiseless decode with V = U.
            const auto yMean = greedyPerturbed(lm, {0, 1}, U.to(at::kFloat), maxNew);
            double best = reward.value("ab", lm.decode(yMean));
            for (const auto& e : ev)
                for (const auto& s : e.samples) best = std::max(best, s.reward);
            QCOMPARE(r.final.at(0).reward, best);
            QCOMPARE(r.summary["prompts"][0]["mean_decode"]["token_ids"].get<std::vector<int32_t>>(), yMean);
            QVERIFY(r.summary["prompts"][0]["kl_to_base"].get<double>() >= 0.0);
        }
    }

    // Scale-free temperatures (the default) make AISP, WMV and QAlign invariant to an affine change
    // of the reward: the same samples, weights and acceptances for r and 40·r − 7, with the
    // absolute temperatures reported scaled by 40.  Negative control: with scale = 0 they differ.
    void scaleFreeTemperaturesAreAffineInvariant()
    {
        struct Affine : RewardFunction {
            TableReward base{2.0, 13};
            double a = 1, b = 0;
            std::vector<double> score(const std::string& p, const std::vector<std::string>& rs) override
            {
                std::vector<double> out;
                for (const auto& r : rs) out.push_back(a * base.value(p, r) + b);
                return out;
            }
            std::string name() const override { return "affine"; }
        };
        const std::vector<std::pair<std::string, nlohmann::json>> cases = {
            {"aisp", {{"n", 6}, {"iterations", 3}, {"max_new_tokens", 5}}},
            {"wmv", {{"n", 12}, {"batch", 4}, {"max_new_tokens", 5}}},
            {"qalign", {{"chains", 4}, {"steps", 12}, {"max_new_tokens", 5}, {"pilot", 10}}},
        };
        for (const auto& [id, base] : cases) {
            for (int scale : {1, 0}) {
                std::vector<IterationEvent> ev[2];
                for (int t = 0; t < 2; ++t) {
                    ToyLM lm(5, 7, 1.0);
                    Affine reward;
                    if (t == 1) { reward.a = 40; reward.b = -7; }
                    MethodContext ctx = makeCtx(lm, reward, &ev[t], 3);
                    nlohmann::json cfg = base;
                    cfg["scale"] = scale;
                    QCOMPARE(runMethod(id, ctx, cfg, {"ab"}).status, RunStatus::Done);
                }
                QCOMPARE(ev[0].size(), ev[1].size());
                bool same = true;
                for (size_t e = 0; e < ev[0].size(); ++e)
                    for (size_t i = 0; i < ev[0][e].samples.size(); ++i) {
                        const Sample &x = ev[0][e].samples[i], &y = ev[1][e].samples[i];
                        if (same && !(x.token_ids == y.token_ids && x.accepted == y.accepted))
                            qInfo("%s, scale %d: first difference at event %d sample %d", id.c_str(), scale, int(e), int(i));
                        same = same && x.token_ids == y.token_ids && x.accepted == y.accepted;
                        if (x.weight) same = same && std::fabs(*x.weight - *y.weight) < 1e-9;
                    }
                const char* temp = id == "aisp" ? "lambda" : "beta";
                const double t0 = ev[0].back().stats[temp].get<double>(), t1 = ev[1].back().stats[temp].get<double>();
                if (scale) {
                    QVERIFY2(same, qPrintable(QString::fromStdString(id) + ": scale-free run changed with the reward's units"));
                    QVERIFY(std::fabs(t1 - 40 * t0) < 1e-9 * t1);
                } else {
                    QVERIFY2(!same, qPrintable(QString::fromStdString(id) + ": absolute run did not notice the units"));
                    QCOMPARE(t0, t1);
                }
            }
        }
    }

    // A run recorded before a setting existed resumes as it ran: absolute units, independent noise.
    void storedConfigKeepsOldRunsAsTheyRan()
    {
        const nlohmann::json old = storedConfig("aisp", {{"n", 4}, {"sigma", 0.5}});
        QCOMPARE(old["scale"].get<int64_t>(), int64_t(0));
        QCOMPARE(old["rho"].get<double>(), 0.0);
        QCOMPARE(validateConfig("aisp", old)["rho"].get<double>(), 0.0);
        QVERIFY(validateConfig("aisp", nlohmann::json::object())["rho"].get<double>() > 0);   // new runs: the default
        QCOMPARE(old["adaptive_lambda"].get<int64_t>(), int64_t(1));   // re-estimated λ, as it ran then
        QCOMPARE(validateConfig("aisp", nlohmann::json::object())["adaptive_lambda"].get<int64_t>(), int64_t(0));
        const nlohmann::json kept = storedConfig("aisp", {{"scale", 1}, {"rho", 0.5}});
        QCOMPARE(kept["scale"].get<int64_t>(), int64_t(1));
        QCOMPARE(kept["rho"].get<double>(), 0.5);
        QVERIFY(!storedConfig("bon", {{"n", 4}}).contains("rho"));
    }

    void aispLimitIsBestOfN()
    {
        // Theorem 3.3: α = 1, λ → 0 makes the weights winner-take-all, U_{k+1} = V^{argmax r}, and
        // the answer is exactly the best-of-n winner among all candidates.
        ToyLM lm(6, 3, 1.0);
        TableReward reward(2.0, 7);
        std::vector<IterationEvent> ev;
        MethodContext ctx = makeCtx(lm, reward, &ev, 8);
        nlohmann::json cfg = {{"n", 6}, {"iterations", 4}, {"sigma", 1.5}, {"lambda", 1e-4}, {"alpha", 1.0},
                              {"max_new_tokens", 5}, {"scale", 0}, {"rho", 0.0}};
        RunResult r = runMethod("aisp", ctx, cfg, {"a"});
        // λ = 1e-4 is the registry's floor; the theorem's limit is taken with λ = 1e-8 below.
        QCOMPARE(r.status, RunStatus::Done);
        ev.clear();
        r = runAISP(ctx, [&] { auto c = validateConfigForTest(cfg); c["lambda"] = 1e-8; return c; }(), {"a"}, false);
        QCOMPARE(ev.size(), size_t(4));
        double bestAll = -1;
        std::vector<int32_t> bestIds;
        for (const auto& e : ev) {
            double m = -1;
            for (const auto& s : e.samples) m = std::max(m, s.reward);
            int winners = 0;
            for (const auto& s : e.samples) winners += s.reward == m;
            for (const auto& s : e.samples)
                QVERIFY(std::fabs(*s.weight - (s.reward == m ? 1.0 / winners : 0.0)) < 1e-12);
            for (const auto& s : e.samples)
                if (s.reward > bestAll) { bestAll = s.reward; bestIds = s.token_ids; }
        }
        const auto& mean = r.summary["prompts"][0]["mean_decode"];
        if (mean["reward"].get<double>() > bestAll) {
            bestAll = mean["reward"].get<double>();
            bestIds = mean["token_ids"].get<std::vector<int32_t>>();
        }
        QCOMPARE(r.final.at(0).reward, bestAll);
        QCOMPARE(r.final.at(0).token_ids, bestIds);
        // U_1 = V^{winner of iteration 0}: iteration 1's samples decode with U_1 + E.
        int w0 = 0;
        for (int i = 0; i < 6; ++i) if (*ev[0].samples[i].weight > *ev[0].samples[w0].weight) w0 = i;
        if (*ev[0].samples[w0].weight == 1.0) {
            at::Tensor U1 = aispNoise(8, 0, 0, w0, 5, 6, 1.5);
            for (int i = 0; i < 6; ++i)
                QCOMPARE(ev[1].samples[i].token_ids,
                         greedyPerturbed(lm, {0}, U1 + aispNoise(8, 0, 1, i, 5, 6, 1.5), 5));
        }
    }

    void qalignTargetsTiltedDistribution()
    {
        // Vocabulary {a, b, EOS}, responses of at most 3 tokens: 15 complete responses.
        ToyLM lm(3, 4, 1.0, 0.3);
        TableReward reward(2.5, 17);
        const int maxLen = 3, chains = 48, steps = 1400, burn = 20;
        const double beta = 1.0;
        Dist p, target, noRatio;
        enumerate(lm, {0}, {}, 1.0, maxLen, p);
        QCOMPARE(p.size(), size_t(15));
        double z = 0, z2 = 0;
        for (auto& [y, q] : p) {
            const double w = q * std::exp(reward.value("a", lm.decode(y)) / beta);
            target[y] = w;
            noRatio[y] = w * double(y.size());   // what the chain targets without |y^t|/|y'|
            z += w;
            z2 += w * double(y.size());
        }
        for (auto& [y, q] : target) q /= z;
        for (auto& [y, q] : noRatio) q /= z2;
        QVERIFY2(tv(target, noRatio) > 0.06, "the toy must make the length ratio matter");

        QAlignOptions o;
        o.chains = chains;
        o.steps = steps;
        o.beta = beta;
        o.burn_in = steps - 1;
        o.max_new_tokens = maxLen;
        std::vector<IterationEvent> ev;
        MethodContext ctx = makeCtx(lm, reward, &ev, 123);
        RunResult r = runQAlign(ctx, o, {"a"});
        QCOMPARE(r.status, RunStatus::Done);
        const Dist emp = chainDistribution(ev, chains, burn);
        const double d = tv(emp, target);
        qInfo("QAlign TV to p·exp(r/β)/Z: %.4f (p_LM alone: %.4f)", d, tv(emp, p));
        QVERIFY(d < 0.02);
        QVERIFY(tv(emp, p) > 0.05);   // the reward did tilt the chain
        // Mean tokens generated per step ≈ average suffix length (QAlign §3: ≈ N/2).
        double acc = ev.back().stats["acceptance_rate"].get<double>();
        QVERIFY(acc > 0.05 && acc < 0.95);

        // Teeth: without the length ratio the same test fails (and the chain targets p·e^{r/β}·|y|).
        o.length_ratio = false;
        ev.clear();
        runQAlign(ctx, o, {"a"});
        const Dist emp2 = chainDistribution(ev, chains, burn);
        qInfo("without |y|/|y'|: TV to target %.4f, to p·e^{r/β}·|y| %.4f", tv(emp2, target), tv(emp2, noRatio));
        QVERIFY(tv(emp2, target) > 0.02);
        QVERIFY(tv(emp2, noRatio) < 0.02);
    }

    // A bug of an earlier version: the engine flagged each chain's starting state as accepted, so the GUI
    // counted C extra acceptances (0.50 where the engine said 0.4545).  Starting states carry no
    // flag now, and the GUI's series, fed the engine's own events, agree with the engine.
    // QAlign with a verifier-like reward that is 0 on every pilot sample: β stays the setting
    // (read as absolute) with a note, instead of the 1e-9 floor that made the chain a hill-climber.
    void qalignBetaSurvivesAFlatPilot()
    {
        struct Zero : RewardFunction {
            std::vector<double> score(const std::string&, const std::vector<std::string>& r) override
            {
                return std::vector<double>(r.size(), 0.0);
            }
            std::string name() const override { return "zero"; }
        } reward;
        ToyLM lm(6, 9, 1.0);
        std::vector<IterationEvent> ev;
        MethodContext ctx = makeCtx(lm, reward, &ev, 3);
        RunResult r = runMethod("qalign", ctx, {{"chains", 2}, {"steps", 3}, {"max_new_tokens", 4}, {"scale", 1}, {"beta", 0.7}},
                                {"ab"});
        QCOMPARE(r.status, RunStatus::Done);
        QCOMPARE(ev[0].stats["beta"].get<double>(), 0.7);
        QVERIFY(ev[0].stats.contains("scale_fallback"));
        // With equal rewards every proposal is accepted (min(1, e^0) = 1): a sampler, not a climber.
        for (const auto& e : ev)
            for (const auto& s : e.samples)
                if (s.accepted) QVERIFY(*s.accepted);
    }

    void qalignAcceptanceAgreesWithTheGui()
    {
        ToyLM lm(6, 9, 1.0);
        TableReward reward(3.0, 4);
        std::vector<IterationEvent> ev;
        MethodContext ctx = makeCtx(lm, reward, &ev, 2);
        RunResult r = runMethod("qalign", ctx, {{"chains", 2}, {"steps", 12}, {"max_new_tokens", 5}, {"scale", 0}, {"beta", 0.3}},
                                {"ab"});
        QCOMPARE(r.status, RunStatus::Done);
        int64_t acc = 0, n = 0;
        for (const auto& e : ev)
            for (const auto& s : e.samples) {
                QCOMPARE(s.accepted.has_value(), e.iteration > 0);
                if (s.accepted) { acc += *s.accepted; ++n; }
            }
        QCOMPARE(n, int64_t(2 * 11));
        const double engine = r.summary["prompts"][0]["acceptance_rate"].get<double>();
        QCOMPARE(engine, double(acc) / double(n));
        QVERIFY(acc > 0 && acc < n);   // both outcomes occur, or the comparison proves little
#ifdef RUDDER_TEST_WIDGETS
        widgets::RunData run;
        for (const auto& e : ev) run.append(e);
        const auto a = run.acceptance(16, -1);
        QCOMPARE(a.running.back(), engine);
        QCOMPARE(a.step.size(), ev.size());
#endif
    }

    // The descriptors (rudder/methods.h) are what every front end and plot asks instead of testing
    // ids: each must have an implementation, and its capabilities must match what the method emits.
    void descriptorsTellTheTruth()
    {
        ToyLM lm(6, 9, 1.0);
        TableReward reward(3.0, 4);
        QTemporaryDir tmp;
        const std::string value = writeLinearValue(tmp.path().toStdString(), {1, 0, 0, 0, 0, 0});
        for (const MethodInfo& m : allMethods()) {
            nlohmann::json cfg = defaultConfig(m.id);
            for (const auto& [k, v] : m.liveCaps) cfg[k] = std::min<int64_t>(cfg[k].get<int64_t>(), v);
            cfg["max_new_tokens"] = 5;
            if (m.id == "aisp-batched") cfg["prompts_per_batch"] = 1;
            if (m.needsValueModel) cfg["value_model"] = value;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 4);
            const RunResult r = runMethod(m.id, ctx, cfg, {"ab"});
            QVERIFY2(r.status == RunStatus::Done, m.id.c_str());
            bool anyAccept = false, anyWeight = false;
            for (const auto& e : ev)
                for (const auto& s : e.samples) anyAccept |= s.accepted.has_value(), anyWeight |= s.weight.has_value();
            QVERIFY2(anyAccept == m.hasAcceptance, m.id.c_str());
            QVERIFY2(anyWeight == m.hasWeights, m.id.c_str());
            // Planned samples: exact, except AISP's one extra decode with the mean control.
            const int64_t planned = plannedSamplesPerPrompt(m.id, cfg);
            QVERIFY2(r.budget.samples == planned + (m.budgetKnob == BudgetKnob::Iterations ? 1 : 0),
                     (m.id + ": " + std::to_string(r.budget.samples) + " vs " + std::to_string(planned)).c_str());
            QVERIFY2(m.temperatureKey.empty() == !usedTemperature(m.id, validateConfig(m.id, cfg), ev).has_value(),
                     m.id.c_str());
            if (m.budgetKnob != BudgetKnob::None) {
                const nlohmann::json matched = matchBudget(m.id, cfg, "samples", 24, 1.0);
                const int64_t spent = plannedSamplesPerPrompt(m.id, matched);
                QVERIFY2(std::abs(spent - 24) <= matched.value("chains", int64_t(1)) + matched.value("n", int64_t(1)),
                         (m.id + " matched to " + std::to_string(spent)).c_str());
            } else {
                QVERIFY_THROWS_EXCEPTION(UsageError, matchBudget(m.id, cfg, "samples", 24, 1.0));
            }
        }
        QVERIFY_THROWS_EXCEPTION(UsageError, runMethod("nope", makeCtx(lm, reward, nullptr), {}, {"a"}));
        QCOMPARE(referenceMethod({"aisp", "bon", "qalign"}), size_t(1));
        QCOMPARE(referenceMethod({"aisp", "qalign"}), size_t(1));
    }

    // The completion backend is the seam for serving engines: every method whose descriptor does
    // not need the local model takes all its samples from ctx.completions, with one seed per
    // completion (rowSeed), so a second implementation plugs in without touching the methods.
    void samplingMethodsRunOnAnyCompletionBackend()
    {
        struct Fake : CompletionBackend {
            std::vector<CompletionRequest> seen;
            std::string name() const override { return "fake"; }
            Completions complete(const CompletionRequest& r, const std::atomic<bool>*) override
            {
                seen.push_back(r);
                Completions c;
                for (uint64_t s : r.seeds) c.tokens.push_back({int32_t(3 + s % 3), int32_t(3 + (s / 3) % 3)});
                c.finished.assign(r.seeds.size(), true);
                c.generated_tokens = 2 * int64_t(r.seeds.size());
                return c;   // no handles: like a server whose prefix cache needs none
            }
        };
        ToyLM lm(6, 9, 1.0);
        TableReward reward(3.0, 4);
        for (const MethodInfo& m : allMethods()) {
            if (m.needsLocalModel() || m.needsLogits) continue;   // ARGS's top-k path: test_remote
            Fake fake;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 7);
            ctx.completions = &fake;
            const int64_t forwardsBefore = lm.calls;
            const bool mcmc = m.id == "qalign";
            const nlohmann::json cfg = mcmc ? nlohmann::json{{"chains", 2}, {"steps", 3}, {"max_new_tokens", 5}, {"scale", 0}}
                                            : nlohmann::json{{"n", 6}, {"batch", 4}, {"max_new_tokens", 5}};
            const RunResult r = runMethod(m.id, ctx, cfg, {"ab"});
            QVERIFY2(r.status == RunStatus::Done, m.id.c_str());
            QCOMPARE(lm.calls, forwardsBefore);   // the local model never ran
            QCOMPARE(fake.seen[0].max_new_tokens, int64_t(5));
            QCOMPARE(r.budget.samples, int64_t(6));
            if (mcmc) {
                // Chain starts (2 seeds), then per step one suffix request per chain: prefix = x ⊕ y_<cut.
                QCOMPARE(fake.seen.size(), size_t(1 + 2 * 2));
                QCOMPARE(fake.seen[0].seeds, (std::vector<uint64_t>{rowSeed(7, 0, 0, 0), rowSeed(7, 0, 0, 1)}));
                QVERIFY(fake.seen[0].keep);
                QCOMPARE(fake.seen[1].seeds, (std::vector<uint64_t>{rowSeed(7, 0, 1, 0)}));
                QVERIFY(fake.seen[1].prefix.size() >= 2 && fake.seen[1].max_new_tokens <= 5);
            } else {
                QCOMPARE(fake.seen.size(), size_t(2));         // batches of 4 and 2
                QCOMPARE(fake.seen[1].seeds.size(), size_t(2));
                QCOMPARE(fake.seen[1].seeds[0], rowSeed(7, 0, 0, 4));
            }
            // The answer is one of the backend's completions.
            bool found = false;
            for (const auto& e : ev)
                for (const auto& s : e.samples) found |= s.text == r.final[0].text;
            QVERIFY(found);
        }
        // Negative control: without a backend the local model does the work.
        std::vector<IterationEvent> ev;
        MethodContext ctx = makeCtx(lm, reward, &ev, 7);
        const int64_t before = lm.calls;
        QCOMPARE(runMethod("bon", ctx, {{"n", 2}, {"batch", 2}, {"max_new_tokens", 3}}, {"ab"}).status, RunStatus::Done);
        QVERIFY(lm.calls > before);
    }

#ifdef RUDDER_TEST_WIDGETS
    // The plots read what the engine emits: RunData fed with each method's real event stream (the
    // toy LM, two prompts) agrees with the statistics the engine put in those events — the BoN
    // and AISP best-so-far per prompt, the AISP/IS ESS of each event's weights, the budget axis.
    void plotsAgreeWithTheEnginesOwnEvents()
    {
        ToyLM lm(6, 9, 1.0);
        TableReward reward(3.0, 4);
        QTemporaryDir tmp;
        const std::string value = writeLinearValue(tmp.path().toStdString(), {1, 0, 0, 0, 0, 0});
        int bestChecks = 0, essChecks = 0;
        for (const MethodInfo& m : allMethods()) {
            nlohmann::json cfg = defaultConfig(m.id);
            for (const auto& [k, v] : m.liveCaps) cfg[k] = std::min<int64_t>(cfg[k].get<int64_t>(), v);
            cfg["max_new_tokens"] = 5;
            if (m.needsValueModel) cfg["value_model"] = value;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 6);
            QCOMPARE(runMethod(m.id, ctx, cfg, {"ab", "ba"}).status, RunStatus::Done);
            widgets::RunData run;
            widgets::RunMeta meta;
            meta.method = m.id;
            meta.config = validateConfig(m.id, cfg);
            run.setMeta(meta);
            for (const auto& e : ev) run.append(e);
            const auto all = run.rewardCurves(widgets::XAxis::Samples);
            QCOMPARE(all.x.size(), ev.size());
            for (size_t i = 0; i < ev.size(); ++i) QCOMPARE(all.x[i], double(ev[i].budget.samples));
            // A reference only from genuine base-model samples (not for BoN itself: its own curve).
            // (AISP's pilot of base samples is off by default: base_samples = 0.)
            QCOMPARE(all.bon.empty(), m.drawsFromBase || m.baseSamples == MethodInfo::BaseSamples::None ||
                                          m.baseSamples == MethodInfo::BaseSamples::PilotOnly);
            for (int p = 0; p < 2; ++p) {
                const auto c = run.rewardCurves(widgets::XAxis::Samples, p);
                const IterationEvent* last = nullptr;
                for (const auto& e : ev)
                    if (e.prompt_index == p) last = &e;
                QVERIFY2(last && !c.bestSoFar.empty(), m.id.c_str());
                if (last->stats.contains("best_so_far")) {
                    QVERIFY2(std::abs(c.bestSoFar.back() - last->stats["best_so_far"].get<double>()) < 1e-12, m.id.c_str());
                    ++bestChecks;
                }
            }
            for (const auto& e : ev) {
                if (!e.stats.contains("ess") || !e.stats.contains("weights")) continue;
                std::vector<double> w;
                for (const auto& s : e.samples) w.push_back(s.weight.value_or(0));
                QVERIFY2(std::abs(analysis::effectiveSampleSize(w) - e.stats["ess"].get<double>()) < 1e-9, m.id.c_str());
                ++essChecks;
            }
        }
        QVERIFY(bestChecks >= 6 && essChecks >= 4);   // BoN and both AISPs carry best_so_far, 2 prompts each
    }
#endif

    void sameSeedSameRun()
    {
        struct Case { std::string id; nlohmann::json cfg; };
        const std::vector<Case> cases = {
            {"bon", {{"n", 6}, {"batch", 4}, {"max_new_tokens", 4}}},
            {"aisp", {{"n", 3}, {"iterations", 3}, {"max_new_tokens", 4}}},
            {"aisp-batched", {{"n", 3}, {"iterations", 3}, {"max_new_tokens", 4}, {"prompts_per_batch", 2}}},
            {"qalign", {{"chains", 3}, {"steps", 8}, {"max_new_tokens", 4}, {"burn_in", 2}}},
            {"wmv", {{"n", 6}, {"batch", 4}, {"max_new_tokens", 4}, {"beta", 0.5}}},
            {"args", {{"top_k", 3}, {"max_new_tokens", 4}, {"temperature", 0.7}}},
        };
        for (const auto& c : cases) {
            std::vector<std::vector<std::string>> runs;
            std::vector<std::vector<double>> finals;
            for (uint64_t seed : {9ULL, 9ULL, 10ULL}) {
                ToyLM lm(5, 2);
                TableReward reward;
                std::vector<IterationEvent> ev;
                MethodContext ctx = makeCtx(lm, reward, &ev, seed);
                RunResult r = runMethod(c.id, ctx, c.cfg, {"ab", "b"});
                QCOMPARE(r.status, RunStatus::Done);
                QCOMPARE(r.final.size(), size_t(2));
                QVERIFY(!ev.empty());
                // Budgets are cumulative.
                for (size_t i = 1; i < ev.size(); ++i) {
                    QVERIFY(ev[i].budget.flops >= ev[i - 1].budget.flops);
                    QVERIFY(ev[i].budget.tokens >= ev[i - 1].budget.tokens);
                }
                QVERIFY(r.budget.tokens > 0 && r.budget.flops > 0);
                runs.push_back(keys(ev));
                finals.push_back({r.final[0].reward, r.final[1].reward});
            }
            QVERIFY2(runs[0] == runs[1], c.id.c_str());
            QVERIFY2(finals[0] == finals[1], c.id.c_str());
            QVERIFY2(runs[0] != runs[2], (c.id + ": another seed must change the samples").c_str());
        }
        // Batched AISP draws the same trajectories as plain AISP (noise keyed by prompt, iteration, row).
        std::vector<std::vector<Sample>> s(2);
        for (int b = 0; b < 2; ++b) {
            ToyLM lm(5, 2);
            TableReward reward;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 9);
            runMethod(b ? "aisp-batched" : "aisp", ctx,
                      {{"n", 3}, {"iterations", 3}, {"max_new_tokens", 4}}, {"ab", "b"});
            for (const auto& e : ev)
                for (const auto& x : e.samples) s[b].push_back(x);
        }
        auto order = [](const Sample& a, const Sample& b) {
            return std::tie(a.prompt_index, a.iteration, a.index) < std::tie(b.prompt_index, b.iteration, b.index);
        };
        std::sort(s[0].begin(), s[0].end(), order);
        std::sort(s[1].begin(), s[1].end(), order);
        QCOMPARE(s[0].size(), s[1].size());
        for (size_t i = 0; i < s[0].size(); ++i) {
            QCOMPARE(s[0][i].token_ids, s[1][i].token_ids);
            QVERIFY(std::fabs(*s[0][i].weight - *s[1][i].weight) < 1e-9);
        }
    }

    // Issue 36 item 5: greedy ARGS reports the KL of its modified distribution along the decoded
    // sequence, Σ_t KL(softmax(log p + w·r) over the k candidates ‖ p_base), the definition AISP
    // and RE-Control use, recomputed here from the toy LM's log-probabilities; it used to report
    // Σ_t −log p(token).  With w → 0 the modified distribution is p restricted to the top k.
    void argsKlIsTheModifiedDistributions()
    {
        for (double w : {1e-5, 2.0}) {
            ToyLM lm(5, 4, 1.0, -1.0);
            TableReward reward;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 9);
            const int k = 3;
            RunResult r = runMethod("args", ctx, {{"top_k", k}, {"max_new_tokens", 3}, {"w", w}}, {"ab"});
            QCOMPARE(r.status, RunStatus::Done);
            const auto& y = ev[0].samples[0].token_ids;
            std::vector<int64_t> prefix = {0, 1};
            double kl = 0, nll = 0;
            for (size_t t = 0; t < y.size(); ++t) {
                const at::Tensor logp = at::log_softmax(at::tensor(lm.logitsFor(prefix), at::kDouble), 0);
                const auto top = at::topk(logp, k);
                const at::Tensor lv = std::get<0>(top), ix = std::get<1>(top);
                std::vector<double> sc;
                std::vector<int32_t> soFar(y.begin(), y.begin() + long(t));
                for (int64_t j = 0; j < k; ++j) {
                    std::vector<int32_t> ext = soFar;
                    ext.push_back(int32_t(ix[j].item<int64_t>()));
                    sc.push_back(lv[j].item<double>() + w * reward.value("ab", lm.decode(ext)));
                }
                const at::Tensor pi = at::softmax(at::tensor(sc, at::kDouble), 0);
                kl += (pi * (pi.log() - lv)).sum().item<double>();
                nll += -logp[y[t]].item<double>();
                prefix.push_back(y[t]);
            }
            const double got = ev[0].stats["kl_to_base"].get<double>();
            QVERIFY2(std::fabs(got - kl) < 1e-9 * std::max(1.0, kl), qPrintable(QString("KL %1, expected %2 (−log p: %3)").arg(got).arg(kl).arg(nll)));
            QVERIFY(std::fabs(got - nll) > 1e-6);   // not the old convention
        }
    }

    // Issue 36 item 1: AISP's samples are not the base model's, so the BoN reference of its
    // plots has nothing to stand on unless asked for: base_samples = m draws m plain samples per
    // prompt at the first iteration, counted in the budget, read by analysis::baseRewards.
    void aispDrawsBaseSamplesOnlyWhenAsked()
    {
        for (int m : {0, 8}) {
            ToyLM lm(5, 4);
            TableReward reward;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 12);
            const nlohmann::json cfg = {{"n", 3}, {"iterations", 2}, {"max_new_tokens", 4}, {"base_samples", m}};
            QCOMPARE(runMethod("aisp", ctx, cfg, {"ab"}).status, RunStatus::Done);
            const auto base = analysis::baseRewards(ev, "aisp", 0);
            QCOMPARE(int(base.size()), m);
            QCOMPARE(ev.back().budget.samples, int64_t(3 * 2 + m));
            QCOMPARE(methodInfo("aisp").samplesPerPrompt(validateConfig("aisp", cfg)), int64_t(3 * 2 + m));
            const auto c = analysis::runCurves(ev, analysis::Axis::Samples, -1, true, "aisp");
            QCOMPARE(c.bon.empty(), m == 0);
            // They are p_LM's samples: each reward is one BoN would have drawn with those seeds.
            for (double r : base) QVERIFY(std::isfinite(r));
        }
    }

    void cancelStopsWithinOneStep()
    {
        const std::vector<std::pair<std::string, nlohmann::json>> cases = {
            {"bon", {{"n", 8}, {"batch", 2}, {"max_new_tokens", 4}}},
            {"aisp", {{"n", 3}, {"iterations", 5}, {"max_new_tokens", 4}}},
            {"qalign", {{"chains", 3}, {"steps", 12}, {"max_new_tokens", 4}}},
            {"wmv", {{"n", 8}, {"batch", 2}, {"max_new_tokens", 4}}},
            {"args", {{"top_k", 3}, {"max_new_tokens", 6}}},
        };
        for (const auto& [id, cfg] : cases) {
            ToyLM lm(5, 2, 0.5, -1.0);   // EOS unlikely: long responses, many decode steps
            TableReward reward;
            std::atomic<bool> cancel{false};
            lm.trip = &cancel;
            lm.tripAt = 9;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 3);
            ctx.cancel = &cancel;
            RunResult r = runMethod(id, ctx, cfg, {"ab", "b"});
            QVERIFY2(r.status == RunStatus::Cancelled, id.c_str());
            QVERIFY2(lm.calls - lm.callsAtTrip <= 1, (id + ": more than one decode step after cancel").c_str());
            // Consistent partial result: every answer is one of the emitted samples (AISP/QAlign/BoN).
            for (const auto& f : r.final) {
                bool found = false;
                for (const auto& e : ev)
                    for (const auto& s : e.samples)
                        found |= s.prompt_index == f.prompt_index && s.token_ids == f.token_ids && s.reward == f.reward;
                QVERIFY2(found, (id + ": final answer not among the emitted samples").c_str());
            }
        }
    }

    void resumeEqualsUninterrupted()
    {
        const std::vector<std::pair<std::string, nlohmann::json>> cases = {
            {"bon", {{"n", 8}, {"batch", 2}, {"max_new_tokens", 4}}},
            {"aisp", {{"n", 3}, {"iterations", 4}, {"max_new_tokens", 4}}},
            {"aisp-batched", {{"n", 3}, {"iterations", 4}, {"max_new_tokens", 4}, {"prompts_per_batch", 2}}},
            {"qalign", {{"chains", 3}, {"steps", 10}, {"max_new_tokens", 4}, {"burn_in", 3}}},
        };
        for (const auto& [id, cfg] : cases) {
            ToyLM lm(5, 6);
            TableReward reward;
            checkResume(makeCtx(lm, reward, nullptr, 77), id, cfg);
        }
    }

    void realLlamaPath()
    {
        // The same guarantees on the real runtime (loader, KV cache, batched decode): a tiny random
        // Llama written to a temporary directory.
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        toy::writeTinyLlama(tmp.path().toStdString());
        auto lm = loadCausalLM(tmp.path().toStdString(), "cpu", "fp32");
        TableReward reward;
        MethodContext ctx{lm.get(), llamaEncode, llamaDecode, reward};
        ctx.seed = 31;
        const std::vector<std::pair<std::string, nlohmann::json>> cases = {
            {"bon", {{"n", 6}, {"batch", 4}, {"max_new_tokens", 6}, {"top_p", 0.9}}},
            {"aisp", {{"n", 4}, {"iterations", 3}, {"max_new_tokens", 6}, {"sigma", 1.0}}},
            {"qalign", {{"chains", 3}, {"steps", 8}, {"max_new_tokens", 6}}},
        };
        for (const auto& [id, cfg] : cases) checkResume(ctx, id, cfg);
        // WMV and ARGS: deterministic, with a KL for ARGS.
        for (const char* id : {"wmv", "args"}) {
            std::vector<std::string> k[2];
            for (int rep = 0; rep < 2; ++rep) {
                std::vector<IterationEvent> ev;
                MethodContext c = ctx;
                c.onEvent = [&](const IterationEvent& e) { ev.push_back(e); };
                RunResult r = runMethod(id, c, {{"max_new_tokens", 5}}, {"ab", "ba"});
                QCOMPARE(r.status, RunStatus::Done);
                QCOMPARE(r.final.size(), size_t(2));
                k[rep] = keys(ev);
            }
            QVERIFY2(k[0] == k[1], id);
        }
    }

    void budgetCountsTokensAndFlops()
    {
        // FLOPs = 2·params·(prompt prefill + generated tokens) + RM flops/token · (prompt + response).
        ToyLM lm(5, 2);
        TableReward reward;
        std::vector<IterationEvent> ev;
        MethodContext ctx = makeCtx(lm, reward, &ev, 4);
        ctx.rewardFlopsPerToken = 10;
        RunResult r = runMethod("bon", ctx, {{"n", 4}, {"batch", 4}, {"max_new_tokens", 5}}, {"ab"});
        int64_t gen = 0;
        for (const auto& s : ev.at(0).samples) gen += s.token_ids.size();
        QCOMPARE(r.budget.samples, int64_t(4));
        QCOMPARE(r.budget.tokens, gen);
        QCOMPARE(r.budget.flops, 2.0 * 1000 * double(2 + gen) + 10.0 * double(4 * 2 + gen));
        QVERIFY(r.budget.seconds > 0);
        QCOMPARE(ev.at(0).budget.tokens, gen);
    }

    void qalignBetaTuning()
    {
        // Acceptance grows with β: the tuned β must land inside the ladder and give about the
        // target rate on a longer chain; a higher target needs a larger β.
        ToyLM lm(8, 3, 1.0, -0.5);
        TableReward reward(8.0, 5);
        MethodContext ctx = makeCtx(lm, reward, nullptr, 12);
        QAlignOptions o;
        o.chains = 8;
        o.max_new_tokens = 6;
        const double bLow = tuneQAlignBeta(ctx, o, "a", 0.4, 24), bHigh = tuneQAlignBeta(ctx, o, "a", 0.7, 24);
        qInfo("tuned beta: %.4g for 40%% acceptance, %.4g for 70%%", bLow, bHigh);
        QVERIFY(bLow > 1e-3 && bHigh < 1e2);
        QVERIFY(bLow < bHigh);
        for (auto [beta, target] : {std::pair{bLow, 0.4}, std::pair{bHigh, 0.7}}) {
            o.beta = beta;
            o.steps = 200;
            RunResult r = runQAlign(ctx, o, {"a"});
            const double acc = r.summary["prompts"][0]["acceptance_rate"].get<double>();
            qInfo("beta %.4g: acceptance %.3f over 200 steps (target %.2f)", beta, acc, target);
            // Pilot: 24 steps × 8 chains = 192 proposals, binomial sd ≈ 0.035 (more with correlated
            // chains): ±0.1 is about three sd.
            QVERIFY2(std::fabs(acc - target) < 0.1, qPrintable(QString::number(acc)));
        }
    }

    void badConfigIsUsageError()
    {
        ToyLM lm(3);
        TableReward reward;
        MethodContext ctx = makeCtx(lm, reward, nullptr);
        QVERIFY_THROWS_EXCEPTION(UsageError, runMethod("aisp", ctx, {{"sigmaa", 1}}, {"a"}));
        QVERIFY_THROWS_EXCEPTION(UsageError, runMethod("nope", ctx, {}, {"a"}));
        QVERIFY_THROWS_EXCEPTION(UsageError, runMethod("bon", ctx, {}, {}));
        QVERIFY_THROWS_EXCEPTION(UsageError, runMethod("qalign", ctx, {{"answer_regex", 3}}, {"a"}));
    }

    // RE-Control's control by hand: with V(z) = w·z the ascent adds lr·steps·w to every controlled
    // pre-logit (here the logits themselves), so its tokens are the greedy decode of the shifted
    // logits; lr = 0 is the base model's greedy decode exactly (negative control: the ascent
    // moves something).
    void reControlMatchesHandComputation()
    {
        QTemporaryDir tmp;
        const std::string dir = tmp.path().toStdString();
        const std::vector<float> w = {0.7f, -0.2f, 0.f, 0.4f, 0.f};
        const std::string value = writeLinearValue(dir, w);
        const int maxNew = 6, tau = 4;
        for (double lr : {0.0, 0.15}) {
            ToyLM lm(5, 3, 1.0, -0.5);
            TableReward reward;
            std::vector<IterationEvent> ev;
            MethodContext ctx = makeCtx(lm, reward, &ev, 1);
            const nlohmann::json cfg = {{"lr", lr}, {"steps", 3}, {"tau", tau}, {"max_new_tokens", maxNew}, {"value_model", value}};
            const RunResult r = runMethod("recontrol", ctx, cfg, {"ab", "b"});
            QCOMPARE(r.status, RunStatus::Done);
            QCOMPARE(ev.size(), size_t(2));
            for (int p = 0; p < 2; ++p) {
                at::Tensor V = at::zeros({tau, 5}, at::kFloat);
                for (int t = 0; t < tau; ++t)
                    for (int v = 0; v < 5; ++v) V[t][v] = float(lr * 3) * w[size_t(v)];
                const std::vector<int64_t> ctxIds = p == 0 ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{1};
                const auto y = greedyPerturbed(lm, ctxIds, V, maxNew);
                QCOMPARE(ev[size_t(p)].samples[0].token_ids, y);
                QCOMPARE(r.final[size_t(p)].token_ids, y);
                const auto base = greedyPerturbed(lm, ctxIds, at::zeros({0, 5}), maxNew);
                if (lr == 0) {
                    QCOMPARE(y, base);
                    QCOMPARE(ev[size_t(p)].stats["kl_to_base"].get<double>(), 0.0);
                } else {
                    QVERIFY(ev[size_t(p)].stats["kl_to_base"].get<double>() > 0);
                    // V rises by lr·steps·|w|² per controlled token.
                    const double gain = ev[size_t(p)].stats["value_after"].get<double>() - ev[size_t(p)].stats["value_before"].get<double>();
                    QVERIFY(std::fabs(gain - 0.15 * 3 * (0.49 + 0.04 + 0.16)) < 1e-5);
                }
            }
        }
        // A value model for another width is refused, naming the file.
        ToyLM lm6(6, 3);
        TableReward reward;
        QVERIFY_THROWS_EXCEPTION(UsageError, runMethod("recontrol", makeCtx(lm6, reward, nullptr),
                                                       {{"value_model", value}, {"max_new_tokens", 3}}, {"ab"}));
        QVERIFY_THROWS_EXCEPTION(UsageError, runMethod("recontrol", makeCtx(lm6, reward, nullptr), {{"max_new_tokens", 3}}, {"ab"}));
    }

    // Ascent on the known best value direction raises the expected reward over prompts; the
    // opposite direction lowers it (negative control).  Then a value model trained by Rudder on
    // the toy LM's own rollouts does what the known one does: it learns (held-out error below the
    // rewards' spread) and its ascent raises the reward.
    void reControlRaisesTheReward()
    {
        QTemporaryDir tmp;
        const std::string dir = tmp.path().toStdString();
        const std::vector<std::string> prompts = {"b", "c", "bc", "cb", "d", "bd", "db", "cd", "dc", "bb", "cc", "dd"};
        auto meanReward = [&](const nlohmann::json& cfg) {
            ToyLM lm(5, 8, 1.0, -0.5);
            LetterShare reward;
            const RunResult r = runMethod("recontrol", makeCtx(lm, reward, nullptr), cfg, prompts);
            double s = 0;
            for (const auto& f : r.final) s += f.reward / double(r.final.size());
            return s;
        };
        const nlohmann::json base = {{"steps", 5}, {"max_new_tokens", 6}};
        auto with = [&](const std::string& value, double lr) {
            nlohmann::json c = base;
            c["value_model"] = value;
            c["lr"] = lr;
            return c;
        };
        const std::string up = writeLinearValue(dir, {1, 0, 0, 0, 0}), down = writeLinearValue(dir, {-1, 0, 0, 0, 0});
        const double r0 = meanReward(with(up, 0.0)), rUp = meanReward(with(up, 0.2)), rDown = meanReward(with(down, 0.2));
        qInfo("known V: base greedy %.3f, ascent on z_a %.3f, on -z_a %.3f", r0, rUp, rDown);
        QVERIFY(rUp > r0 + 0.1);
        QVERIFY(rDown <= r0);

        // Trained: on the tiny random Llama (whose hidden states carry the history, as a real
        // model's do; the toy LM's pre-logits are a hash of the context), the reward the share of
        // the letters a–m.  V learns (held-out error below the rewards' spread) and its ascent
        // raises the reward of the greedy decode.
        QTemporaryDir tdir;
        toy::writeTinyLlama(tdir.path().toStdString());
        auto llama = loadCausalLM(tdir.path().toStdString(), "cpu", "fp32");
        LetterShare half("abcdefghijklm");
        MethodContext ctx{llama.get(), llamaEncode, llamaDecode, half};
        ctx.seed = 2;
        ValueTrainOptions opt;
        opt.samples_per_prompt = 24;
        opt.max_new_tokens = 8;
        opt.hidden = 32;
        opt.layers = 1;
        opt.epochs = 15;
        opt.lr = 3e-3;
        opt.batch = 16;
        opt.seed = 2;
        ValueModelInfo info;
        info.key = "trained";
        const std::string path = dir + "/trained.safetensors";
        const ValueModelInfo t = methods::trainValueModel(ctx, opt, prompts, info, path, {});
        qInfo("trained V: %lld responses, held-out RMSE %.4f vs reward std %.4f; loss %.4f -> %.4f",
              static_cast<long long>(t.responses), t.heldout_rmse, t.reward_std, t.train_loss.front(), t.train_loss.back());
        QCOMPARE(t.responses, int64_t(opt.samples_per_prompt * prompts.size()));
        QVERIFY(t.heldout_rmse < 0.9 * t.reward_std);   // measured 0.168 against 0.210
        QVERIFY(t.train_loss.back() < t.train_loss.front());
        QCOMPARE(t.collection.samples, int64_t(opt.samples_per_prompt * prompts.size()));
        QVERIFY(t.training.flops > 0 && t.collection.flops > 0);
        auto llamaReward = [&](double lr) {
            const RunResult r = runMethod("recontrol", ctx, {{"lr", lr}, {"steps", 5}, {"max_new_tokens", 8}, {"value_model", path}}, prompts);
            double s = 0;
            for (const auto& f : r.final) s += f.reward / double(r.final.size());
            return s;
        };
        const double g0 = llamaReward(0), g1 = llamaReward(0.5), g2 = llamaReward(2.0);
        qInfo("trained V on the tiny Llama: greedy %.3f, ascent lr 0.5 %.3f, lr 2 %.3f", g0, g1, g2);
        QVERIFY(std::max(g1, g2) > g0 + 0.05);
        // The file reads back as what was trained.
        const auto loaded = methods::loadValueModel(path);
        QCOMPARE(loaded.info.responses, t.responses);
        QCOMPARE(loaded.info.train_loss, t.train_loss);
        QCOMPARE(loaded.net.inputDim(), int64_t(32));
    }

    // A training stopped in collection or between epochs continues from its checkpoints and ends
    // exactly where an uninterrupted one does; the run itself resumes like ARGS (per prompt).
    void reControlTrainingAndRunResume()
    {
        QTemporaryDir tmp;
        const std::string dir = tmp.path().toStdString();
        const std::vector<std::string> prompts = {"b", "c", "bc"};
        ValueTrainOptions opt;
        opt.samples_per_prompt = 6;
        opt.max_new_tokens = 5;
        opt.hidden = 8;
        opt.epochs = 6;
        opt.batch = 4;
        opt.seed = 5;
        ValueModelInfo info;
        info.key = "k";
        auto train = [&](const std::string& path, int stopAt, const std::string& stage) {
            ToyLM lm(5, 8, 1.0, -0.5);
            LetterShare reward;
            std::atomic<bool> cancel{false};
            MethodContext ctx = makeCtx(lm, reward, nullptr, 0);
            ctx.cancel = &cancel;
            return methods::trainValueModel(ctx, opt, prompts, info, path, [&](const ValueTrainProgress& p) {
                if (p.stage == stage && p.done == stopAt) cancel = true;
            });
        };
        const ValueModelInfo fullInfo = train(dir + "/full.safetensors", -1, "");
        for (const auto& [stage, at] : std::vector<std::pair<std::string, int>>{{"collect", 2}, {"train", 3}}) {
            const std::string path = dir + "/resumed-" + stage + ".safetensors";
            QVERIFY_THROWS_EXCEPTION(Cancelled, train(path, at, stage));
            QVERIFY(!QFileInfo::exists(QString::fromStdString(path)));
            const ValueModelInfo again = train(path, -1, "");
            QCOMPARE(again.train_loss, fullInfo.train_loss);
            QCOMPARE(again.heldout_loss, fullInfo.heldout_loss);
            const auto a = methods::loadValueModel(path).net.named(), b = methods::loadValueModel(dir + "/full.safetensors").net.named();
            for (size_t i = 0; i < a.size(); ++i) QVERIFY2(a[i].second.equal(b[i].second), a[i].first.c_str());
            QVERIFY(!QFileInfo::exists(QString::fromStdString(path + ".partial")));
        }
        // The run: cancelled after its first prompt and resumed, it ends as an uninterrupted run.
        const nlohmann::json cfg = {{"lr", 0.3}, {"steps", 2}, {"max_new_tokens", 4}, {"value_model", dir + "/full.safetensors"}};
        ToyLM lm(5, 6, 1.0, -0.5);
        TableReward reward;
        std::vector<IterationEvent> full, part, rest;
        const RunResult a = runMethod("recontrol", makeCtx(lm, reward, &full, 77), cfg, prompts);
        std::atomic<bool> cancel{false};
        MethodContext c1 = makeCtx(lm, reward, nullptr, 77);
        c1.cancel = &cancel;
        c1.onEvent = [&](const IterationEvent& e) { part.push_back(e); cancel = true; };
        QCOMPARE(runMethod("recontrol", c1, cfg, prompts).status, RunStatus::Cancelled);
        QCOMPARE(part.size(), size_t(1));
        ResumeState rs{part};
        MethodContext c2 = makeCtx(lm, reward, &rest, 77);
        c2.resume = &rs;
        const RunResult c = runMethod("recontrol", c2, cfg, prompts);
        QCOMPARE(c.status, RunStatus::Done);
        part.insert(part.end(), rest.begin(), rest.end());
        QVERIFY(keys(part) == keys(full));
        for (size_t i = 0; i < a.final.size(); ++i) QCOMPARE(c.final[i].token_ids, a.final[i].token_ids);
        // Damaged input: not a value model, one message naming the file.
        const std::string bogus = dir + "/bogus.safetensors";
        writeSafetensors(bogus, {{"x", at::zeros({2})}});
        try {
            methods::loadValueModel(bogus);
            QFAIL("a file without the value model's record was accepted");
        } catch (const UsageError& e) {
            QVERIFY(std::string(e.what()).find("bogus.safetensors") != std::string::npos);
        }
    }

private:
    // Uninterrupted run vs. a run interrupted after m events (stored through JSON like a session)
    // and resumed: same events, same answers.
    static void checkResume(MethodContext ctx, const std::string& id, const nlohmann::json& cfg)
    {
        const std::vector<std::string> prompts = {"ab", "b"};
        std::vector<IterationEvent> full;
        ctx.onEvent = [&](const IterationEvent& e) { full.push_back(e); };
        ctx.cancel = nullptr;
        ctx.resume = nullptr;
        RunResult a = runMethod(id, ctx, cfg, prompts);
        QCOMPARE(a.status, RunStatus::Done);
        for (size_t stopAfter : {size_t(1), full.size() / 2 + 1}) {
            std::atomic<bool> cancel{false};
            std::vector<IterationEvent> part;
            MethodContext c1 = ctx;
            c1.cancel = &cancel;
            c1.onEvent = [&](const IterationEvent& e) {
                part.push_back(nlohmann::json(e).get<IterationEvent>());
                if (part.size() == stopAfter) cancel = true;
            };
            RunResult b = runMethod(id, c1, cfg, prompts);
            QCOMPARE(b.status, RunStatus::Cancelled);
            ResumeState rs{part};
            std::vector<IterationEvent> rest;
            MethodContext c2 = ctx;
            c2.onEvent = [&](const IterationEvent& e) { rest.push_back(e); };
            c2.resume = &rs;
            RunResult c = runMethod(id, c2, cfg, prompts);
            QCOMPARE(c.status, RunStatus::Done);
            std::vector<IterationEvent> joined = part;
            joined.insert(joined.end(), rest.begin(), rest.end());
            QVERIFY2(keys(joined) == keys(full), (id + ": resumed events differ").c_str());
            QCOMPARE(c.final.size(), a.final.size());
            for (size_t i = 0; i < a.final.size(); ++i) {
                QCOMPARE(c.final[i].token_ids, a.final[i].token_ids);
                QCOMPARE(c.final[i].reward, a.final[i].reward);
            }
        }
    }

    static nlohmann::json validateConfigForTest(const nlohmann::json& c) { return validateConfig("aisp", c); }
};

QTEST_APPLESS_MAIN(TestMethods)
#include "test_methods.moc"
