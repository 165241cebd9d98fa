// Dispatch by registry id; the one entry point the Workbench and the CLI call.
#include "methods/method.h"
#include "rudder/error.h"
#include "rudder/methods.h"

namespace rudder {

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

    if (id == "bon") return runBoN(ctx, c, prompts);
    if (id == "aisp") return runAISP(ctx, c, prompts, false);
    if (id == "aisp-batched") return runAISP(ctx, c, prompts, true);
    if (id == "qalign") return runQAlign(ctx, QAlignOptions::fromConfig(c), prompts);
    if (id == "wmv") return runWMV(ctx, c, prompts);
    if (id == "args") return runARGS(ctx, c, prompts);
    throw UsageError("method", id, "no implementation");
}

} // namespace rudder
