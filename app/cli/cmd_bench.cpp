// rudder-cli bench: prefill and decode throughput of the model runtime for batch 1/8/32/128,
// next to the time of the same model's matmuls alone (the bound the decoder can approach).
// With --methods, each method also runs end to end (its default configuration, or --set values)
// and its generated tokens/s is printed next to the runtime's plain greedy decode at the same batch
// width, measured in the same run: the ratio is what the method's own work (rewards, weights,
// resampling, host round trips) costs on top of decoding.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "rudder/json_file.h"
#include "rudder/error.h"
#include "rudder/paths.h"
#include "rudder/runtime_init.h"
#include "rudder/runtime_probe.h"
#include "rudder/methods.h"
#include "rudder/workbench.h"

namespace fs = std::filesystem;

namespace rudder::cli {

namespace {

struct Row {
    int64_t batch = 0;
    double prefill_tok_s = 0, decode_tok_s = 0, decode_matmul_tok_s = 0, prefill_matmul_tok_s = 0;
};

struct MethodRow {
    std::string method;
    int64_t width = 1, samples = 0, tokens = 0;
    double seconds = 0, tok_s = 0, decode_tok_s = 0;
};

} // namespace

// A random-weight model as a normal Hugging Face directory.  Methods need text, so it borrows a
// tokenizer (the demo LM's by default; ids the tokenizer does not know decode to nothing).
static void writeRandomModelDir(const fs::path& dir, const nlohmann::json& cfg, uint64_t seed, double std,
                         const std::string& tokenizerFrom, const std::string& head = "")
{
    writeRandomModel(dir.string(), cfg, seed, std, head);
    const fs::path from = tokenizerFrom.empty() ? fs::path(demoModelDir()) : fs::path(tokenizerFrom);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
        std::error_code ec;
        if (fs::exists(from / f)) fs::copy_file(from / f, dir / f, fs::copy_options::overwrite_existing, ec);
        if (ec) throw Error((from / f).string(), "", "cannot copy: " + ec.message());
    }
}

static void addRandomModelCommand(CLI::App& app)
{
    struct Opts {
        std::string tiny, config, out, tokenizer, head;
        uint64_t seed = 1;
        double std = 0.1;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "random-model", "Write a random-weight model as a Hugging Face directory (config.json, model.safetensors "
                        "fp32, tokenizer files): for tests, references and benchmarks at a chosen shape");
    auto* tiny = cmd->add_option("--tiny", o->tiny, "built-in small config: llama|llama3|mistral|qwen2|qwen3|gpt2|gemma2|gemma3");
    auto* config = cmd->add_option("--config", o->config, "config.json giving the architecture and sizes");
    tiny->excludes(config);
    cmd->add_option("--out", o->out, "directory to write (created)")->required();
    cmd->add_option("--seed", o->seed, "weight seed")->capture_default_str()->check(seedRange());
    cmd->add_option("--std", o->std, "std of the linear weights (large enough that a wrong op shows)")
        ->capture_default_str()->check(CLI::Range(1e-6, 10.0));
    cmd->add_option("--tokenizer", o->tokenizer, "model directory whose tokenizer files to copy (default: the demo LM's)");
    cmd->add_option("--head", o->head,
                    "write a reward model with this head instead of a causal LM: score | regression_head | v_head | "
                    "v_head_mlp | armo_gating (ArmoRM; sizes from the config's num_objectives, gating_hidden_dim, "
                    "gating_n_hidden)")
        ->check(CLI::IsMember({"score", "regression_head", "v_head", "v_head_mlp", "armo_gating"}));
    cmd->callback([o] {
        if (o->tiny.empty() == o->config.empty()) throw UsageError("", "--tiny/--config", "give exactly one");
        nlohmann::json cfg;
        if (!o->tiny.empty()) {
            try {
                cfg = tinyConfig(o->tiny);
            } catch (const Error& e) {
                throw UsageError("--tiny", o->tiny, e.what());
            }
        } else {
            try {
                cfg = readJsonFile(o->config);
            } catch (const Error& e) {
                throw UsageError(e.what());
            }
        }
        fs::create_directories(o->out);
        writeRandomModelDir(o->out, cfg, o->seed, o->std, o->tokenizer, o->head);
        // Check what was written the way a user's model is checked.
        const ModelSummary s = inspectModel(o->out);
        std::printf("wrote %s: %s, %lld parameters\n", o->out.c_str(), s.architecture.c_str(),
                    static_cast<long long>(s.parameters));
    });
}

