// Contract between the model runtime and the alignment methods (torch side; internal header,
// never included from Qt code).  The runtime's TransformerLM implements it; tests may plug in
// toy models (e.g. a lookup-table LM for exact enumeration).
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/lm_config.h"

namespace rudder {

// Position-indexed KV cache (the gpt-fast design): per layer k,v = [rows, kv_heads, capacity, head_dim].
// Row r holds length(r) valid positions; a forward writes at positions length(r)...
class KVCache {
public:
    KVCache() = default;
    KVCache(int64_t rows, int64_t capacity, int64_t layers, int64_t kvHeads, int64_t headDim,
            at::TensorOptions opts);

    int64_t rows() const { return rows_; }
    int64_t capacity() const { return capacity_; }
    int64_t length(int64_t row) const { return lengths_.at(row); }
    const std::vector<int64_t>& lengths() const { return lengths_; }
    void setLength(int64_t row, int64_t len);          // rewind (truncate) or declare after a padded prefill
    void fork(int64_t src, int64_t dst, int64_t len);  // dst := src's first len positions
    void broadcastRow(int64_t src);                    // every row := row src (shared prompt)

    std::vector<at::Tensor> k, v;   // per layer
    at::Tensor tokens;              // [rows, capacity] int64: the ids at each position (toy LMs, QAlign)

private:
    int64_t rows_ = 0, capacity_ = 0;
    std::vector<int64_t> lengths_;
};

class CausalLM {
public:
    virtual ~CausalLM() = default;
    virtual const ModelConfig& config() const = 0;
    virtual at::Device device() const = 0;
    virtual at::ScalarType dtype() const = 0;

    virtual KVCache newCache(int64_t rows, int64_t capacity) const = 0;

    // tokens: [rows, T] int64 for every row of the cache.  Row r is computed at positions
    // length(r) .. length(r)+T-1, appended to the cache (lengths advance by T).
    // Returns the pre-logits (final-norm output, input of lm_head): [rows, T, hidden].
    virtual at::Tensor forward(KVCache& cache, const at::Tensor& tokens) = 0;

    // Same, for a subset of rows only (rowIndex: [m] int64): finished rows stop costing compute.
    // Returns [m, T, hidden].
    virtual at::Tensor forwardRows(KVCache& cache, const at::Tensor& tokens, const at::Tensor& rowIndex) = 0;

    // [..., hidden] -> [..., vocab] logits in fp32 (soft-capping applied where the family has it).
    virtual at::Tensor lmHead(const at::Tensor& preLogits) const = 0;
};

} // namespace rudder
