// Sampling and the decode loop shared by every method (torch side; internal header).
// Contract between the runtime (implements) and the methods (use).
#pragma once
#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "model/causal_lm.h"

namespace rudder {

struct SamplingParams {
    bool greedy = false;
    double temperature = 1.0;
    int64_t top_k = 0;      // 0 = off
    double top_p = 1.0;     // 1 = off
};

// One generator per row, seeded independently: the same (seed, row) gives the same tokens
// whatever the batch size.  Seeds are derived with rowSeed() so resumed runs match.
std::vector<at::Generator> makeRowGenerators(const std::vector<uint64_t>& seeds);
uint64_t rowSeed(uint64_t runSeed, int64_t promptIndex, int64_t iteration, int64_t row);

// logits: [rows, vocab] fp32.  Returns the next tokens [rows] int64; if logprobs is non-null it
// receives log p(token) under the *unmodified* model distribution softmax(logits) [rows].
at::Tensor sampleNext(const at::Tensor& logits, const SamplingParams& params,
                      std::vector<at::Generator>& gens, at::Tensor* logprobs = nullptr);

struct GenerateOptions {
    int64_t max_new_tokens = 64;
    SamplingParams sampling;
    std::vector<int64_t> stop_ids;   // EOS ids (the EOS token itself is kept in the output)
    // Called before lm_head at every step with the pre-logits of the still-active rows
    // [m, hidden] (modifiable in place or replaced) and their row indices [m]; AISP adds v_t here.
    std::function<void(int64_t step, at::Tensor& preLogits, const at::Tensor& rows)> perturb;
    const std::atomic<bool>* cancel = nullptr;   // polled between decode steps
    // Stop strings: called after each new token of a row with its generated ids so far; the
    // caller (who has the tokenizer) returns true to stop that row.  The token is kept.
    std::function<bool(int64_t row, const std::vector<int32_t>& generated)> stop_when;
    // Replaces sampling: the active rows' logits [m, vocab] fp32 and their cache rows in, the next
    // token of each row [m] int64 out.  ARGS scores its candidates with the reward here.
    std::function<at::Tensor(int64_t step, const at::Tensor& logits, const std::vector<int64_t>& rows)> choose;
    // Decode only these cache rows, in this order (lastPreLogits, gens and the result follow it);
    // empty = every row of the cache.  QAlign continues its proposal rows this way.
    std::vector<int64_t> rows;
    // Per-row token budgets in the same order (empty: max_new_tokens for every row).
    std::vector<int64_t> budgets;
    // Fill GenerateResult::logprobs.  Off by default: it costs a full-vocabulary log_softmax per
    // step that no method reads.
    bool logprobs = false;
};

struct GenerateResult {
    std::vector<std::vector<int32_t>> tokens;   // per row (or per options.rows entry), generated ids (EOS included if hit)
    std::vector<std::vector<float>> logprobs;   // per row, per token, under the base model (options.logprobs)
    std::vector<bool> finished;                 // hit a stop id
    int64_t generated_tokens = 0;               // sum over rows
    bool cancelled = false;
    // Budget: tokens run through the model (forward), 2 * params * forward_tokens, wall time.
    int64_t forward_tokens = 0;
    double flops = 0.0;
    double seconds = 0.0;
};

// Continues every row of `cache` from `lastPreLogits` ([rows, hidden]: the pre-logits at each
// row's last cached position, e.g. the prompt's last token).  Rows stop at a stop id or after
// max_new_tokens; finished rows are dropped from the forward (forwardRows).  Each row's last
// sampled token is never fed back, so afterwards the cache holds the prompt and every generated
// token but the last (length(r) = prompt + tokens[r].size() - 1).
GenerateResult generate(CausalLM& lm, KVCache& cache, const at::Tensor& lastPreLogits,
                        const GenerateOptions& options, std::vector<at::Generator>& gens);

// Prefill helper: runs one prompt (ids) in a 1-row pass, then broadcasts it to all rows of a
// fresh cache of `rows` x `capacity`.  Returns the last position's pre-logits [rows, hidden].
at::Tensor prefillShared(CausalLM& lm, KVCache& cache, const std::vector<int32_t>& promptIds);

// Prefill of different prompts, one per row (right-padded, per-row lengths set after).
// Returns [rows, hidden] pre-logits at each row's last prompt token.
at::Tensor prefillRows(CausalLM& lm, KVCache& cache, const std::vector<std::vector<int32_t>>& prompts);

} // namespace rudder
