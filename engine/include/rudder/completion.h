// The completion backend: what the sampling-only methods (best-of-n, IS/WMV, QAlign's pilot)
// need from a base model — complete a token prefix n times with given sampling settings and
// per-completion seeds.  The local implementation runs the model in this process over its KV
// cache; a serving engine (vLLM, any OpenAI-compatible server) can implement the same interface
// without touching the methods.  Torch-free.  Methods whose descriptor says needsLocalModel()
// (AISP: pre-logits) cannot use it; ARGS takes its candidates from nextTokens().
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace rudder {

struct CompletionRequest {
    std::vector<int32_t> prefix;          // token ids: the rendered prompt (with BOS), or prompt ⊕ y_<t
    int64_t max_new_tokens = 64;
    double temperature = 1.0;
    int64_t top_k = 0;                    // 0 = off
    double top_p = 1.0;                   // 1 = off
    std::vector<uint64_t> seeds;          // one per completion (n = seeds.size()): reproducible, resumable
    bool logprobs = false;                // per-token log p under the unmodified model
    // Prefix reuse (QAlign's suffix proposals).  keep: the caller will extend these completions
    // later, so the backend keeps their state and returns a handle for each; reuse: the handle of
    // an earlier completion whose prefix ⊕ tokens begin this prefix.  Hints only: a serving
    // engine's prefix cache does the same without them (handles -1).  With no seeds and keep, the
    // prefix is only made ready for reuse (a resumed chain's state).
    bool keep = false;
    int64_t reuse = -1;
};

struct Completions {
    std::vector<std::vector<int32_t>> tokens;   // per completion, EOS included when hit
    std::vector<std::vector<float>> logprobs;   // per completion and token (request.logprobs)
    std::vector<bool> finished;                 // stopped at an EOS id
    int64_t prefill_tokens = 0;                 // prefix tokens the model had to run (not cached)
    int64_t generated_tokens = 0;
    bool cancelled = false;                     // the cancel flag stopped it; the rest is empty
    std::vector<int64_t> handles;               // request.keep: per completion (or one for a priming request), -1 if none
};

// The most likely next tokens after a prefix under the unmodified model (ARGS's candidates).
struct NextTokens {
    std::vector<int32_t> ids;       // most likely first
    std::vector<double> logprobs;   // log p(id | prefix), same order
    int64_t prefill_tokens = 0;     // prefix tokens the model had to run (not cached)
    bool cancelled = false;
};

// AISP's decode (Rudder's own extension of the API: `rudder-cli serve` answers it, OpenAI-
// compatible servers do not): greedy decodes whose pre-logits z_t are moved by V = U + E for the
// first τ tokens, E ~ N(0, σ²·A⊗I) (A: correlation ρ between positions) drawn from a seed
// exactly as the method draws it, so a client that sends U and the seeds can rebuild every E
// itself (eq. 14) without receiving it.
struct PerturbedRequest {
    std::vector<int32_t> prefix;
    int64_t max_new_tokens = 0, tau = 0, hidden = 0;
    std::vector<float> control;          // U, [tau × hidden] row-major; empty = zeros
    double sigma = 0;                    // absolute
    double rho = 0;                      // noise correlation between positions (0 = independent)
    std::vector<uint64_t> noise_seeds;   // one row per seed; empty = one row with V = U
    bool kl = false;                     // report Σ_t KL(p_V ‖ p_base) per row
};
struct PerturbedDecodes {
    std::vector<std::vector<int32_t>> tokens;
    std::vector<bool> finished;
    std::vector<double> kl;              // request.kl
    int64_t prefill_tokens = 0, generated_tokens = 0;
    bool cancelled = false;
};
struct PrelogitInfo {
    double rms = 0;                      // RMS of the pre-logits at the prompt's last position
    int64_t hidden = 0;                  // their width d
};

class CompletionBackend {
public:
    virtual ~CompletionBackend() = default;
    // Polls `cancel` between decode steps.  Throws rudder::Error when the model cannot answer.
    virtual Completions complete(const CompletionRequest& request, const std::atomic<bool>* cancel) = 0;
    // Several requests decoded together (QAlign: one suffix per chain).  Same results as one at
    // a time; a backend that batches them is faster.
    virtual std::vector<Completions> completeMany(const std::vector<CompletionRequest>& requests,
                                                  const std::atomic<bool>* cancel)
    {
        std::vector<Completions> out;
        for (const auto& r : requests) {
            out.push_back(complete(r, cancel));
            if (out.back().cancelled) break;
        }
        return out;
    }
    // The k most likely next tokens (a serving engine: top-k log-probabilities of a one-token
    // completion).  Throws UsageError when the backend cannot tell.
    virtual NextTokens nextTokens(const std::vector<int32_t>& /*prefix*/, int64_t /*k*/,
                                  const std::atomic<bool>* /*cancel*/);
    // AISP's extension (above); UsageError when the backend does not offer it.
    virtual PerturbedDecodes perturbed(const PerturbedRequest& request, const std::atomic<bool>* cancel);
    virtual PrelogitInfo prelogitInfo(const std::vector<int32_t>& prefix, const std::atomic<bool>* cancel);
    // Kept completions the caller no longer extends (a rejected proposal, a replaced state).
    virtual void release(const std::vector<int64_t>& /*handles*/) {}
    virtual std::string name() const = 0;   // "local", or the server's address
    // Requests worth sending together (completeMany): 1 for the local model, which decodes one
    // batch at a time anyway; a server's connection limit, so its own batching sees them all.
    virtual int64_t concurrency() const { return 1; }
};

} // namespace rudder
