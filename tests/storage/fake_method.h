// A deterministic stand-in for an alignment method, shared by the storage tests and the
// session_writer helper.  Like the real methods it derives all randomness of iteration k
// from (seed, k, row) and carries state (a mean u, like AISP's U) from iteration to
// iteration, so a resumed run must rebuild u from the stored events to match.
#pragma once
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "rudder/events.h"

namespace fake {

inline uint64_t mix(uint64_t x)   // splitmix64 finaliser
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline double uniform(uint64_t seed, int k, int row)   // in [-1, 1)
{
    uint64_t h = mix(seed ^ mix(uint64_t(k) * 1000003ull + uint64_t(row)));
    return double(h >> 11) * 0x1.0p-52 - 1.0;
}

// Iteration k from state u: K proposals x = u + noise, reward -(x-3)^2, self-normalised
// weights, next u = weighted mean (stored in stats so a resume can pick it up).
inline rudder::IterationEvent iteration(uint64_t seed, int k, int K, double u)
{
    rudder::IterationEvent e;
    e.method = "fake";
    e.prompt_index = 0;
    e.iteration = k;
    std::vector<double> x(static_cast<size_t>(K)), r(static_cast<size_t>(K));
    double rmax = -INFINITY;
    for (int i = 0; i < K; ++i) {
        x[size_t(i)] = u + uniform(seed, k, i);
        r[size_t(i)] = -(x[size_t(i)] - 3.0) * (x[size_t(i)] - 3.0);
        rmax = std::max(rmax, r[size_t(i)]);
    }
    double z = 0, unext = 0, z2 = 0;
    for (int i = 0; i < K; ++i) z += std::exp(r[size_t(i)] - rmax);
    for (int i = 0; i < K; ++i) {
        rudder::Sample s;
        s.prompt_index = 0;
        s.iteration = k;
        s.index = i;
        s.text = "x=" + std::to_string(x[size_t(i)]) + (i % 7 == 0 ? ", \"quoted\"\nline" : "");
        s.token_ids = {k, i, int32_t(mix(uint64_t(i)) & 0xffff), -1 - i};
        s.reward = r[size_t(i)];
        double w = std::exp(r[size_t(i)] - rmax) / z;
        s.weight = w;
        if (i % 3 == 0) s.gold_reward = -std::fabs(x[size_t(i)] - 3.0);
        if (i % 2 == 0) s.accepted = (i % 4 == 0);
        if (i % 5 == 0) s.cut_index = i % 11;
        if (i > 0 && i % 4 == 1) s.parent = i - 1;
        if (i % 6 == 0) s.reward_objectives = {x[size_t(i)], -0.25, 1e-3 * i};   // a multi-objective reward
        unext += w * x[size_t(i)];
        z2 += w * w;
        e.samples.push_back(std::move(s));
    }
    e.stats = {{"u", u}, {"u_next", unext}, {"ess", 1.0 / z2}, {"note", "k" + std::to_string(k)}};
    e.budget.samples = int64_t(K) * (k + 1);
    e.budget.tokens = int64_t(4 * K) * (k + 1);
    e.budget.flops = 1e9 * (k + 1);
    e.budget.seconds = 0.25 * (k + 1);
    return e;
}

// State after the completed iterations (empty: the initial u = 0).
inline double stateAfter(const std::vector<rudder::IterationEvent>& completed)
{
    return completed.empty() ? 0.0 : completed.back().stats.at("u_next").get<double>();
}

} // namespace fake
