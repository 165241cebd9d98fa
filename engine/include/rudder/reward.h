// Reward functions: r(prompt, response) -> float.  Torch-free interface; the neural reward model
// lives in rudder_engine and is created through makeReward().
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rudder {

class RewardFunction {
public:
    virtual ~RewardFunction() = default;
    // One score per response, all for the same prompt.
    virtual std::vector<double> score(const std::string& prompt,
                                      const std::vector<std::string>& responses) = 0;
    // Shown in plots and stored with every run ("demo-rm", "lexicon:afinn-165", "cmd:...").
    virtual std::string name() const = 0;
    // Forward FLOPs per scored token (2 * params for a neural RM, 0 for rules): budget accounting.
    virtual double flopsPerToken() const { return 0.0; }
    // Partial responses that grow from one call to the next (ARGS scores y_<t ⊕ candidate at
    // every step).  Same scores as score(); a neural RM keeps the shared prefix's KV cache
    // between calls so each step costs only the new tokens.
    virtual std::vector<double> scorePartial(const std::string& prompt, const std::vector<std::string>& responses)
    {
        return score(prompt, responses);
    }
    // Tokens the last scorePartial call actually ran through a model (-1: not tracked, count
    // the texts' full length), so FLOP budgets reflect the prefix reuse.
    virtual int64_t lastPartialTokens() const { return -1; }
    // A reward with several components (ArmoRM's objectives): those of each response of the
    // last score() call, in order; empty for a scalar reward.
    virtual std::vector<std::vector<double>> lastObjectives() const { return {}; }
    // Their names, in the same order (recorded with the run; empty when unnamed or scalar).
    virtual std::vector<std::string> objectiveNames() const { return {}; }
    // A model-based reward's input bound: the positions it has (-1: none), and how many tokens
    // (prompt, response) takes in its own format.  A server checks requests against them.
    virtual int64_t maxInputTokens() const { return -1; }
    virtual int64_t inputTokens(const std::string& prompt, const std::string& response) const
    {
        (void)prompt, (void)response;
        return -1;
    }

    // A scorer that can wait long (an external command) polls this flag and, once it is set,
    // stops and throws rudder::Cancelled, so Stop and window close are not held up by it.  The
    // Workbench sets it for the duration of a run.
    void setCancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }

protected:
    const std::atomic<bool>* cancel_ = nullptr;
};

// Built-in lexicon reward over AFINN-165 valences (resources/lexicon/afinn-165.json):
// mean valence of the response's words, so it does not simply reward length.
std::unique_ptr<RewardFunction> makeLexiconReward(const std::string& lexiconFile = {});

// External scorer: runs `command` once per score() call through /bin/sh, writes one JSON
// object {"prompt":..., "response":...} per line on its stdin, reads one number per line.
std::unique_ptr<RewardFunction> makeCommandReward(const std::string& command);

} // namespace rudder
