// The Workbench facade: model loading, reward selection and method runs behind a torch-free
// header, so the GUI (Qt) and the CLI never include libtorch.
#include "rudder/workbench.h"

#include "rudder/error.h"
#include "rudder/methods.h"

namespace rudder {

struct Workbench::Impl {
    ModelSummary base;
    bool hasBase = false;
    std::shared_ptr<RewardFunction> reward, gold;
};

Workbench::Workbench() : d(std::make_unique<Impl>()) {}
Workbench::~Workbench() = default;

ModelSummary Workbench::loadBase(const std::string& dir, const LoadOptions&)
{
    throw Error(dir, "", "the model runtime is not built into this rudder yet");
}

bool Workbench::hasBase() const { return d->hasBase; }
const ModelSummary& Workbench::base() const { return d->base; }

std::string Workbench::setReward(const std::string& spec, const LoadOptions&)
{
    throw Error(spec, "", "rewards are not built into this rudder yet");
}

std::string Workbench::setGold(const std::string& spec, const LoadOptions&)
{
    if (spec.empty()) {
        d->gold.reset();
        return "";
    }
    throw Error(spec, "", "rewards are not built into this rudder yet");
}

std::shared_ptr<RewardFunction> Workbench::reward() const { return d->reward; }
std::shared_ptr<RewardFunction> Workbench::gold() const { return d->gold; }

std::string Workbench::renderPrompt(const std::string& prompt, const std::string&) const { return prompt; }
int64_t Workbench::countTokens(const std::string&) const { return 0; }

RunResult Workbench::run(const RunRequest& request, const EventSink&, const std::atomic<bool>*, const ResumeState*)
{
    validateConfig(request.method, request.config);
    throw Error("the alignment methods are not built into this rudder yet");
}

} // namespace rudder
