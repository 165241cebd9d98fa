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
    };
    return table;
}

} // namespace

RunResult runMethod(const std::string& id, const MethodContext& ctx, const nlohmann::json& config,
                    const std::vector<std::string>& prompts)
{
    // "answer_regex" is the one string setting (QAlign / WMV vote); the numeric table cannot hold it.
    nlohmann::json numeric = config.is_null() ? nlohmann::json::object() : config;
    std::string regex;
    if (numeric.is_object() && numeric.contains("answer_regex")) {
        if (!numeric["answer_regex"].is_string())
            throw UsageError("config", "answer_regex", "must be a string (a regular expression)");
        regex = numeric["answer_regex"].get<std::string>();
        numeric.erase("answer_regex");
    }
    nlohmann::json c = validateConfig(id, numeric);
    if (!regex.empty()) c["answer_regex"] = regex;
    if (prompts.empty()) throw UsageError("prompts", "", "no prompt given");

    for (const auto& [mid, fn] : implementations())
        if (mid == id) return fn(ctx, c, prompts);
    throw UsageError("method", id, "no implementation");
}

} // namespace rudder
