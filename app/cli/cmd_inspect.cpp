// rudder-cli inspect MODEL_DIR [--json]: a quick check that a downloaded model directory is
// complete and of a supported kind, without loading its weights.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/hf_cache.h"
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
    cmd->add_option("MODEL", o->dir,
                    "Hugging Face model directory (config.json + *.safetensors), or a repo id ORG/NAME[@REVISION] "
                    "in the local Hugging Face cache")
        ->required();
    cmd->add_flag("--json", o->json, "Print the summary as one JSON object on stdout");
    cmd->callback([o] {
        ModelSummary s;
        std::optional<HubModel> hub;
        try {
            s = inspectModel(resolveModelSpec(o->dir, &hub));
        } catch (const UsageError&) {
            throw;
        } catch (const Error& e) {
            // A model directory that cannot be read is the user's input at fault: exit 2.
            throw UsageError(e.what());
        }
        // The roles the Workbench accepts it in: a base LM unless its architecture names a reward
        // model (loadBase), a reward when it has a reward head.
        const bool asBase = modelKind(s.architecture) != "reward model", asReward = !s.reward_head.empty();
        // Where a reward head reads the sequence (all as transformers does: the last real token).
        const std::string pooling = s.reward_head.empty() ? ""
                                    : s.reward_head == "armo_gating"
                                        ? "last token (objectives); gate at the last Llama-3 assistant header"
                                        : "last token";
        if (o->json) {
            auto j = s.toJson();
            j["kind"] = s.reward_head.empty() ? "causal LM" : "reward model";
            if (hub) j["hub"] = hub->toJson();
            if (!pooling.empty()) j["pooling"] = pooling;
            std::cout << j.dump(2) << "\n";
            return;
        }
        auto row = [](const char* k, const std::string& v) { std::cout << "  " << k << ": " << (v.empty() ? "-" : v) << "\n"; };
        std::cout << s.directory << "\n";
        if (hub) row("hub               ", hub->repo + "@" + hub->revision + " (commit " + hub->commit + ")");
        row("architecture      ", s.architecture + (s.model_type.empty() ? "" : " (" + s.model_type + ")"));
        row("parameters        ", humanCount(s.parameters) + " (" + std::to_string(s.parameters) + ")");
        row("stored dtype      ", s.stored_dtype);
        row("hidden / vocab    ", std::to_string(s.hidden_size) + " / " + std::to_string(s.vocab_size));
        row("layers            ", std::to_string(s.layers));
        row("tokenizer         ", s.tokenizer_type);
        row("chat template     ", s.chat_template);
        row("reward head       ", s.reward_head.empty() ? "none (causal LM)" : s.reward_head);
        if (!pooling.empty()) row("pooling           ", pooling);
        // Said plainly: a reward model given as the base LM (or the reverse) is a common slip.
        row("use as            ", asBase && asReward ? "--model or --reward (a causal LM that carries a value head)"
                                  : asReward          ? "--reward (a reward model; as --model it would be refused)"
                                  : asBase            ? "--model (a causal LM; as --reward it would be refused)"
                                                      : "neither: the architecture names a reward model but no reward "
                                                        "head was found");
        row("config sha256     ", s.config_sha256);
        row("weights fingerprint", s.weights_fingerprint);
    });
}

void addModelsCommand(CLI::App& app)
{
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "models", "List the models in the local Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else "
                  "~/.cache/huggingface/hub): repo id, kind, architecture, size on disk.  Pass a repo id as "
                  "--model/--reward/--gold or to inspect.  Nothing is downloaded.");
    cmd->add_flag("--json", *json, "Print a JSON array");
    cmd->callback([json] {
        const auto models = listCachedModels();
        if (*json) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& m : models)
                a.push_back({{"repo", m.repo}, {"revision", m.revision}, {"commit", m.commit}, {"directory", m.directory},
                             {"architecture", m.architecture}, {"kind", m.kind}, {"bytes", m.bytes}});
            std::cout << a.dump(2) << "\n";
            return;
        }
        std::cout << hubCacheDir() << ": " << models.size() << " model(s)\n";
        for (const auto& m : models) {
            char size[32];
            if (m.bytes >= 1'000'000'000) std::snprintf(size, sizeof size, "%.2f GB", double(m.bytes) / 1e9);
            else std::snprintf(size, sizeof size, "%.1f MB", double(m.bytes) / 1e6);
            std::cout << "  " << m.repo << (m.revision == "main" ? "" : "@" + m.revision) << "  " << m.kind << "  "
                      << (m.architecture.empty() ? "?" : m.architecture) << "  " << size << "\n";
        }
    });
}

} // namespace rudder::cli
