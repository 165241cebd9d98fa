// rudder-cli logprobs: the model's next-token log-probabilities at every position of given token
// ids, and a greedy continuation through the KV cache.  What an independent implementation
// (llama.cpp, transformers) is compared against; also handy to look at a model by hand.

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/json_file.h"
#include "rudder/runtime_init.h"
#include "rudder/runtime_probe.h"

namespace rudder::cli {

namespace {

struct LogprobsOptions {
    std::string model, device = "cpu", dtype = "fp32";
    int64_t greedy = 0;
    int threads = 0;
};

void run(const LogprobsOptions& o)
{
    initTorchRuntime(o.threads);
    RuntimeProbe lm(o.model, o.device, o.dtype);
    const int64_t V = lm.vocabSize();
    std::string line;
    size_t lineNo = 0;
    while (std::getline(std::cin, line)) {
        ++lineNo;
        if (line.empty() || line == "\r") continue;
        const std::string where = "line " + std::to_string(lineNo);
        const nlohmann::json j = parseJsonText(line, "<stdin>", where);
        if (!j.is_array() || j.empty()) throw UsageError("<stdin>", where, "expected a non-empty JSON array of token ids");
        std::vector<int64_t> ids;
        for (const auto& v : j) {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= V)
                throw UsageError("<stdin>", where, "token ids must be integers in [0, " + std::to_string(V) + "), got " + v.dump());
            ids.push_back(v.get<int64_t>());
        }
        const RuntimeProbe::Logprobs r = lm.logprobs(ids, o.greedy);
        std::cout << nlohmann::json{{"n", ids.size()}, {"vocab", V}, {"logprobs", r.rows}, {"greedy", r.greedy}}.dump()
                  << std::endl;
    }
}

} // namespace

void addLogprobsCommand(CLI::App& app)
{
    auto o = std::make_shared<LogprobsOptions>();
    auto* cmd = app.add_subcommand(
        "logprobs", "Read JSON arrays of token ids from stdin (one per line); print, per line, the next-token "
                    "log-probabilities at every position ({\"logprobs\": [[vocab] x n], \"greedy\": [...]}) from one "
                    "prefill, and a greedy continuation decoded through the KV cache");
    cmd->add_option("--model", o.get()->model, "model directory")->required();
    cmd->add_option("--greedy", o->greedy, "greedy tokens to decode after each sequence (EOS ignored)")
        ->capture_default_str()->check(CLI::Range(0, 4096));
    cmd->add_option("--device", o->device, "cpu | cuda | cuda:N | auto")->capture_default_str();
    cmd->add_option("--dtype", o->dtype, "fp32 | fp64 | bf16 | fp16 | auto")->capture_default_str();
    cmd->add_option("--threads", o->threads, "CPU threads (0: the runtime's choice)")->capture_default_str();
    cmd->callback([o] { run(*o); });
}

} // namespace rudder::cli
