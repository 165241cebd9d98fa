// The torch-free facade the GUI and the CLI drive: load models, pick rewards, run a method,
// receive its event stream.  Everything torch stays behind the pimpl.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/completion.h"
#include "rudder/events.h"
#include "rudder/remote.h"
#include "rudder/reward.h"
#include "rudder/value_model.h"

namespace rudder {

struct LoadOptions {
    std::string device = "auto";  // "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:N"
    std::string dtype = "auto";   // "auto" (bf16 on CUDA, fp32 on CPU), "fp32", "bf16", "fp16"
    // A remote base model (http://HOST:PORT/v1[#MODEL]) keeps its tokenizer here: a model
    // directory (config.json and tokenizer files, no weights needed) or a cached repo id.
    std::string tokenizer;
    RemoteOptions remote;         // connection settings for remote models and rewards
};

// What `rudder-cli inspect` prints and sessions record as model identity.
struct ModelSummary {
    std::string directory;
    std::string architecture;     // config.json architectures[0]
    std::string model_type;
    int64_t parameters = 0;
    std::string stored_dtype;     // dtype of the weight files
    std::string device, dtype;    // where/how it runs (empty when only inspected)
    int64_t hidden_size = 0, vocab_size = 0, layers = 0;
    std::string tokenizer_type;   // "byte-level BPE", "sentencepiece BPE"
    std::string chat_template;    // detected template name
    std::string reward_head;      // "", "score", "regression_head", "v_head"
    std::string config_sha256;    // of config.json
    std::string weights_fingerprint;  // by content (header + sampled bytes): survives a copy
    std::string weights_fingerprint_mtime;  // the older one (with mtimes), to match older sessions
    nlohmann::json toJson() const;
};

// Reads config/tokenizer/header only; no weights loaded.  Throws rudder::Error on bad input.
ModelSummary inspectModel(const std::string& dir);

struct RunRequest {
    std::string method;                 // an id from allMethods()
    nlohmann::json config;              // validated with validateConfig()
    uint64_t seed = 0;
    std::vector<std::string> prompts;   // raw user prompts; the template is applied by the engine
    std::string prompt_template = "auto";  // template name, "auto" = detected, "none" = raw
};

// RE-Control's value function: what to train it on (Workbench::trainValue).
struct ValueTrainRequest {
    std::vector<std::string> prompts;       // raw user prompts; the template is applied as in run()
    std::string prompt_template = "auto";
    ValueTrainOptions options;
    std::string out;                        // the file; empty = the value store's, named by the training key
    bool force = false;                     // train again even when that file exists
};

class Workbench {
public:
    Workbench();
    ~Workbench();
    Workbench(const Workbench&) = delete;
    Workbench& operator=(const Workbench&) = delete;

    // `spec`: a model directory, a Hugging Face repo id ORG/NAME[@REVISION] in the local cache, or
    // a serving engine http(s)://HOST:PORT/v1[#MODEL] (then opt.tokenizer names the tokenizer).
    ModelSummary loadBase(const std::string& spec, const LoadOptions& opt = {});
    bool hasBase() const;
    bool baseIsRemote() const;
    const ModelSummary& base() const;
    int64_t contextLength() const;   // the base model's positions (0 = unknown)
    // The base model's completions (what `rudder-cli serve` answers with): the local model, or
    // the remote server.  Valid until the next loadBase.
    CompletionBackend& completions();
    std::vector<int32_t> encode(const std::string& text, bool addSpecial = true) const;
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecial = true) const;

