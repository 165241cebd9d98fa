// The stream every alignment method emits: one IterationEvent after every iteration.
// Torch-free on purpose — the GUI plots, the SQLite store and the CLI all consume it.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rudder {

// What has been spent so far, on the four axes plots can use as x.
struct Budget {
    int64_t samples = 0;        // complete responses generated (and scored)
    int64_t tokens = 0;         // generated tokens (LM), prompt tokens not counted
    double flops = 0.0;         // forward FLOPs estimate: 2 * params * tokens, LM + RM
    double seconds = 0.0;       // wall clock since the run started
};

struct Sample {
    int prompt_index = 0;
    int iteration = 0;
    int index = 0;                       // index inside its iteration
    std::string text;                    // decoded response (no prompt)
    std::vector<int32_t> token_ids;      // response ids
    double reward = 0.0;                 // proxy reward the method optimises
    std::optional<double> gold_reward;   // optional second reward, only observed
    std::optional<double> weight;        // importance weight (AISP, IS), normalised per iteration
    std::optional<bool> accepted;        // QAlign: was this proposal accepted; absent on a chain's starting state (step 0)
    std::optional<int> cut_index;        // QAlign: where the suffix was resampled
    std::optional<int> parent;           // QAlign: index (within the chain) of the state it came from
    // The reward's own components when it has several (ArmoRM's 19 objectives, before its gate
    // mixes them into `reward`); empty for a scalar reward.
    std::vector<double> reward_objectives;
};

struct IterationEvent {
    std::string method;                  // "bon", "aisp", ...
    int prompt_index = 0;                // -1 when one event covers several prompts (batched)
    int iteration = 0;                   // 0-based
    std::vector<Sample> samples;
    nlohmann::json stats = nlohmann::json::object();   // the method's own statistics
    Budget budget;
};

struct FinalAnswer {
    int prompt_index = 0;
    std::string text;
    std::vector<int32_t> token_ids;
    double reward = 0.0;
    std::optional<double> gold_reward;
};

// How a run ended.
enum class RunStatus { Running, Done, Cancelled, Interrupted, Failed };
const char* toString(RunStatus s);
RunStatus runStatusFromString(const std::string& s);  // throws rudder::Error on unknown text

struct RunResult {
    RunStatus status = RunStatus::Done;
    std::string message;                 // failure message
    std::vector<FinalAnswer> final;      // one per prompt
    Budget budget;
    nlohmann::json summary = nlohmann::json::object();
};

// The headline numbers of RunResult::summary, read in one place for the CLI and the GUI: the
// answers' text metrics (AISP paper, App. C.4) and the mean KL to the base model over prompts
// (AISP, ARGS; App. C.6).  Empty optionals where the run has none.
struct SummaryMeans {
    bool has_text_metrics = false;
    std::optional<double> diversity, coherence, kl_to_base;
    std::string coherence_encoder;
};
SummaryMeans summaryMeans(const nlohmann::json& summary);

// Adds b's four axes to a (a value model's training on top of a run's own budget).
Budget& operator+=(Budget& a, const Budget& b);
void to_json(nlohmann::json& j, const Budget& b);
void from_json(const nlohmann::json& j, Budget& b);
void to_json(nlohmann::json& j, const Sample& s);
void from_json(const nlohmann::json& j, Sample& s);
void to_json(nlohmann::json& j, const IterationEvent& e);
void from_json(const nlohmann::json& j, IterationEvent& e);
void to_json(nlohmann::json& j, const FinalAnswer& f);
void from_json(const nlohmann::json& j, FinalAnswer& f);

// Completed iterations of an interrupted run: the method rebuilds its state from them and
// continues from the next iteration with the same results as an uninterrupted run.
struct ResumeState {
    std::vector<IterationEvent> completed;
    std::string source;   // where `completed` was read from (the session file), for messages
};

using EventSink = std::function<void(const IterationEvent&)>;

} // namespace rudder
