// rudder-cli run / compare: an alignment method over a prompt or a JSONL dataset, headless,
// written to the same SQLite session the GUI opens.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>

#include "commands.h"
#include "run_common.h"
#include "rudder/answer_reward.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"
#include "rudder/error.h"
#include "rudder/methods.h"
#include "rudder/paths.h"
#include "rudder/run_recorder.h"
#include "rudder/runtime_init.h"
#include "rudder/session_db.h"
#include "rudder/sweep.h"
#include "rudder/workbench.h"

using nlohmann::json;

namespace rudder::cli {

// Shared with cmd_sweep.cpp through run_common.h.


class Progress {
public:
    Progress(std::string label, int64_t plannedSamples, const Budget& alreadyDone);
    void update(const Budget& b);
    void finish();

private:
    void draw();
    std::string label_;
    int64_t planned_ = 0, startDone_ = 0, startTokens_ = 0, samples_ = 0, tokens_ = 0;
    bool tty_ = false;
    std::chrono::steady_clock::time_point start_, lastDraw_;
};

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

std::vector<PromptRecord> readDataset(const std::string& file, const std::string& field, bool skipBad,
                                      std::ostream& warnings)
{
    std::optional<LineReader> in;
    try {
        in.emplace(file, kCapDatasetLine, kCapDataset, "dataset");
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    std::vector<PromptRecord> prompts;
    std::string line;
    int lineNo = 0, bad = 0;
    for (;;) {
        try {
            if (!in->next(line)) break;
        } catch (const Error& e) {
            throw UsageError(e.what());   // a line or the file over its cap
        }
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;   // blank lines are not records
        std::string problem;
        try {
            json j = parseJsonText(line, "", "");   // labelled below, with the line
            if (!j.is_object()) problem = "not a JSON object";
            else if (!j.contains(field)) problem = "no \"" + field + "\" field (choose one with --field)";
            else if (!j[field].is_string()) problem = "\"" + field + "\" is not a string";
            else prompts.push_back(PromptRecord{0, j[field].get<std::string>(), file, int64_t(lineNo - 1)});
        } catch (const Error& e) {
            problem = e.what();
        }
        if (problem.empty()) continue;
        if (!skipBad)
            throw UsageError(file, "line " + std::to_string(lineNo),
                             problem + "; fix it or pass --skip-bad-lines");
        warnings << "rudder-cli: " << file << ": line " << lineNo << ": " << problem << " (skipped)\n";
        ++bad;
    }
    if (prompts.empty())
        throw UsageError(file, "--dataset", bad ? "every line was malformed" : "no prompts in the file");
    return prompts;
}

// Fisher–Yates with our own engine, so --shuffle --seed S selects the same prompts everywhere.
void shufflePrompts(std::vector<PromptRecord>& prompts, uint64_t seed)
{
    std::mt19937_64 rng(seed ^ 0x5eedf00dULL);
    for (size_t i = prompts.size(); i > 1; --i) {
        size_t j = static_cast<size_t>(rng() % i);
        std::swap(prompts[i - 1], prompts[j]);
    }
}

json buildConfig(const std::string& method, const std::string& configFile, const std::vector<std::string>& sets)
{
    try {
        methodInfo(method);
    } catch (const UsageError& e) {
        throw UsageError(std::string("--") + e.what());   // "--method: NAME: unknown method (known: ...)"
    }
    json cfg = json::object();
    if (!configFile.empty()) {
        json j;
        try {
            j = readJsonFile(configFile, kCapSmallJson, "method settings (--config)");
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
        // Either a bare config object or the GUI's export {"method": ..., "config": {...}}.
        if (j.is_object() && j.contains("config") && j["config"].is_object()) {
            if (j.contains("method") && j["method"].is_string() && j["method"] != method)
                throw UsageError(configFile, "method",
                                 "is \"" + j["method"].get<std::string>() + "\" but --method is " + method);
            j = j["config"];
        }
        if (!j.is_object()) throw UsageError(configFile, "--config", "must hold a JSON object");
        for (auto& [k, v] : j.items())
            if (k != "seed") cfg[k] = v;
    }
    for (const auto& s : sets) {
        auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--set", s, "expected key=value");
        cfg[s.substr(0, eq)] = s.substr(eq + 1);   // validateConfig parses and range-checks it
    }
    try {
        return validateConfig(method, cfg);
    } catch (const UsageError& e) {
        throw UsageError(std::string(configFile.empty() ? "--set" : "--config/--set") + ": " + e.what());
    }
}

// Complete responses a run will generate (for the progress bar's ETA).
int64_t plannedSamples(const std::string& method, const json& c, size_t prompts)
{
    return plannedSamplesPerPrompt(method, c) * static_cast<int64_t>(prompts);
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C: the first SIGINT/SIGTERM asks the run to stop at the next decode step; the handler is
// one-shot (SA_RESETHAND) so a second Ctrl-C kills a stuck process the usual way.
// ---------------------------------------------------------------------------------------------

static std::atomic<bool> g_cancel{false};

static void onSignal(int) { g_cancel.store(true); }

CancelGuard::CancelGuard()
{
    g_cancel.store(false);
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

CancelGuard::~CancelGuard()
{
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

const std::atomic<bool>* CancelGuard::flag() const { return &g_cancel; }

// ---------------------------------------------------------------------------------------------
// Progress bar (stderr, only when it is a terminal)
// ---------------------------------------------------------------------------------------------

Progress::Progress(std::string label, int64_t plannedSamples, const Budget& alreadyDone)
    : label_(std::move(label)), planned_(plannedSamples), startDone_(alreadyDone.samples),
      startTokens_(alreadyDone.tokens), tty_(isatty(2) == 1)
{
    start_ = std::chrono::steady_clock::now();
}

static std::string hms(double s)
{
    if (!std::isfinite(s) || s < 0) return "--:--";
    long t = static_cast<long>(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

void Progress::update(const Budget& b)
{
    samples_ = b.samples;
    tokens_ = b.tokens;
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - lastDraw_ < std::chrono::milliseconds(100) && samples_ < planned_) return;
    lastDraw_ = now;
    draw();
}

void Progress::draw()
{
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double newSamples = double(samples_ - startDone_);
    double sps = el > 0 ? newSamples / el : 0, tps = el > 0 ? double(tokens_ - startTokens_) / el : 0;
    double frac = planned_ > 0 ? std::min(1.0, double(samples_) / double(planned_)) : 0;
    double eta = sps > 0 ? double(planned_ - samples_) / sps : NAN;
    const int width = 24;
    int fill = static_cast<int>(frac * width);
    std::string bar = std::string(fill, '#') + std::string(width - fill, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %lld/%lld samples  %.1f samples/s  %.0f tok/s  ETA %s \x1b[K",
                 label_.c_str(), bar.c_str(), int(frac * 100), static_cast<long long>(samples_),
                 static_cast<long long>(planned_), sps, tps, hms(eta).c_str());
    std::fflush(stderr);
}

void Progress::finish()
{
    if (!tty_ || samples_ == 0) return;
    draw();
    std::fputc('\n', stderr);
}

// ---------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------

json answersJson(const RunResult& r, const std::vector<std::string>& prompts)
{
    json a = json::array();
    for (const auto& f : r.final) {
        json j = {{"prompt_index", f.prompt_index}, {"text", f.text}, {"reward", f.reward}};
        if (f.prompt_index >= 0 && f.prompt_index < int(prompts.size())) j["prompt"] = prompts[f.prompt_index];
        j["gold_reward"] = f.gold_reward ? json(*f.gold_reward) : json(nullptr);
        a.push_back(j);
    }
    return a;
}

RunOutcome executeRun(Workbench& wb, SessionDb& db, const RunSpec& spec, std::optional<int64_t> resumeId,
                      bool quietStart)
{
    RunOutcome out;
    std::optional<RunRecorder> rec;
    if (resumeId) {
        // Refuses other models; every check runs before the run is marked running.
        rec.emplace(RunRecorder::resume(db, *resumeId, wb.provenance(), [&](const RunRequest& r, const ResumeState& s) {
            try {
                wb.checkRun(r, &s);
            } catch (const UsageError& e) {
                // The settings came from the session: say which file and run they are wrong in.
                const std::string m = e.what();
                if (m.rfind(db.path(), 0) == 0) throw;
                throw UsageError(db.path(), "run " + std::to_string(*resumeId), m + " (as recorded in the session)");
            }
        }));
        if (!quietStart)
            std::cerr << "rudder-cli: resuming run " << *resumeId << " in " << db.path() << " after "
                      << rec->resumeState()->completed.size() << " completed iteration(s)\n";
    } else {
        // Refused prompts (longer than the model) leave no failed run behind in the session.
        for (const auto& p : spec.prompts) {
            try {
                wb.checkPrompts({p.text}, spec.request.prompt_template, spec.request.config.value("max_new_tokens", int64_t(0)));
            } catch (const UsageError& e) {
                if (p.source.empty()) throw;
                throw UsageError(p.source, "line " + std::to_string(p.row.value_or(0) + 1), e.what());
            }
        }
        // RE-Control without --value: its value model is trained on the run's prompts (or found,
        // trained before on the same inputs) before the run is recorded, so the run's config
        // names the file it ran with and a resume uses the same one.
        RunRequest request = spec.request;
        wb.setValueStore(valueStoreFor(db.path()));
        {
            CancelGuard trainGuard;
            bool reused = false;
            if (auto vm = wb.prepareValueModel(request, printValueProgress, trainGuard.flag(), &reused))
                describeValueModel(*vm, reused);
        }
        wb.checkRun(request);   // a refusal records nothing (no failed run left behind)
        rec.emplace(RunRecorder::start(db, request, wb.provenance(), spec.prompts, spec.tags));
        if (!quietStart)
            std::cerr << "rudder-cli: run " << rec->id() << " (" << spec.request.method << ") in " << db.path()
                      << "; continue it after an interruption with: rudder-cli run --db " << db.path()
                      << " --resume " << rec->id() << "\n";
    }
    out.run_id = rec->id();
    const RunRequest& request = rec->request();

    const auto countsBefore = wb.gold() ? answerCounts(*wb.gold()) : std::nullopt;
    CancelGuard guard;
    const Budget done = rec->resuming() && !rec->resumeState()->completed.empty()
                            ? rec->resumeState()->completed.back().budget
                            : Budget{};
    Progress progress(request.method, plannedSamples(request.method, request.config, request.prompts.size()), done);
    auto sink = [&](const IterationEvent& e) {
        rec->append(e);   // committed before the next iteration starts
        progress.update(e.budget);
    };
    try {
        out.result = wb.run(request, sink, guard.flag(), rec->resumeState());
    } catch (const UsageError& e) {
        progress.finish();
        RunResult failed;
        failed.status = RunStatus::Failed;
        failed.message = e.what();
        rec->finish(failed);
        throw;
    } catch (const std::exception& e) {
        out.result = RunResult{};
        out.result.status = RunStatus::Failed;
        out.result.message = e.what();
    }
    progress.finish();
    rec->finish(out.result);
    out.doc = {{"run_id", out.run_id},
                {"db", db.path()},
                {"method", request.method},
                {"config", request.config},
                {"seed", request.seed},
                {"status", toString(out.result.status)},
                {"final", answersJson(out.result, request.prompts)},
                {"budget", out.result.budget},
                {"summary", out.result.summary["answers"]}};
    if (!out.result.message.empty()) out.doc["message"] = out.result.message;
    // The accuracy gold: responses with no answer count as wrong; say how many there were.
    if (countsBefore) {
        const AnswerCounts now = *answerCounts(*wb.gold());
        const int64_t graded = now.graded - countsBefore->graded, none = now.noAnswer - countsBefore->noAnswer;
        out.doc["answers_graded"] = graded;
        out.doc["no_answer"] = none;
        if (!quietStart)
            std::cerr << "rudder-cli: run " << out.run_id << ": " << none << " of " << graded
                      << " graded samples stated no answer (counted wrong)\n";
    }
    return out;
}

void printAnswers(const RunOutcome& o)
{
    for (const auto& f : o.doc["final"]) {
        std::cout << "[" << f["prompt_index"].get<int>() << "] reward " << f["reward"].get<double>();
        if (!f["gold_reward"].is_null()) std::cout << "  gold " << f["gold_reward"].get<double>();
        std::cout << "\n" << f["text"].get<std::string>() << "\n\n";
    }
}

// ---------------------------------------------------------------------------------------------
// `run`
// ---------------------------------------------------------------------------------------------

static const char* kDemoPrompt = "In the beginning";

void addModelOptions(CLI::App* cmd, ModelOptions& m)
{
    cmd->add_option("--model", m.model,
                    "Base model: a directory, a repo id ORG/NAME[@REVISION] in the local Hugging Face cache "
                    "(see `rudder-cli models`; nothing is downloaded), or a serving engine "
                    "http(s)://HOST:PORT/v1[#SERVED_NAME] (vLLM, any OpenAI-compatible server, rudder-cli serve; "
                    "needs --tokenizer) (default: the embedded demo LM, demo-lm; demo-math-lm names the reasoning demo, the "
                    "default with --gold answer)");
    cmd->add_option("--tokenizer", m.load.tokenizer,
                    "With a remote --model: its tokenizer here, a model directory (config.json + tokenizer files, "
                    "no weights) or a cached repo id");
    cmd->add_option("--max-in-flight", m.load.remote.max_in_flight, "Remote models: concurrent requests per server")
        ->capture_default_str()->check(CLI::Range(1, 4096));
    cmd->add_option("--request-timeout", m.load.remote.timeout_s, "Remote models: seconds one request may take")
        ->capture_default_str()->check(CLI::Range(0.1, 86400.0));
    cmd->add_option("--retries", m.load.remote.retries, "Remote models: retries on 429, 5xx and refused connections")
        ->capture_default_str()->check(CLI::Range(0, 100));
    cmd->add_option("--api-key-env", m.load.remote.api_key_env,
                    "Remote models: environment variable holding the API key (never stored in the session)")
        ->capture_default_str();
    cmd->add_option("--reward", m.reward,
                    "Reward: a reward-model directory or cached repo id, 'lexicon' (AFINN-165 valence), 'cmd:COMMAND', "
                    "a server (http://HOST:PORT/pooling[#NAME] = vLLM's pooling API; any other URL = plain JSON), or "
                    "demo-rm / demo-rm-small (the embedded demo RM, default, and its weak proxy trained on few labels) / "
                    "demo-math-rm (the reasoning demo's outcome RM)");
    cmd->add_option("--gold", m.gold,
                    "Second reward, only observed (same forms as --reward; default: lexicon when the reward "
                    "is the demo RM, else none; 'none' turns it off), or answer[:FIELD]: accuracy, 1 when a "
                    "sample's final answer equals the reference in FIELD (default 'answer') of its --dataset line");
    cmd->add_option("--device", m.load.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    cmd->add_option("--dtype", m.load.dtype, "auto | fp32 | bf16 | fp16")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "float32", "bfloat16", "float16"}));
    cmd->add_option("--template", m.templ, "Chat template: auto (detected), none (raw prompt) or a template name")
        ->capture_default_str();
}

void addPromptOptions(CLI::App* cmd, PromptOptions& p)
{
    cmd->add_option("--prompt", p.prompts, "A prompt (repeatable; default: a demo prompt)");
    cmd->add_option("--dataset", p.dataset, "JSONL file, one object per line with the prompt in --field");
    cmd->add_option("--field", p.field,
                    "JSONL field holding the prompt (default: the first of prompt, question, problem, instruction "
                    "that the first line has)");
    cmd->add_option("--limit", p.limit, "Use only the first N prompts (after --shuffle); N >= 1")
        ->check(CLI::PositiveNumber);   // 0 used to mean "no limit" silently
    cmd->add_flag("--shuffle", p.shuffle, "Shuffle the dataset with --seed before --limit");
    cmd->add_flag("--skip-bad-lines", p.skipBad,
                  "Report malformed JSONL lines and skip them (default: stop before the run starts)");
}

// The prompt field when --field is not given: the usual names, in the order datasets use them
// (HH-RLHF exports "prompt", GSM8K "question", MATH "problem", instruction sets "instruction");
// "prompt" when none is there, so the message about a missing field names it.
std::string promptField(const std::string& file)
{
    std::string line;
    try {
        LineReader in(file, kCapDatasetLine, kCapDataset, "dataset");
        while (in.next(line) && line.find_first_not_of(" \t\r") == std::string::npos) {
        }
    } catch (const Error&) {
        return "prompt";   // readDataset reports the file's fault
    }
    const json j = json::parse(line, nullptr, false);
    if (j.is_object())
        for (const char* f : {"prompt", "question", "problem", "instruction"})
            if (j.contains(f) && j[f].is_string()) {
                if (std::string(f) != "prompt") std::cerr << "rudder-cli: " << file << ": prompts from the \"" << f << "\" field\n";
                return f;
            }
    return "prompt";
}

std::vector<PromptRecord> collectPrompts(const PromptOptions& p, uint64_t seed)
{
    if (!p.dataset.empty() && !p.prompts.empty()) throw UsageError("--prompt", "", "give --prompt or --dataset, not both");
    // -1 is "not given" (every prompt); 0 used to mean that too, silently.
    if (p.limit == 0 || p.limit < -1)
        throw UsageError("--limit", std::to_string(p.limit), "must be a positive number of prompts");
    std::vector<PromptRecord> prompts;
    for (const auto& t : p.prompts) prompts.push_back(PromptRecord{0, t, "", std::nullopt});
    if (!p.dataset.empty())
        prompts = readDataset(p.dataset, p.field.empty() ? promptField(p.dataset) : p.field, p.skipBad, std::cerr);
    if (prompts.empty()) prompts.push_back(PromptRecord{0, kDemoPrompt, "", std::nullopt});
    if (p.shuffle) shufflePrompts(prompts, seed);
    if (p.limit > 0 && size_t(p.limit) < prompts.size()) prompts.resize(size_t(p.limit));
    for (size_t i = 0; i < prompts.size(); ++i) prompts[i].index = int(i);
    return prompts;
}

void loadModels(Workbench& wb, ModelOptions& m)
{
    // Accuracy as the gold with no models named: the reasoning demo (the KJV demo answers no
    // questions).
    if (answerGoldField(m.gold) && m.model.empty() && m.reward.empty()) {
        m.model = demoMathModelDir();
        m.reward = demoMathRewardDir();
        std::cerr << "rudder-cli: --gold " << m.gold << " with no --model/--reward: the reasoning demo (demo-math-lm, demo-math-rm)\n";
    }
    const bool demoReward = m.reward.empty() || m.reward == "demo-rm" || m.reward == "demo-rm-small";
    if (m.model.empty()) m.model = demoModelDir();
    m.model = resolveDemoModel(m.model);
    if (m.reward.empty()) m.reward = demoRewardDir();
    m.reward = resolveDemoReward(m.reward);
    if (m.gold.empty() && demoReward) m.gold = "lexicon";
    if (m.gold == "none") m.gold.clear();
    auto asUsage = [](const char* flag, const std::function<void()>& f) {
        try {
            f();
        } catch (const UsageError& e) {
            throw UsageError(std::string(flag) + ": " + e.what());
        } catch (const Error& e) {
            throw UsageError(std::string(flag) + ": " + e.what());
        }
    };
    asUsage("--model", [&] { wb.loadBase(m.model, m.load); });
    asUsage("--reward", [&] { wb.setReward(m.reward, m.load); });
    if (!m.gold.empty() && !answerGoldField(m.gold)) asUsage("--gold", [&] { wb.setGold(m.gold, m.load); });
}

void applyAnswerGold(Workbench& wb, const ModelOptions& m, const std::vector<PromptRecord>& prompts)
{
    const auto field = answerGoldField(m.gold);
    if (!field) return;
    std::vector<PromptSource> sources;
    for (const auto& p : prompts) {
        // Said in the CLI's words here; referencesFor refuses typed prompts too, for the GUI.
        if (p.source.empty() || !p.row)
            throw UsageError("--gold", m.gold, "needs --dataset: the reference answers are a field of its lines");
        sources.push_back({p.text, p.source, p.row});
    }
    wb.setGoldFunction(makeAnswerReward(referencesFor(sources, *field), *field), m.gold);
}

void voteWhenGraded(const ModelOptions& m, const std::string& method, json& config, const std::vector<std::string>& sets)
{
    if (!answerGoldField(m.gold)) return;
    bool hasVote = false;
    for (const auto& p : methodInfo(method).params) hasVote = hasVote || p.key == "vote";
    if (!hasVote) return;
    for (const auto& s : sets) {
        const std::string key = s.substr(0, s.find('='));
        if (key == "vote" || key == method + ".vote") return;
    }
    config["vote"] = 1;
}

RunSpec makeSpec(const ModelOptions& m, const std::string& method, const json& config, uint64_t seed,
                 const std::vector<PromptRecord>& prompts)
{
    RunSpec s;
    s.request.method = method;
    s.request.config = config;
    s.request.seed = seed;
    for (const auto& p : prompts) s.request.prompts.push_back(p.text);
    s.request.prompt_template = m.templ;
    s.prompts = prompts;
    return s;
}

// Cancelled and failed runs end with exit code 1: main() prints a rudder::Error's message once.
void reportEnd(const RunOutcome& o)
{
    const auto st = o.result.status;
    if (st == RunStatus::Cancelled)
        throw Error("run " + std::to_string(o.run_id) + " cancelled; its completed iterations are kept (continue with --resume " +
                    std::to_string(o.run_id) + ")");
    if (st == RunStatus::Failed)
        throw Error("run " + std::to_string(o.run_id) + " failed: " + o.result.message);
    if (st != RunStatus::Done)
        throw Error("run " + std::to_string(o.run_id) + " ended " + toString(st));
}

void addCompareCommand(CLI::App& app);
void addTuneBetaCommand(CLI::App& app);



void addRunCommand(CLI::App& app)
{
    struct Opts {
        ModelOptions m;
        PromptOptions p;
        std::string method, db = "rudder-session.sqlite", configFile;
        std::vector<std::string> sets;
        uint64_t seed = 0;
        bool json = false;
        int64_t resume = -1;
        std::string value;
        bool trustSession = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "run", "Run an alignment method over prompts (one run in the session covers all of them).\n"
               "Prints the run id on stderr at the start; Ctrl-C stops cleanly, marks the run cancelled "
               "and keeps the completed iterations.\nExit codes: 0 done, 1 run failed or cancelled, 2 usage error.");
    cmd->add_option("--method", o->method, "bon | aisp | aisp-batched | qalign | wmv | args | recontrol");
    cmd->add_option("--value", o->value,
                    "recontrol: a value model file (rudder-cli train-value); without it one is trained on the run's "
                    "prompts, or the one trained before on the same inputs is reused");
    addModelOptions(cmd, o->m);
    addPromptOptions(cmd, o->p);
    cmd->add_option("--db", o->db, "Session file (SQLite) the run is written to; created if missing")
        ->capture_default_str();
    cmd->add_option("--seed", o->seed, "Run seed (all randomness derives from it)")->capture_default_str()->check(seedRange());
    cmd->add_option("--set", o->sets, "Setting, key=value (repeatable; `rudder-cli methods METHOD` lists the keys, ranges and defaults)");
    cmd->add_option("--config", o->configFile, "JSON config (as exported from the GUI); --set overrides it");
    cmd->add_flag("--json", o->json, "Print run id, final answers and summary statistics as JSON on stdout");
    cmd->add_option("--resume", o->resume,
                    "Continue an interrupted run of --db (its method, config, prompts and seed come from the session)")
        ->check(CLI::NonNegativeNumber);   // -1 is the "not given" default, never a run id to pass
    cmd->add_flag("--trust-session", o->trustSession,
                  "With --resume: load the run's recorded models even when they run a command (cmd:) or contact a "
                  "server (http://); without it such a spec must be named again with --model/--reward/--gold");
    cmd->callback([o] {
        if (o->resume >= 0) {
            if (!o->method.empty() || !o->sets.empty() || !o->configFile.empty() || !o->p.dataset.empty() ||
                !o->p.prompts.empty())
                throw UsageError("--resume", std::to_string(o->resume),
                                 "takes method, config and prompts from the session; drop the other run flags");
            SessionDb db = SessionDb::open(o->db);
            const RunSources src = RunRecorder::sources(db.loadRun(o->resume, false).info);
            if (src.base.empty() || src.reward.empty())
                throw UsageError(o->db, "run " + std::to_string(o->resume),
                                 "records no model directory / reward spec (started by an older version); "
                                 "resume it in the GUI with its models loaded");
            // The session's word is not enough to start a process or open a connection (a shared
            // file could carry any command): the user names it again, or says --trust-session.
            for (const ActiveSpec& a : activeSpecs(src)) {
                const std::string& given = a.role == "model" ? o->m.model : a.role == "reward" ? o->m.reward : o->m.gold;
                // A server named without its "#served-name" is the same server.
                const bool sameServer = !given.empty() && a.spec.rfind("http", 0) == 0 && a.spec.substr(0, a.spec.find('#')) == given.substr(0, given.find('#'));
                if (given != a.spec && !sameServer && !o->trustSession)
                    throw UsageError(o->db, "run " + std::to_string(o->resume) + ": " + a.role,
                                     "its " + a.role + " " + a.what + "; resuming would do so on the session file's "
                                     "word. Name it yourself to confirm: --" + a.role + " '" + a.spec +
                                     "' (or pass --trust-session)");
            }
            // The recorded models, unless named here: a session moved to another machine or clone
            // resumes with --model/--reward pointing at the local copies (matched by content).
            ModelOptions m = o->m;
            if (m.model.empty()) {
                m.model = src.base;
                if (!m.model.empty() && m.model.front() == '/' && !std::filesystem::exists(m.model))   // (not a repo id)
                    throw UsageError(o->db, "run " + std::to_string(o->resume) + ": model",
                                     "was run with " + m.model + ", which is not on this machine; name your copy of "
                                     "it with --model DIR (it is matched by content)");
            }
            if (m.reward.empty()) m.reward = src.reward;
            if (m.gold.empty()) m.gold = src.gold.empty() ? "none" : src.gold;
            m.templ = src.promptTemplate;
            if (m.load.tokenizer.empty()) m.load.tokenizer = src.tokenizer;
            Workbench wb;
            loadModels(wb, m);
            applyAnswerGold(wb, m, db.loadRun(o->resume, false).prompts);
            RunSpec spec;   // method, config, seed and prompts come from the session
            RunOutcome out = executeRun(wb, db, spec, o->resume, false);
            if (o->json) std::cout << out.doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
            else printAnswers(out);
            reportEnd(out);
            return;
        }
        if (o->method.empty()) throw UsageError("--method", "", "required (bon, aisp, aisp-batched, qalign, wmv, args, recontrol)");
        std::vector<std::string> sets = o->sets;
        if (!o->value.empty()) {
            if (!methodInfo(o->method).needsValueModel) throw UsageError("--value", o->value, "only RE-Control (--method recontrol) reads a value model");
            Workbench::readValueModel(o->value);   // a clear message now, not after the models load
            sets.push_back("value_model=" + std::filesystem::absolute(o->value).string());
        }
        json config = buildConfig(o->method, o->configFile, sets);
        voteWhenGraded(o->m, o->method, config, sets);
        const auto prompts = collectPrompts(o->p, o->seed);
        Workbench wb;
        loadModels(wb, o->m);
        applyAnswerGold(wb, o->m, prompts);
        RunSpec spec = makeSpec(o->m, o->method, config, o->seed, prompts);
        SessionDb db = SessionDb::open(o->db);
        RunOutcome out = executeRun(wb, db, spec, std::nullopt, false);
        if (o->json) std::cout << out.doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        else printAnswers(out);
        reportEnd(out);
    });
    addCompareCommand(app);
    addTuneBetaCommand(app);
}

} // namespace rudder::cli

// ---------------------------------------------------------------------------------------------
// `compare`: several methods, same prompts and seed, matched budget on one axis
// ---------------------------------------------------------------------------------------------

namespace rudder::cli {



std::vector<std::string> splitList(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

// --set key=value applies to every method with that parameter; --set METHOD.key=value to one.
json compareConfig(const std::string& method, const std::vector<std::string>& sets)
{
    const MethodInfo& info = methodInfo(method);
    json cfg = json::object();
    for (const auto& s : sets) {
        auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--set", s, "expected key=value or method.key=value");
        std::string key = s.substr(0, eq);
        if (auto dot = key.find('.'); dot != std::string::npos) {
            if (key.substr(0, dot) != method) continue;
            key = key.substr(dot + 1);
        } else {
            bool has = false;
            for (const auto& p : info.params) has = has || p.key == key;
            if (!has) continue;
        }
        cfg[key] = s.substr(eq + 1);
    }
    try {
        return validateConfig(method, cfg);
    } catch (const UsageError& e) {
        throw UsageError("--set: " + method + ": " + e.what());
    }
}

void addCompareCommand(CLI::App& app)
{
    struct Opts {
        ModelOptions m;
        PromptOptions p;
        std::string methods = "aisp,bon", axis = "samples", db = "rudder-session.sqlite";
        double budget = 0;
        std::vector<std::string> sets;
        uint64_t seed = 0;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "compare", std::string("Run several methods on the same prompts and seed with a matched budget, one run "
                               "per method in the session, and print a table of mean proxy/gold reward and cost.\n") +
                       kBudgetRule);
    cmd->add_option("--methods", o->methods, "Comma-separated method ids")->capture_default_str();
    cmd->add_option("--budget-axis", o->axis, "samples | tokens | flops")->capture_default_str();
    cmd->add_option("--budget", o->budget, "Budget per prompt on that axis (see the rule above)")->required();
    addModelOptions(cmd, o->m);
    addPromptOptions(cmd, o->p);
    cmd->add_option("--db", o->db, "Session file (SQLite); created if missing")->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed shared by every method")->capture_default_str()->check(seedRange());
    cmd->add_option("--set", o->sets, "key=value for every method having it, or method.key=value (repeatable)");
    cmd->add_flag("--json", o->json, "Print every run's id, answers and summary as JSON on stdout");
    cmd->callback([o] {
        // "mv" is majority vote: WMV's unweighted vote (QAlign §4's MV baseline).
        std::vector<std::string> labels = splitList(o->methods), methods = labels;
        for (auto& m : methods)
            if (m == "mv") m = "wmv";
        if (methods.empty()) throw UsageError("--methods", o->methods, "no method given");
        // A method with no budget knob (ARGS, RE-Control: one decode per prompt) runs at its own
        // cost; the table prints that cost next to the matched ones (and RE-Control's training).
        bool matched = false;
        for (const auto& m : methods) matched = matched || methodInfo(m).budgetKnob != BudgetKnob::None;
        if (!matched) throw UsageError("--methods", o->methods, "none of them has a budget knob to match (bon, aisp, qalign, wmv do)");
        if (o->axis != "samples" && o->axis != "tokens" && o->axis != "flops")
            throw UsageError("--budget-axis", o->axis, "must be samples, tokens or flops");
        if (!(o->budget > 0)) throw UsageError("--budget", std::to_string(o->budget), "must be positive");
        // Every unprefixed --set key must mean something to at least one method.
        for (const auto& s : o->sets) {
            std::string key = s.substr(0, s.find('='));
            if (key.find('.') != std::string::npos) continue;
            bool used = false;
            for (const auto& m : methods)
                for (const auto& p : methodInfo(m).params) used = used || p.key == key;
            if (!used) throw UsageError("--set", key, "is a parameter of none of " + o->methods);
        }
        std::vector<json> configs;
        for (size_t i = 0; i < methods.size(); ++i) {
            configs.push_back(compareConfig(methods[i], o->sets));
            voteWhenGraded(o->m, methods[i], configs.back(), o->sets);
            if (labels[i] == "mv") configs.back()["weighted"] = 0, configs.back()["vote"] = 1;
        }
        auto prompts = collectPrompts(o->p, o->seed);

        Workbench wb;
        loadModels(wb, o->m);
        applyAnswerGold(wb, o->m, prompts);
        const bool graded = answerGoldField(o->m.gold).has_value();
        const double flopsPerToken = 2.0 * double(wb.base().parameters) + (wb.reward() ? wb.reward()->flopsPerToken() : 0.0);
        for (size_t i = 0; i < methods.size(); ++i)
            configs[i] = budgetedConfig(methods[i], configs[i], o->axis, o->budget, flopsPerToken);

        SessionDb db = SessionDb::open(o->db);
        json all = json::array();
        std::vector<RunOutcome> outs;
        for (size_t i = 0; i < methods.size(); ++i) {
            RunSpec spec = makeSpec(o->m, methods[i], configs[i], o->seed, prompts);
            outs.push_back(executeRun(wb, db, spec, std::nullopt, false));
            all.push_back(outs.back().doc);
            all.back()["label"] = labels[i];
            if (outs.back().result.status != RunStatus::Done) break;
        }
        if (o->json) {
            std::cout << json{{"budget_axis", o->axis}, {"budget", o->budget}, {"prompts", prompts.size()}, {"runs", all}}
                             .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
        } else {
            // Per-prompt answers: mean ± standard error over prompts, and each method's paired
            // difference to best-of-n (or the last method) — "is it noise?" answered in the table.
            auto perPrompt = [](const json& run, const char* key) {
                std::vector<double> v;
                for (const auto& f : run["final"])
                    if (f.contains(key) && f[key].is_number()) v.push_back(f[key].get<double>());
                return v;
            };
            auto cell = [&](const std::vector<double>& v) {
                if (v.empty()) return std::string("-");
                const auto [m, se, n] = meanSe(v);
                char b[64];
                // One prompt has no spread to estimate: say so rather than print "± nan".
                if (std::isnan(se)) std::snprintf(b, sizeof b, "%.4f (1 prompt)", m);
                else std::snprintf(b, sizeof b, "%.4f ± %.4f", m, se);
                return std::string(b);
            };
            std::printf("%-13s %-34s %18s %18s %8s %6s %6s %9s %9s %9s %5s\n", "method", "matched config", "reward ± se",
                        graded ? "accuracy ± se" : "gold ± se", "KL", "div", "coh", "samples", "tokens", "seconds", "run");
            for (size_t i = 0; i < all.size(); ++i) {
                const json& r = all[i];
                const std::string m = r["method"], label = r["label"];
                std::string knob;
                for (const char* k : {"n", "iterations", "chains", "steps", "lr", "top_k", "max_new_tokens"})
                    if (r["config"].contains(k)) knob += std::string(knob.empty() ? "" : " ") + k + "=" + r["config"][k].dump();
                if (methodInfo(m).budgetKnob == BudgetKnob::None) knob += " (own cost)";
                const SummaryMeans sm = summaryMeans(outs[i].result.summary);
                const auto kl = sm.kl_to_base;
                auto f3 = [](const std::optional<double>& v) { return v ? std::to_string(*v).substr(0, 5) : std::string("-"); };
                std::printf("%-13s %-34s %18s %18s %8s %6s %6s %9lld %9lld %9.2f %5lld\n", label.c_str(), knob.c_str(),
                            cell(perPrompt(r, "reward")).c_str(), cell(perPrompt(r, "gold_reward")).c_str(),
                            kl ? std::to_string(*kl).substr(0, 7).c_str() : "-", f3(sm.diversity).c_str(),
                            f3(sm.coherence).c_str(),
                            static_cast<long long>(r["budget"].value("samples", int64_t(0))),
                            static_cast<long long>(r["budget"].value("tokens", int64_t(0))),
                            r["budget"].value("seconds", 0.0), static_cast<long long>(r["run_id"].get<int64_t>()));
            }
            // A trained method's training, on the same axes: excluded above, included here.
            for (size_t i = 0; i < all.size(); ++i) {
                const json& s = outs[i].result.summary;
                if (!s.contains("value_model")) continue;
                const Budget t = ValueModelInfo::fromJson(s["value_model"]).total();
                Budget with = all[i]["budget"].get<Budget>();
                with += t;
                std::printf("%s: the table excludes its value model's training (%lld samples, %lld tokens, %.3g FLOPs, "
                            "%.1f s); included: %lld samples, %lld tokens, %.3g FLOPs, %.1f s\n",
                            all[i]["method"].get<std::string>().c_str(), static_cast<long long>(t.samples),
                            static_cast<long long>(t.tokens), t.flops, t.seconds, static_cast<long long>(with.samples),
                            static_cast<long long>(with.tokens), with.flops, with.seconds);
            }
            std::vector<std::string> ran;
            for (const auto& r : all) ran.push_back(r["method"].get<std::string>());
            const size_t ref = referenceMethod(ran);
            for (size_t i = 0; i < all.size() && all.size() > 1; ++i) {
                if (i == ref) continue;
                std::printf("%s − %s, paired over prompts:", all[i]["label"].get<std::string>().c_str(),
                            all[ref]["label"].get<std::string>().c_str());
                for (const char* key : {"reward", "gold_reward"}) {
                    const auto a = perPrompt(all[i], key), b = perPrompt(all[ref], key);
                    if (a.empty() || a.size() != b.size()) continue;
                    const PairedDiff d = pairedDifference(a, b);
                    const char* name = key == std::string("reward") ? "reward" : graded ? "accuracy" : "gold";
                    if (std::isnan(d.se)) std::printf("  %s %+.4f (1 prompt: no standard error)", name, d.mean);
                    else std::printf("  %s %+.4f ± %.4f (%.1f se)", name, d.mean, d.se, d.se > 0 ? d.z : 0.0);
                }
                std::printf("\n");
            }
            // Importance-weighted methods: how many samples the weights really used, iteration by
            // iteration (mean over prompts) — 1 is the best-of-n limit, n uniform weights.  AISP
            // weighs each iteration's n samples; WMV all the samples so far, batch by batch.
            for (size_t i = 0; i < all.size(); ++i) {
                struct Acc { double ess = 0, of = 0; int count = 0; };
                std::map<int, Acc> byIteration;
                bool soFar = false;
                for (const auto& e : db.loadCompletedIterations(all[i]["run_id"].get<int64_t>()))
                    if (e.stats.contains("ess") && e.stats["ess"].is_number()) {
                        Acc& a = byIteration[e.iteration];
                        a.ess += e.stats["ess"].get<double>();
                        soFar = e.stats.contains("samples_so_far") && e.stats["samples_so_far"].is_number();
                        a.of += soFar ? e.stats["samples_so_far"].get<double>() : double(e.samples.size());
                        ++a.count;
                    }
                if (byIteration.empty()) continue;
                std::printf("%s: ESS of the weights %s (mean over prompts):", all[i]["label"].get<std::string>().c_str(),
                            soFar ? "over the samples so far, by batch" : "by iteration");
                const char* sep = "";
                for (const auto& [k, a] : byIteration) {
                    std::printf("%s %.1f of %.0f", sep, a.ess / a.count, a.of / a.count);
                    sep = ",";
                }
                std::printf("\n");
            }
        }
        for (const auto& out : outs) reportEnd(out);
    });
}

// `tune-beta`: QAlign's β for a target acceptance rate, from pilot chains on the first prompt.
void addTuneBetaCommand(CLI::App& app)
{
    struct Opts {
        ModelOptions m;
        PromptOptions p;
        std::vector<std::string> sets;
        double target = 0.5;
        int steps = 16;
        uint64_t seed = 0;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "tune-beta", "QAlign's absolute beta for a target acceptance rate: short pilot chains on the first prompt for a "
                     "ladder of beta, bisected in log beta (about 8 pilot runs).  Prints beta and the --set flags "
                     "that use it.  Records nothing.");
    addModelOptions(cmd, o->m);
    addPromptOptions(cmd, o->p);
    cmd->add_option("--target", o->target, "Target acceptance rate")->capture_default_str()->check(CLI::Range(0.01, 0.99));
    cmd->add_option("--steps", o->steps, "MCMC steps per pilot chain")->capture_default_str()->check(CLI::Range(2, 4096));
    cmd->add_option("--seed", o->seed, "Seed of the pilot chains")->capture_default_str()->check(seedRange());
    cmd->add_option("--set", o->sets, "QAlign parameter for the pilots, key=value (chains, max_new_tokens, temperature)");
    cmd->add_flag("--json", o->json, "Print {\"beta\": ..., \"target\": ...} on stdout");
    cmd->callback([o] {
        const json config = buildConfig("qalign", "", o->sets);
        const auto prompts = collectPrompts(o->p, o->seed);
        Workbench wb;
        loadModels(wb, o->m);
        RunRequest req;
        req.method = "qalign";
        req.config = config;
        req.seed = o->seed;
        req.prompts = {prompts.front().text};
        req.prompt_template = o->m.templ;
        CancelGuard guard;
        const double beta = wb.tuneQAlignBeta(req, o->target, o->steps, guard.flag());
        if (guard.flag()->load()) throw Error("tune-beta cancelled");
        if (o->json) {
            std::cout << json{{"beta", beta}, {"target", o->target}, {"steps", o->steps}}.dump() << "\n";
        } else {
            std::printf("beta = %.6g for %.0f%% acceptance (absolute units)\nuse: --method qalign --set scale=0 --set beta=%.6g\n",
                        beta, 100 * o->target, beta);
        }
    });
}



} // namespace rudder::cli