    // reward: a model directory, "lexicon", "cmd:COMMAND", or a server (http://HOST:PORT/pooling
    // for vLLM's pooling API, any other URL for a plain JSON reward).  Returns its display name.
    std::string setReward(const std::string& spec, const LoadOptions& opt = {});
    std::string setGold(const std::string& spec, const LoadOptions& opt = {});   // "" clears it
    // A gold built by the caller (the accuracy gold needs the dataset's reference answers); `spec`
    // is what the session records ("answer:FIELD") and a resume rebuilds it from.
    void setGoldFunction(std::shared_ptr<RewardFunction> fn, const std::string& spec);
    std::shared_ptr<RewardFunction> reward() const;
    std::shared_ptr<RewardFunction> gold() const;
    // What a session records about the loaded models, and what a resume checks against:
    // {"base_model": ModelSummary + "spec", "reward_model" and "gold": {"spec", "name", and for a
    // model directory its ModelSummary}, "device", "dtype", "versions"}.  Specs are as given to
    // loadBase/setReward/setGold, so the run can be loaded again from them.
    nlohmann::json provenance() const;

    // The prompt as the model sees it, and its token count (GUI preview).
    std::string renderPrompt(const std::string& prompt, const std::string& templ = "auto") const;
    int64_t countTokens(const std::string& text) const;

    // Every check run() makes before it samples (config, prompts, reward, value model, a resumed
    // run's stored ids), so a front end can refuse a run before it records anything: a refusal
    // leaves the session untouched.  Throws UsageError.  Returns the validated config.
    nlohmann::json checkRun(const RunRequest& request, const ResumeState* resume = nullptr) const;
    // Runs synchronously on the calling thread (the GUI calls it from a worker thread).
    // `onEvent` is called after every iteration; `cancel` is polled between decode steps.
    RunResult run(const RunRequest& request, const EventSink& onEvent,
                  const std::atomic<bool>* cancel = nullptr, const ResumeState* resume = nullptr);

    // QAlign's β for a target acceptance rate: short pilot chains (request.config's chains and
    // max_new_tokens, `pilotSteps` steps) on request.prompts[0] for a ladder of β, bisected in
    // log β.  Returns the absolute β (use it with scale = 0).  Costs about 8 pilot runs.
    double tuneQAlignBeta(const RunRequest& request, double targetAcceptance = 0.5, int pilotSteps = 16,
                          const std::atomic<bool>* cancel = nullptr);

    // RE-Control's value models are kept in this directory (a session's "<session>.values/");
    // default "rudder-values" in the working directory.
    void setValueStore(const std::string& dir);
    const std::string& valueStore() const;
    // Collects the base model's responses to the prompts, scores them with the reward and trains
    // the value function on their pre-logits (value_function.cpp: RE-Control's objective).  A file
    // with the same training key (models' fingerprints, rendered prompts, options) is reused as
    // is (*reused = true).  Stopped through `cancel`: throws rudder::Cancelled, and the same
    // request later continues from its checkpoints.  Throws UsageError for a remote base model.
    ValueModelInfo trainValue(const ValueTrainRequest& request, const std::function<void(const ValueTrainProgress&)>& progress,
                              const std::atomic<bool>* cancel = nullptr, bool* reused = nullptr);
    // For a method whose descriptor needsValueModel and a config without "value_model": trains (or
    // finds) one on the request's prompts with the config's training keys (train_samples,
    // train_epochs, value_lr, value_hidden, value_layers, train_batch, max_new_tokens; the run's
    // seed) and sets request.config["value_model"].  nullopt when the method needs none or the
    // config names one already.
    std::optional<ValueModelInfo> prepareValueModel(RunRequest& request,
                                                    const std::function<void(const ValueTrainProgress&)>& progress,
                                                    const std::atomic<bool>* cancel = nullptr, bool* reused = nullptr);
    // A value model file's record, its weights read and checked too (throws UsageError naming the file
    // when it is not one): for a file a user chose.
    static ValueModelInfo readValueModel(const std::string& path);

    // What run() refuses before doing anything (models loaded, prompts given, every prompt plus
    // max_new_tokens within the base model's positions), so a front end can ask before it records
    // a run.  Throws UsageError naming the prompt.
    void checkPrompts(const std::vector<std::string>& prompts, const std::string& promptTemplate,
                      int64_t maxNewTokens) const;

private:
    ModelSummary loadRemoteBase(const std::string& spec, const LoadOptions& opt);
    void addTextMetrics(RunResult& result, const std::vector<std::string>& prompts) const;
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace rudder
