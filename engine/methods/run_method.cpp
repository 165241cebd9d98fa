// Dispatch by registry id; the one entry point the Workbench and the CLI call.
#include <utility>
#include <vector>

#include "methods/method.h"
#include "rudder/error.h"
#include "rudder/methods.h"

namespace rudder {

namespace {

using RunFn = RunResult (*)(const MethodContext&, const nlohmann::json&, const std::vector<std::string>&);

// The torch half of each descriptor in registry.cpp: one line per method.
const std::vector<std::pair<std::string, RunFn>>& implementations()
{
    static const std::vector<std::pair<std::string, RunFn>> table = {
        {"bon", runBoN},
        {"aisp", [](const MethodContext& x, const nlohmann::json& c, const std::vector<std::string>& p) {
             return runAISP(x, c, p, false);
         }},
        {"aisp-batched", [](const MethodContext& x, const nlohmann::json& c, const std::vector<std::string>& p) {
             return runAISP(x, c, p, true);
         }},
        {"qalign", [](const MethodContext& x, const nlohmann::json& c, const std::vector<std::string>& p) {
             return runQAlign(x, QAlignOptions::fromConfig(c), p);
         }},
        {"wmv", runWMV},
        {"args", runARGS},
        {"recontrol", runREControl},
    };
    return table;
}

} // namespace

RunResult runMethod(const std::string& id, const MethodContext& ctx, const nlohmann::json& config,
                    const std::vector<std::string>& prompts)
{
    const nlohmann::json c = validateConfig(id, config);   // text settings (MethodInfo::textParams) pass as strings
    if (prompts.empty()) throw UsageError("prompts", "", "no prompt given");

    for (const auto& [mid, fn] : implementations())
        if (mid == id) return fn(ctx, c, prompts);
    throw UsageError("method", id, "no implementation");
}

} // namespace rudder