void addBenchCommand(CLI::App& app)
{
    addRandomModelCommand(app);
    struct Opts {
        std::string model, randomConfig, tiny, device = "auto", dtype = "auto", batches = "1,8,32,128";
        int64_t prompt = 64, decode = 32;
        int threads = 0;
        bool json = false;
        std::string methods, reward, tokenizer, prompt_text = "And the LORD said unto Moses,";
        std::vector<std::string> sets;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("bench", "Model runtime throughput: prefill and decode tokens/s per batch size, "
                                                "and the same model's matmuls alone as the bound");
    cmd->add_option("--model", o->model, "Hugging Face model directory (default: the demo LM)");
    cmd->add_option("--random-config", o->randomConfig, "config.json of a model to build with random weights instead");
    cmd->add_option("--tiny", o->tiny, "built-in small random model: llama|llama3|mistral|qwen2|qwen3|gpt2|gemma2|gemma3");
    cmd->add_option("--device", o->device, "auto | cpu | cuda[:N]");
    cmd->add_option("--dtype", o->dtype, "auto (CPU fp32, CUDA bf16) | fp32 | bf16 | fp16");
    cmd->add_option("--batches", o->batches, "comma-separated batch sizes");
    cmd->add_option("--prompt-tokens", o->prompt, "prompt length for prefill")->check(CLI::Range(1, 100000));
    cmd->add_option("--decode-tokens", o->decode, "decode steps")->check(CLI::Range(1, 100000));
    cmd->add_option("--threads", o->threads, "intra-op threads (default: all cores)");
    cmd->add_flag("--json", o->json, "print one JSON object instead of the table");
    cmd->add_option("--methods", o->methods, "also run these methods end to end (comma-separated: bon,aisp,...)");
    cmd->add_option("--reward", o->reward, "reward for --methods: RM directory | lexicon | cmd:COMMAND "
                                           "(default: the demo RM with the demo LM, else lexicon)");
    cmd->add_option("--prompt", o->prompt_text, "prompt for --methods");
    cmd->add_option("--tokenizer", o->tokenizer, "with --random-config/--tiny and --methods: the model directory whose "
                                                 "tokenizer the random model borrows (default: the demo LM's)");
    cmd->add_option("--set", o->sets, "key=value for --methods (applied where the method has the key)");
    cmd->callback([o] {
        initTorchRuntime(o->threads);
        std::string dir = o->model;
        fs::path tmp;
        if (!o->randomConfig.empty() || !o->tiny.empty()) {
            nlohmann::json cfg;
            if (!o->tiny.empty()) {
                cfg = tinyConfig(o->tiny, 256, 4, 4096);
            } else {
                std::ifstream in(o->randomConfig);
                if (!in) throw UsageError(o->randomConfig, "", "cannot open");
                try {
                    cfg = readJsonFile(o->randomConfig);
                } catch (const Error& e) {
                    throw UsageError(e.what());
                }
            }
            tmp = fs::temp_directory_path() / ("rudder-bench-" + std::to_string(::getpid()));
            writeRandomModelDir(tmp, cfg, 1, 0.02, o->tokenizer);
            dir = tmp.string();
        } else if (dir.empty()) {
            dir = demoModelDir();
        }
        struct Cleanup {
            fs::path p;
            ~Cleanup()
            {
                std::error_code ec;
                if (!p.empty()) fs::remove_all(p, ec);
            }
        } cleanup{tmp};

        std::vector<int64_t> batches;
        {
            std::stringstream ss(o->batches);
            std::string item;
            while (std::getline(ss, item, ',')) {
                try {
                    batches.push_back(std::stoll(item));
                } catch (...) {
                    throw UsageError("", "--batches", "'" + item + "' is not a number");
                }
                if (batches.back() < 1) throw UsageError("", "--batches", "sizes must be positive");
            }
        }
        RuntimeProbe lm(dir, o->device, o->dtype);
        std::vector<Row> rows;
        for (int64_t B : batches) {
            Row r;
            r.batch = B;
            const RuntimeProbe::Throughput t = lm.prefillAndDecode(B, o->prompt, o->decode);
            r.prefill_tok_s = t.prefill_tok_s;
            r.decode_tok_s = t.decode_tok_s;
            const int reps = 3;
            r.decode_matmul_tok_s = double(B) / lm.matmulSeconds(B, reps);
            r.prefill_matmul_tok_s = double(B * o->prompt) / lm.matmulSeconds(B * o->prompt, 1);
            rows.push_back(r);
        }
        // Methods end to end, each next to plain decode at its own batch width.
        std::vector<MethodRow> mrows;
        if (!o->methods.empty()) {
            Workbench wb;
            LoadOptions lo;
            lo.device = o->device;
            lo.dtype = o->dtype;
            wb.loadBase(dir, lo);
            std::string reward = o->reward;
            if (reward.empty()) reward = (dir == demoModelDir()) ? demoRewardDir() : "lexicon";
            wb.setReward(reward, lo);
            std::stringstream ss(o->methods);
            std::string id;
            while (std::getline(ss, id, ',')) {
                const MethodInfo& info = methodInfo(id);   // UsageError lists the known ones
                nlohmann::json cfg = defaultConfig(id);
                for (const auto& kv : o->sets) {
                    const auto eq = kv.find('=');
                    if (eq == std::string::npos) throw UsageError("", "--set", "'" + kv + "' is not key=value");
                    const std::string key = kv.substr(0, eq);
                    for (const auto& p : info.params)
                        if (p.key == key) {
                            try {
                                cfg[key] = std::stod(kv.substr(eq + 1));
                            } catch (...) {
                                throw UsageError("", "--set", "'" + kv + "': value is not a number");
                            }
                        }
                }
                cfg = validateConfig(id, cfg);
                RunRequest req;
                req.method = id;
                req.config = cfg;
                req.seed = 1;
                req.prompts = {o->prompt_text};
                RunResult res = wb.run(req, [](const IterationEvent&) {});
                if (res.status != RunStatus::Done) throw Error(id + ": " + res.message);
                MethodRow m;
                m.method = id;
                m.width = std::max<int64_t>(1, info.batchWidth(cfg));   // sequences decoded side by side
                m.samples = res.budget.samples;
                m.tokens = res.budget.tokens;
                m.seconds = res.budget.seconds;
                m.tok_s = m.tokens / std::max(m.seconds, 1e-9);
                m.decode_tok_s = lm.prefillAndDecode(m.width, o->prompt, int64_t(cfg.value("max_new_tokens", 32.0))).decode_tok_s;
                mrows.push_back(m);
            }
        }
        if (o->json) {
            nlohmann::json j = {{"model", dir}, {"architecture", lm.architecture()}, {"parameters", lm.parameters()},
                                {"device", lm.device()}, {"dtype", lm.dtype()},
                                {"threads", initTorchRuntime()}, {"torch", torchVersionString()},
                                {"prompt_tokens", o->prompt}, {"decode_tokens", o->decode}};
            for (const auto& r : rows)
                j["rows"].push_back({{"batch", r.batch}, {"prefill_tok_s", r.prefill_tok_s},
                                     {"prefill_matmul_tok_s", r.prefill_matmul_tok_s}, {"decode_tok_s", r.decode_tok_s},
                                     {"decode_matmul_tok_s", r.decode_matmul_tok_s}});
            for (const auto& m : mrows)
                j["methods"].push_back({{"method", m.method}, {"batch_width", m.width}, {"samples", m.samples},
                                        {"tokens", m.tokens}, {"seconds", m.seconds}, {"tok_s", m.tok_s},
                                        {"decode_tok_s", m.decode_tok_s}});
            std::cout << j.dump(2) << "\n";
            return;
        }
        std::printf("%s  %s  %.2fM params  %s %s  %d threads  %s\n", dir.c_str(), lm.architecture().c_str(),
                    double(lm.parameters()) / 1e6, lm.device().c_str(), lm.dtype().c_str(), initTorchRuntime(),
                    torchVersionString().c_str());
        std::printf("prompt %lld tokens, decode %lld steps; 'bound' = the same matmuls alone\n",
                    static_cast<long long>(o->prompt), static_cast<long long>(o->decode));
        std::printf("%6s %14s %14s %7s %14s %14s %7s\n", "batch", "prefill tok/s", "bound tok/s", "ratio", "decode tok/s",
                    "bound tok/s", "ratio");
        for (const auto& r : rows)
            std::printf("%6lld %14.0f %14.0f %6.0f%% %14.0f %14.0f %6.0f%%\n", static_cast<long long>(r.batch),
                        r.prefill_tok_s, r.prefill_matmul_tok_s, 100 * r.prefill_tok_s / r.prefill_matmul_tok_s,
                        r.decode_tok_s, r.decode_matmul_tok_s, 100 * r.decode_tok_s / r.decode_matmul_tok_s);
        if (!mrows.empty()) {
            std::printf("\nmethods end to end (prompt \"%s\"); 'decode' = plain greedy decode at the same batch width\n",
                        o->prompt_text.c_str());
            std::printf("%-13s %6s %8s %9s %9s %12s %12s %7s\n", "method", "width", "samples", "tokens", "seconds",
                        "tok/s", "decode tok/s", "ratio");
            for (const auto& m : mrows)
                std::printf("%-13s %6lld %8lld %9lld %9.2f %12.0f %12.0f %6.0f%%\n", m.method.c_str(),
                            static_cast<long long>(m.width), static_cast<long long>(m.samples),
                            static_cast<long long>(m.tokens), m.seconds, m.tok_s, m.decode_tok_s,
                            100 * m.tok_s / m.decode_tok_s);
        }
    });
}

} // namespace rudder::cli
