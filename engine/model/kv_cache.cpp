#include "model/causal_lm.h"

#include "rudder/error.h"

namespace rudder {

KVCache::KVCache(int64_t rows, int64_t capacity, int64_t layers, int64_t kvHeads, int64_t headDim,
                 at::TensorOptions opts)
    : rows_(rows), capacity_(capacity), lengths_(static_cast<size_t>(rows), 0)
{
    if (rows <= 0 || capacity <= 0) throw Error("", "KV cache", "needs at least one row and one position");
    for (int64_t l = 0; l < layers; ++l) {
        // Zero-filled: masked positions must never hold NaN/Inf (0 * NaN would leak through).
        k.push_back(at::zeros({rows, kvHeads, capacity, headDim}, opts));
        v.push_back(at::zeros({rows, kvHeads, capacity, headDim}, opts));
    }
    tokens = at::zeros({rows, capacity}, at::TensorOptions().dtype(at::kLong).device(opts.device()));
}

void KVCache::setLength(int64_t row, int64_t len)
{
    if (row < 0 || row >= rows_) throw Error("", "KV cache", "row " + std::to_string(row) + " out of range");
    if (len < 0 || len > capacity_)
        throw Error("", "KV cache", "length " + std::to_string(len) + " outside [0, " + std::to_string(capacity_) + "]");
    lengths_[row] = len;   // stale positions beyond len are masked by position, never read
}

void KVCache::fork(int64_t src, int64_t dst, int64_t len)
{
    if (src < 0 || src >= rows_ || dst < 0 || dst >= rows_)
        throw Error("", "KV cache", "fork rows out of range");
    if (len < 0 || len > lengths_[src])
        throw Error("", "KV cache", "fork length " + std::to_string(len) + " exceeds the source row's "
                                        + std::to_string(lengths_[src]));
    if (src != dst && len > 0) {
        for (size_t l = 0; l < k.size(); ++l) {
            k[l][dst].narrow(1, 0, len).copy_(k[l][src].narrow(1, 0, len));
            v[l][dst].narrow(1, 0, len).copy_(v[l][src].narrow(1, 0, len));
        }
        tokens[dst].narrow(0, 0, len).copy_(tokens[src].narrow(0, 0, len));
    }
    lengths_[dst] = len;
}

void KVCache::broadcastRow(int64_t src)
{
    if (src < 0 || src >= rows_) throw Error("", "KV cache", "broadcast row out of range");
    const int64_t len = lengths_[src];
    if (len > 0 && rows_ > 1) {
        for (size_t l = 0; l < k.size(); ++l) {
            k[l].narrow(2, 0, len).copy_(k[l][src].narrow(1, 0, len).unsqueeze(0).clone().expand_as(k[l].narrow(2, 0, len)));
            v[l].narrow(2, 0, len).copy_(v[l][src].narrow(1, 0, len).unsqueeze(0).clone().expand_as(v[l].narrow(2, 0, len)));
        }
        tokens.narrow(1, 0, len).copy_(tokens[src].narrow(0, 0, len).unsqueeze(0).clone().expand({rows_, len}));
    }
    for (auto& x : lengths_) x = len;
}

} // namespace rudder
