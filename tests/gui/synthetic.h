// Synthetic event streams with known statistics, so widget tests do not need a model.
#pragma once
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "rudder/events.h"

namespace rudder::testing {

// `iterations` events of `n` samples; rewards ~ N(mu0 + drift*it, 1), gold = -reward/2 (it falls
// as the proxy rises), normalised weights softmax(reward) when `weights`.
inline std::vector<IterationEvent> syntheticRun(const std::string& method, int iterations, int n,
                                                double drift = 0.3, bool weights = true, uint64_t seed = 7)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> N(0.0, 1.0);
    std::vector<IterationEvent> out;
    Budget b;
    for (int it = 0; it < iterations; ++it) {
        IterationEvent e;
        e.method = method;
        e.iteration = it;
        double z = 0;
        for (int i = 0; i < n; ++i) {
            Sample s;
            s.iteration = it;
            s.index = i;
            s.reward = drift * it + N(rng);
            s.gold_reward = -0.5 * s.reward;
            s.text = "sample " + std::to_string(it) + "." + std::to_string(i);
            s.token_ids = std::vector<int32_t>(size_t(5 + i % 7), 1);
            if (weights) z += std::exp(s.reward);
            e.samples.push_back(s);
            b.tokens += int64_t(s.token_ids.size());
        }
        if (weights)
            for (auto& s : e.samples) s.weight = std::exp(s.reward) / z;
        b.samples += n;
        b.seconds += 0.5;
        b.flops += 1e9 * n;
        e.budget = b;
        out.push_back(e);
    }
    return out;
}

// QAlign-like stream: chain initial states (no accepted flag), then steps with a fixed pattern:
// chain c accepts at step t iff (t + c) % 3 == 0  -> acceptance rate exactly 1/3 over 3k steps.
inline std::vector<IterationEvent> syntheticChains(int chains, int steps)
{
    std::vector<IterationEvent> out;
    IterationEvent init;
    init.method = "qalign";
    init.iteration = 0;
    for (int c = 0; c < chains; ++c) {
        Sample s;
        s.index = c;
        s.reward = 0;
        s.text = "init";
        init.samples.push_back(s);
    }
    out.push_back(init);
    for (int t = 1; t <= steps; ++t) {
        IterationEvent e;
        e.method = "qalign";
        e.iteration = t;
        for (int c = 0; c < chains; ++c) {
            Sample s;
            s.iteration = t;
            s.index = c;
            s.reward = t + c;
            s.accepted = (t + c) % 3 == 0;
            s.text = "step";
            e.samples.push_back(s);
        }
        e.budget.samples = int64_t(t) * chains;
        out.push_back(e);
    }
    return out;
}

} // namespace rudder::testing
