// rudder-cli inspect MODEL_DIR [--json]: a quick check that a downloaded model directory is
// complete and of a supported kind, without loading its weights.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/workbench.h"

namespace rudder::cli {

namespace {

std::string humanCount(int64_t n)
{
    char buf[64];
    if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
    else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
    else if (n >= 1'000) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
    else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
    return buf;
}

} // namespace

void addInspectCommand(CLI::App& app)
{
    struct Opts {
        std::string dir;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "inspect", "Print a model directory's architecture, parameter count, dtype, tokenizer, chat template "
                   "and reward head (reads config and file headers only; no weights are loaded).");
    cmd->add_option("MODEL_DIR", o->dir, "Hugging Face model directory (config.json + *.safetensors)")->required();
    cmd->add_flag("--json", o->json, "Print the summary as one JSON object on stdout");
    cmd->callback([o] {
        ModelSummary s;
        try {
            s = inspectModel(o->dir);
        } catch (const UsageError&) {
            throw;
        } catch (const Error& e) {
            // A model directory that cannot be read is the user's input at fault: exit 2.
            throw UsageError(e.what());
        }
        if (o->json) {
            std::cout << s.toJson().dump(2) << "\n";
            return;
        }
        auto row = [](const char* k, const std::string& v) { std::cout << "  " << k << ": " << (v.empty() ? "-" : v) << "\n"; };
        std::cout << s.directory << "\n";
        row("architecture      ", s.architecture + (s.model_type.empty() ? "" : " (" + s.model_type + ")"));
        row("parameters        ", humanCount(s.parameters) + " (" + std::to_string(s.parameters) + ")");
        row("stored dtype      ", s.stored_dtype);
        row("hidden / vocab    ", std::to_string(s.hidden_size) + " / " + std::to_string(s.vocab_size));
        row("layers            ", std::to_string(s.layers));
        row("tokenizer         ", s.tokenizer_type);
        row("chat template     ", s.chat_template);
        row("reward head       ", s.reward_head.empty() ? "none (causal LM)" : s.reward_head);
        row("config sha256     ", s.config_sha256);
        row("weights fingerprint", s.weights_fingerprint);
    });
}

} // namespace rudder::cli
