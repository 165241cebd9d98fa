// rudder-cli train-value: RE-Control's value function, trained on the base model's own responses
// to a prompt set and kept beside the session (or where --out says); --info FILE reads one back.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "run_common.h"
#include "rudder/error.h"
#include "rudder/methods.h"
#include "rudder/workbench.h"

using nlohmann::json;

namespace rudder::cli {

void printValueProgress(const ValueTrainProgress& p)
{
    static const bool tty = isatty(2) == 1;
    if (p.stage == "collect") {
        if (tty || p.done == p.total)
            std::fprintf(stderr, "%svalue model: collecting rollouts, prompt %lld/%lld%s", tty ? "\r" : "",
                         static_cast<long long>(p.done), static_cast<long long>(p.total), tty && p.done < p.total ? "\x1b[K" : "\n");
    } else if (tty || p.done == p.total || p.done % 10 == 0) {
        std::fprintf(stderr, "%svalue model: epoch %lld/%lld  train loss %.5g  held-out loss %.5g%s", tty ? "\r" : "",
                     static_cast<long long>(p.done), static_cast<long long>(p.total), p.train_loss, p.heldout_loss,
                     tty && p.done < p.total ? "\x1b[K" : "\n");
    }
    std::fflush(stderr);
}

void describeValueModel(const ValueModelInfo& i, bool reused)
{
    const Budget b = i.total();
    const double r2 = i.reward_std > 0 ? 1.0 - (i.heldout_rmse * i.heldout_rmse) / (i.reward_std * i.reward_std) : NAN;
    std::fprintf(stderr,
                 "rudder-cli: value model %s %s (trained %s on %lld responses to %lld prompts; held-out RMSE %.4g against a "
                 "reward std of %.4g, R² %.2f; training cost %lld samples, %.3g FLOPs, %.1f s)\n",
                 i.path.c_str(), reused ? "reused" : "trained", i.created.c_str(), static_cast<long long>(i.responses),
                 static_cast<long long>(i.prompts), i.heldout_rmse, i.reward_std, r2, static_cast<long long>(b.samples),
                 b.flops, b.seconds);
}

void addTrainValueCommand(CLI::App& app)
{
    struct Opts {
        ModelOptions m;
        PromptOptions p;
        std::vector<std::string> sets;
        std::string out, db = "rudder-session.sqlite", info;
        uint64_t seed = 0;
        bool force = false, json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "train-value",
        "Train RE-Control's value function V(z) on the base model's pre-logits: M responses per prompt are sampled, "
        "scored by the reward and V is fitted with RE-Control's objective (value at the last position regresses the "
        "reward, consecutive positions tied).  Kept beside the session (SESSION.values/) under a key of the models, "
        "prompts and options, so `run --method recontrol` with the same inputs reuses it.  Ctrl-C stops; the same "
        "command continues from the checkpoints.\nExit codes: 0 done, 1 cancelled or failed, 2 usage error.");
    addModelOptions(cmd, o->m);
    addPromptOptions(cmd, o->p);
    cmd->add_option("--set", o->sets,
                    "RE-Control training key=value: train_samples, train_epochs, value_lr, value_hidden, value_layers, "
                    "train_batch, max_new_tokens (repeatable)");
    cmd->add_option("--seed", o->seed, "Seed of the rollouts, the split and the initialisation")->capture_default_str()->check(seedRange());
    cmd->add_option("--db", o->db, "Session whose value store (SESSION.values/) keeps the model")->capture_default_str();
    cmd->add_option("--out", o->out, "Write the value model here instead of the session's value store");
    cmd->add_flag("--force", o->force, "Train again even when a model with the same training key exists");
    cmd->add_option("--info", o->info, "Print what a value model file records (nothing is trained)");
    cmd->add_flag("--json", o->json, "Print the value model's record as JSON on stdout");
    cmd->callback([o] {
        if (!o->info.empty()) {
            const ValueModelInfo i = Workbench::readValueModel(o->info);
            if (o->json) {
                std::cout << i.toJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
            } else {
                describeValueModel(i, true);
            }
            return;
        }
        json cfg = json::object();
        for (const auto& s : o->sets) {
            const auto eq = s.find('=');
            if (eq == std::string::npos || eq == 0) throw UsageError("--set", s, "expected key=value");
            const std::string key = s.substr(0, eq);
            const auto& keys = ValueTrainOptions::runConfigKeys();
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                std::string list;
                for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
                throw UsageError("--set", key, "not a training key (" + list + ")");
            }
            cfg[key] = s.substr(eq + 1);
        }
        try {
            cfg = validateConfig("recontrol", cfg);
        } catch (const UsageError& e) {
            throw UsageError(std::string("--set: ") + e.what());
        }
        const auto prompts = collectPrompts(o->p, o->seed);
        Workbench wb;
        loadModels(wb, o->m);
        wb.setValueStore(valueStoreFor(o->db));
        ValueTrainRequest req;
        for (const auto& p : prompts) req.prompts.push_back(p.text);
        req.prompt_template = o->m.templ;
        req.options = ValueTrainOptions::fromRunConfig(cfg);
        req.options.seed = o->seed;
        req.out = o->out;
        req.force = o->force;
        bool reused = false;
        CancelGuard guard;   // Ctrl-C: stops at the next prompt or epoch, checkpoints kept
        const ValueModelInfo i = wb.trainValue(req, printValueProgress, guard.flag(), &reused);
        describeValueModel(i, reused);
        if (o->json) {
            json j = i.toJson();
            j["reused"] = reused;
            std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        } else {
            std::cout << i.path << "\n";
        }
    });
}

} // namespace rudder::cli
