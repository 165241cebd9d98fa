// AISP's decoding primitives (internal, torch side), shared by the method (aisp.cpp) and the local
// completion backend, which serves them to remote clients (`rudder-cli serve`'s pre-logit
// extension): a client and a server that share these functions draw the same noise and decode
// the same tokens.
#pragma once
#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "model/causal_lm.h"
#include "model/generate.h"

namespace rudder::methods {

// E ~ N(0, σ²·A⊗I_d) of shape [τ, d], on the CPU from a generator seeded with `seed` (device
// independent).  A = (1−ρ)I_τ + ρ11ᵀ: every position has variance σ² and any two positions of the
// window correlation ρ — E_t = σ(√(1−ρ)·ε_t + √ρ·ε_0), one shared direction ε_0 plus per-position
// noise.  ρ = 0 is the paper's Σ = σ²I.
at::Tensor aispNoise(uint64_t seed, int64_t tau, int64_t d, double sigma, double rho = 0);

// A⁻¹V for V of shape [τ, d] (A as above): the prior's inverse covariance up to 1/σ², which the
// KL term of eq. 19 needs (⟨U, A⁻¹V⟩ = Σ_t⟨u_t, v_t⟩ when ρ = 0).
at::Tensor aispWhiten(const at::Tensor& V, double rho);

// RMS of the pre-logits at the last prompt position (the unit of scale-free σ).
double prelogitRms(CausalLM& lm, const std::vector<int32_t>& ids);

// KL(softmax(W z') ‖ softmax(W z)) per row ([m], double, on the model's device): what an edit of
// the pre-logits (AISP's noise, RE-Control's ascent) costs in closeness to the base model.
at::Tensor prelogitEditKl(CausalLM& lm, const at::Tensor& edited, const at::Tensor& pre);

// One greedy decode of V.size(0) rows, row r's pre-logits perturbed by V[r][t] for t < τ.  klOut
// (optional) receives Σ_t KL(softmax(W(z_t+v_t)) ‖ softmax(W z_t)) per row.
GenerateResult perturbedDecode(CausalLM& lm, KVCache& cache, const at::Tensor& last, const at::Tensor& V, int64_t tau,
                               int64_t maxNew, const std::atomic<bool>* cancel, std::vector<double>* klOut);

} // namespace rudder::methods
