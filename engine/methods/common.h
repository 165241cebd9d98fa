// Pieces every method shares: budget accounting, scoring, events, resume look-ups (torch side).
#pragma once
#include <ATen/ATen.h>

#include <chrono>
#include <map>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "methods/method.h"
#include "model/causal_lm.h"
#include "model/generate.h"

namespace rudder::methods {

// Budget accounting (the four axes): FLOPs = 2·params·LM tokens (prompt prefill included)
// + RM flops per scored token; seconds continue from a resumed run's last event.
class BudgetMeter {
public:
    BudgetMeter(const MethodContext& ctx);
    void lmTokens(int64_t n) { b_.flops += 2.0 * double(params_) * double(n); }
    void generated(int64_t n) { b_.tokens += n; lmTokens(n); }
    void scored(int64_t samples, int64_t tokens) { b_.samples += samples; b_.flops += rmFlops_ * double(tokens); }
    void rmTokens(int64_t tokens) { b_.flops += rmFlops_ * double(tokens); }
    void flops(double f) { b_.flops += f; }   // other compute (RE-Control's ascent on V)
    Budget now() const;
    void restore(const Budget& b);   // resume: continue from the stored totals

private:
    Budget b_;
    int64_t params_;
    double rmFlops_;
    double secondsBefore_ = 0;
    std::chrono::steady_clock::time_point start_;
};

struct Scored {
    std::vector<std::string> texts;
    std::vector<double> rewards;
    std::vector<std::optional<double>> gold;
    std::vector<std::vector<double>> objectives;   // per response when the reward has several, else empty
    std::vector<double> objectivesOf(size_t i) const { return i < objectives.size() ? objectives[i] : std::vector<double>(); }
};
// Decodes and scores responses of one prompt; counts RM tokens (prompt + response) per sample.
Scored scoreResponses(const MethodContext& ctx, BudgetMeter& meter, const std::string& prompt, int64_t promptTokens,
                      const std::vector<std::vector<int32_t>>& responses);

std::vector<int64_t> stopIds(const CausalLM& lm);
// The run's completion backend: ctx.completions, or a local one over ctx.lm kept alive in `local`.
CompletionBackend& completionsFor(const MethodContext& ctx, std::unique_ptr<CompletionBackend>& local);
bool cancelled(const MethodContext& ctx);
void emit(const MethodContext& ctx, const IterationEvent& e);

// Completed events of a resumed run for (method, prompt), indexed by iteration; missing ones are absent.
std::vector<const IterationEvent*> resumedEvents(const MethodContext& ctx, const std::string& method, int prompt);
Budget resumedBudget(const MethodContext& ctx);   // the largest budget among the stored events
// Methods with one event per prompt (ARGS, RE-Control): a prompt finished before the resume is
// taken from its stored event into `result` and `perPrompt` (true); false when it must run.
bool takeResumedPrompt(const MethodContext& ctx, const std::string& method, int p, RunResult& result,
                       nlohmann::json& perPrompt);

Sample makeSample(int prompt, int iteration, int index, std::vector<int32_t> ids, std::string text, double reward,
                  std::optional<double> gold);
// Response i of a scored batch: its text, reward, gold reward and reward objectives.
Sample makeSample(int prompt, int iteration, int index, std::vector<int32_t> ids, const Scored& sc, size_t i);

// Per-row generators for (prompt, iteration, rows 0..n-1).
std::vector<at::Generator> rowGenerators(uint64_t seed, int64_t prompt, int64_t iteration, int64_t n);

inline int64_t getInt(const nlohmann::json& c, const char* k) { return c.at(k).get<int64_t>(); }
inline double getDouble(const nlohmann::json& c, const char* k) { return c.at(k).get<double>(); }

// Status of a run given the cancel flag.
RunResult finish(RunResult r, const MethodContext& ctx, const BudgetMeter& meter, bool wasCancelled);

} // namespace rudder::methods

namespace rudder::methods {

// BoN and WMV: n independent samples of one prompt in batches of `batch` rows sharing the prompt's
// KV cache; one event per batch.  Sample j (global index) uses rowSeed(seed, p, 0, j) whatever the
// batch size.  Batches already in ctx.resume are taken from there.  `decorate` fills the event's
// stats (and the batch samples' weights) given all samples so far.  Returns false when cancelled.
struct IndependentOptions {
    int64_t n = 1, batch = 1, max_new_tokens = 16;
    SamplingParams sampling;
};
// The completions of BoN/WMV batches, requested in (prompt, batch) order and
// backend.concurrency() at a time: a server sees many requests at once (batches of this prompt
// and the next prompts'), the local model decodes one batch at a time so the plots move after
// each.  Sample j of prompt p uses rowSeed(seed, p, 0, j) whatever the batching.
class BatchQueue {
public:
    BatchQueue(const MethodContext& ctx, std::string method, const std::vector<std::string>& prompts,
               const IndependentOptions& opt);
    int64_t batches() const { return nBatches_; }
    int64_t resumed(int p) const;                  // batches of prompt p already in ctx.resume
    const std::vector<int32_t>& ids(int p);        // the prompt's token ids
    Completions take(int p, int64_t b);            // .cancelled when stopped

private:
    CompletionRequest request(int p, int64_t b);
    const MethodContext& ctx_;
    std::string method_;
    const std::vector<std::string>& prompts_;
    IndependentOptions opt_;
    int64_t nBatches_;
    std::unique_ptr<CompletionBackend> local_;
    CompletionBackend* backend_;
    std::map<int, std::vector<int32_t>> ids_;
    std::map<std::pair<int, int64_t>, Completions> ready_;
};

bool sampleIndependent(const MethodContext& ctx, BudgetMeter& meter, BatchQueue& queue, const std::string& method, int p,
                       const std::string& prompt, const IndependentOptions& opt,
                       const std::function<nlohmann::json(const std::vector<Sample>& all, std::vector<Sample>& batch)>& decorate,
                       std::vector<Sample>& all);

SamplingParams samplingFromConfig(const nlohmann::json& c);
// n, batch (at most n), max_new_tokens and sampling from a BoN/WMV config.
IndependentOptions independentFromConfig(const nlohmann::json& c);

} // namespace rudder::methods
