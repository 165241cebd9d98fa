// The alignment methods' entry points (torch side, internal; this header itself includes no torch).
//
// How to call (the Workbench facade, the CLI, tests):
//
//     MethodContext ctx{&lm, encode, decode, *reward};     // lm: a loaded CausalLM, or nullptr with a remote
//                                                          // ctx.completions (sampling-only methods)
//     ctx.gold = goldOrNull;  ctx.cancel = &flag;  ctx.onEvent = sink;  ctx.seed = 7;  ctx.resume = &state;
//     RunResult r = runMethod("aisp", ctx, config, renderedPrompts);
//
// - `id` is a registry id (rudder/methods.h): bon, aisp, aisp-batched, qalign, wmv, args, recontrol.
// - `config` is validated here with validateConfig(id, ...) (defaults filled, UsageError on bad keys).
// - `prompts` are already rendered with the chat template; rewards are called as
//   reward.score(prompt text, response texts).  The gold reward is only observed (Sample.gold_reward).
// - One IterationEvent is delivered to ctx.onEvent after every completed iteration (per prompt);
//   Budget in each event is cumulative over the whole run.
// - ctx.cancel is polled between decode steps; a cancelled run returns status Cancelled with the
//   answers of the completed iterations (the interrupted iteration emits nothing).
// - Resume: pass the completed events of an interrupted run in ctx.resume (same id, config, seed,
//   prompts); the run continues and returns what an uninterrupted run would have.  All randomness
//   of (prompt p, iteration k, row i) comes from rowSeed(seed, p, k, i).
// - RunResult.final holds one answer per prompt; RunResult.summary holds per-method extras
//   ("prompts": [{...}] per prompt: best-of-k curve, KL to the base model, selection details).
// Throws rudder::UsageError for a bad config, rudder::Error for a failing reward/model.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/completion.h"
#include "rudder/events.h"
#include "rudder/reward.h"


namespace rudder {

class CausalLM;

struct MethodContext {
    CausalLM* lm;                                                     // base model; nullptr when it is remote
    std::function<std::vector<int32_t>(const std::string&)> encode;   // rendered prompt -> ids
    std::function<std::string(const std::vector<int32_t>&)> decode;   // response ids -> text (skip special)
    RewardFunction& reward;                                           // optimised
    RewardFunction* gold = nullptr;                                   // only observed
    double rewardFlopsPerToken = -1;   // < 0: take reward.flopsPerToken()
    const std::atomic<bool>* cancel = nullptr;
    EventSink onEvent;                 // may be empty
    uint64_t seed = 0;
    const ResumeState* resume = nullptr;
    // Where the sampling-only methods get their completions; nullptr = the local model `lm`
    // (localCompletions()).  A remote engine plugs in here.
    CompletionBackend* completions = nullptr;
    int64_t baseParameters = 0;        // a remote base model's size (FLOPs = 2·params·tokens); else lm's
    std::vector<int64_t> baseStopIds;  // a remote base model's EOS ids; else lm's config
};

// The local model a method that needs pre-logits or logits runs on; UsageError when the base
// model is remote (the Workbench refuses such runs first, with the way out).
CausalLM& localModel(const MethodContext& ctx, const char* method);

// The local completion backend over `lm`: the prefix is prefilled once into one row and its
// KV cache copied to the n rows (or reused as is when the next request has the same prefix).
std::unique_ptr<CompletionBackend> localCompletions(CausalLM& lm);

RunResult runMethod(const std::string& id, const MethodContext& ctx, const nlohmann::json& config,
                    const std::vector<std::string>& prompts);

// The methods, one file each.  `config` must already be validated (runMethod does it).
RunResult runBoN(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts);
RunResult runAISP(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts,
                  bool batched);
RunResult runWMV(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts);
RunResult runARGS(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts);
RunResult runREControl(const MethodContext& ctx, const nlohmann::json& config, const std::vector<std::string>& prompts);

struct QAlignOptions {
    int chains = 4;
    int steps = 64;
    double beta = 1.0;
    double temperature = 1.0;
    int burn_in = 8;
    int window = 16;
    int max_new_tokens = 48;
    bool vote = false;          // final answer: majority vote on extracted answers (else MBR ROUGE-1)
    std::string answer_regex;   // for the vote; empty = last \boxed{}, final letter A–D, last number
    bool length_ratio = true;   // the |y^t|/|y'| factor of eq. 8; off only in the test that proves it matters
    bool scale = false;         // β in units of the base model's reward std (pilot samples), not absolute
    int pilot = 16;             // base samples per prompt that measure that std (chain starts included)
    static QAlignOptions fromConfig(const nlohmann::json& config);
};
RunResult runQAlign(const MethodContext& ctx, const QAlignOptions& options, const std::vector<std::string>& prompts);

// β auto-tune helper: runs short pilot chains (pilotSteps each) on the first prompt for a ladder of β
// and returns the β whose acceptance rate is closest to `target` (log-interpolated).  No events.
double tuneQAlignBeta(const MethodContext& ctx, const QAlignOptions& options, const std::string& prompt,
                      double target = 0.5, int pilotSteps = 16);

// AISP eq. 19: exponent_i = r_i/λ − ((1−α)/σ²)·Σ_t⟨u_t, v^i_t⟩, w = softmax(exponent) (max subtracted).
struct AispWeights {
    std::vector<double> weights, rewardTerm, klTerm;
};
AispWeights aispWeights(const std::vector<double>& rewards, const std::vector<double>& uDotV, double lambda,
                        double alpha, double sigma);

} // namespace rudder
