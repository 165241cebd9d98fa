// rudder-cli logprobs: the model's next-token log-probabilities at every position of given token
// ids, and a greedy continuation through the KV cache.  What an independent implementation
// (llama.cpp, transformers) is compared against; also handy to look at a model by hand.
#include <ATen/ATen.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "model/loader.h"
#include "rudder/error.h"
#include "rudder/json_file.h"
#include "rudder/runtime_init.h"

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
    auto lm = loadCausalLM(o.model, o.device, o.dtype);
    const int64_t V = lm->config().vocab_size;
    at::NoGradGuard ng;
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
        const int64_t T = static_cast<int64_t>(ids.size());
        KVCache cache = lm->newCache(1, T + o.greedy + 1);
        at::Tensor tokens = at::tensor(ids, at::kLong).view({1, T}).to(lm->device());
        // One prefill over the whole sequence: every position's distribution.
        at::Tensor pre = lm->forward(cache, tokens);
        at::Tensor lp = at::log_softmax(lm->lmHead(pre)[0].to(at::kDouble), -1).cpu().contiguous();
        nlohmann::json rows = nlohmann::json::array();
        const double* p = lp.data_ptr<double>();
        for (int64_t t = 0; t < T; ++t) rows.push_back(std::vector<double>(p + t * V, p + (t + 1) * V));
        // Greedy continuation one token at a time through the cache (the decode path), EOS ignored.
        std::vector<int64_t> greedy;
        at::Tensor last = pre.select(1, T - 1);
        for (int64_t s = 0; s < o.greedy; ++s) {
            const int64_t next = lm->lmHead(last).argmax(-1).item<int64_t>();
            greedy.push_back(next);
            last = lm->forward(cache, at::full({1, 1}, next, at::TensorOptions().dtype(at::kLong).device(lm->device())))
                       .select(1, 0);
        }
        std::cout << nlohmann::json{{"n", T}, {"vocab", V}, {"logprobs", rows}, {"greedy", greedy}}.dump() << std::endl;
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
