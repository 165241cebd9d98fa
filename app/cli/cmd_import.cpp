// `rudder-cli import-samples`: samples made elsewhere (vLLM, a harness) become a run of the session
// (method "samples"), graded against reference answers, with accuracy-against-k curves.
#include <cmath>
#include <fstream>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "rudder/analysis.h"
#include "rudder/error.h"
#include "rudder/file_read.h"
#include "rudder/grading.h"
#include "rudder/methods.h"
#include "rudder/run_recorder.h"
#include "rudder/selection.h"
#include "rudder/session_db.h"

namespace rudder::cli {

using nlohmann::json;

namespace {

struct Line {
    std::string prompt;
    std::vector<std::string> responses;
    std::vector<double> rewards;            // empty: none given
    std::optional<std::string> reference;   // the answer field, when present
    int64_t row = 0;
};

// Bounded reads: a line is one question's samples, not a file.
constexpr size_t kMaxLineBytes = 64u << 20;

std::vector<Line> readSamples(const std::string& file, const std::string& answerField)
{
    std::optional<LineReader> in;
    std::vector<Line> out;
    std::string text;
    int64_t lineNo = 0;
    for (;;) {
        try {
            if (!in) in.emplace(file, kMaxLineBytes, kCapDataset, "samples file");
            if (!in->next(text)) break;
        } catch (const Error& e) {
            throw UsageError(e.what());   // missing, a device, or over a cap
        }
        ++lineNo;
        const std::string where = "line " + std::to_string(lineNo);
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        const json j = json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw UsageError(file, where, "not a JSON object");
        Line l;
        l.row = lineNo - 1;
        if (!j.contains("prompt") || !j["prompt"].is_string()) throw UsageError(file, where + ": prompt", "needs a string");
        l.prompt = j["prompt"];
        if (!j.contains("responses") || !j["responses"].is_array() || j["responses"].empty())
            throw UsageError(file, where + ": responses", "needs a non-empty array of strings");
        for (const auto& r : j["responses"]) {
            if (!r.is_string()) throw UsageError(file, where + ": responses", "every response must be a string");
            l.responses.push_back(r);
        }
        if (j.contains("rewards") && !j["rewards"].is_null()) {
            if (!j["rewards"].is_array() || j["rewards"].size() != l.responses.size())
                throw UsageError(file, where + ": rewards", "needs one number per response (" +
                                                                std::to_string(l.responses.size()) + ")");
            for (const auto& r : j["rewards"]) {
                if (!r.is_number() || !std::isfinite(r.get<double>()))
                    throw UsageError(file, where + ": rewards", "every reward must be a finite number");
                l.rewards.push_back(r);
            }
        }
        if (j.contains(answerField) && !j[answerField].is_null()) {
            const auto& a = j[answerField];
            if (a.is_string()) l.reference = a.get<std::string>();
            else if (a.is_number()) l.reference = a.dump();
            else throw UsageError(file, where + ": " + answerField, "must be a string or a number");
        }
        out.push_back(std::move(l));
    }
    if (out.empty()) throw UsageError(file, "FILE", "no samples in the file");
    const bool rewards = !out.front().rewards.empty(), answers = out.front().reference.has_value();
    for (size_t i = 0; i < out.size(); ++i) {
        const std::string where = "line " + std::to_string(out[i].row + 1);
        if (out[i].rewards.empty() == rewards)
            throw UsageError(file, where + ": rewards", "given on some lines and not on others");
        if (out[i].reference.has_value() != answers)
            throw UsageError(file, where + ": " + answerField, "given on some lines and not on others");
    }
    return out;
}

json curveJson(const std::vector<analysis::KPoint>& c)
{
    if (c.empty()) return nullptr;
    json a = json::array();
    for (const auto& p : c) a.push_back({{"k", p.k}, {"mean", p.mean}, {"se", std::isnan(p.se) ? json(nullptr) : json(p.se)}});
    return a;
}

} // namespace

void addImportSamplesCommand(CLI::App& app)
{
    struct Opts {
        std::string file, db = "rudder-session.sqlite", answerField = "answer", name, format = "auto";
        bool json = false;
        double beta = 0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "import-samples",
        "Import samples made elsewhere as a run of the session (method 'samples', reopened by the GUI like any "
        "run). FILE.jsonl: one {\"prompt\": str, \"responses\": [str, ...], \"rewards\": [number, ...] (optional), "
        "\"answer\": str (optional)} per line. With answers each response is graded (rudder-cli grade) and the "
        "accuracy of pass@k, majority@k, best-of-k and weighted majority@k is printed for k = 1, 2, 4, ..., n.\n"
        "Exit codes: 0 imported, 2 bad input (file, line and field named; nothing is written).");
    cmd->add_option("FILE", o->file, "JSONL file of samples")->required();
    cmd->add_option("--db", o->db, "Session file (SQLite); created if missing")->capture_default_str();
    cmd->add_option("--answer-field", o->answerField, "Field holding each line's reference answer")->capture_default_str();
    cmd->add_option("--format", o->format, "Answer format: auto | gsm8k | math (rudder-cli grade)")->capture_default_str();
    cmd->add_option("--name", o->name, "A name for the run (kept in its tags)");
    cmd->add_option("--beta", o->beta,
                    "Weighted majority's β in reward standard deviations (default: WMV's scale-free default)");
    cmd->add_flag("--json", o->json, "Print {run_id, n, accuracy, curves, ...} as JSON on stdout");
    cmd->callback([o] {
        const grading::Format format = grading::parseFormat(o->format);
        const auto lines = readSamples(o->file, o->answerField);   // every check before the first write
        const double beta = o->beta > 0 ? o->beta : defaultConfig("wmv")["beta"].get<double>();
        const bool answers = lines.front().reference.has_value(), rewards = !lines.front().rewards.empty();

        std::vector<analysis::GradedSamples> graded;
        std::vector<IterationEvent> events;
        RunResult result;
        std::vector<PromptRecord> prompts;
        int64_t noAnswer = 0;
        std::vector<double> allRewards;
        for (size_t p = 0; p < lines.size(); ++p) {
            const Line& l = lines[p];
            prompts.push_back(PromptRecord{int(p), l.prompt, o->file, l.row});
            analysis::GradedSamples g;
            IterationEvent e;
            e.method = "samples";
            e.prompt_index = int(p);
            json extracted = json::array();
            for (size_t i = 0; i < l.responses.size(); ++i) {
                Sample s;
                s.prompt_index = int(p);
                s.index = int(i);
                s.text = l.responses[i];
                s.reward = rewards ? l.rewards[i] : 0.0;
                if (answers) {
                    const grading::Grade gr = grading::grade(l.responses[i], *l.reference, format);
                    s.gold_reward = gr.correct ? 1.0 : 0.0;
                    g.correct.push_back(gr.correct);
                    g.keys.push_back(gr.extracted ? std::optional<std::string>(grading::voteKey(*gr.extracted, gr.format))
                                                  : std::nullopt);
                    extracted.push_back(gr.extracted ? json(*gr.extracted) : json(nullptr));
                    noAnswer += !gr.extracted;
                }
                e.samples.push_back(std::move(s));
            }
            if (rewards) {
                g.rewards = l.rewards;
                allRewards.insert(allRewards.end(), l.rewards.begin(), l.rewards.end());
            }
            e.stats = {{"imported", true}, {"samples", l.responses.size()}};
            if (answers) e.stats["extracted"] = extracted, e.stats["reference"] = grading::referenceAnswer(*l.reference);
            e.budget.samples = (events.empty() ? 0 : events.back().budget.samples) + int64_t(l.responses.size());
            // The run's answer for the prompt: the majority answer with references, else the best
            // reward, else the first sample.
            int pick = 0;
            if (answers) {
                const Vote v = majorityVote(g.keys);
                pick = std::max(v.index, 0);
            } else if (rewards) {
                pick = int(std::max_element(l.rewards.begin(), l.rewards.end()) - l.rewards.begin());
            }
            const Sample& chosen = e.samples[size_t(pick)];
            result.final.push_back({int(p), chosen.text, {}, chosen.reward, chosen.gold_reward});
            events.push_back(std::move(e));
            graded.push_back(std::move(g));
        }

        size_t nMin = SIZE_MAX;
        for (const auto& l : lines) nMin = std::min(nMin, l.responses.size());
        json out = {{"n", nMin}, {"prompts", lines.size()}};
        if (answers) {
            const auto c = analysis::accuracyCurves(graded, beta, 1, 1000);
            out["accuracy"] = c.pass.empty() ? json(nullptr) : json(c.pass.front().mean);
            out["curves"] = {{"pass", curveJson(c.pass)},
                             {"majority", curveJson(c.majority)},
                             {"best_of_n", curveJson(c.bestOfN)},
                             {"weighted_majority", curveJson(c.weightedMajority)}};
            out["no_answer"] = noAnswer;
        } else {
            out["accuracy"] = nullptr;
            out["curves"] = nullptr;
        }
        if (rewards) {
            const analysis::GmmFit fit = analysis::fitGmm2(allRewards);
            json mix = {{"status", analysis::toString(fit.status)}};
            if (fit.status == analysis::Status::Ok) {
                mix["weights"] = fit.weights;
                mix["means"] = fit.means;
                mix["stds"] = fit.stds;
                json b = json::array();
                for (const auto& bp : analysis::betaCurve(fit, int(nMin)))
                    if (bp.beta) b.push_back({{"n", bp.n}, {"beta", *bp.beta}});
                out["beta_n"] = b;
            } else {
                mix["message"] = fit.message;
            }
            out["mixture"] = mix;
        }

        // Written in one go, after every check.
        SessionDb db = SessionDb::open(o->db);
        RunRequest req;
        req.method = "samples";
        req.config = {{"imported_from", o->file}, {"answer_field", o->answerField}, {"format", grading::toString(format)}};
        for (const auto& l : lines) req.prompts.push_back(l.prompt);
        req.prompt_template = "none";
        json provenance = {{"base_model", {{"spec", "imported:" + o->file}, {"name", "imported samples"}}},
                           {"reward_model", {{"spec", rewards ? "imported" : ""}, {"name", rewards ? "imported rewards" : "none"}}},
                           {"gold", answers ? json{{"spec", "answer:" + o->answerField}, {"name", "answer:" + o->answerField}}
                                            : json(nullptr)},
                           {"versions", {{"rudder", RUDDER_VERSION}}}};
        json tags = json::object();
        if (!o->name.empty()) tags["name"] = o->name;
        RunRecorder rec = RunRecorder::start(db, req, provenance, prompts, tags);
        for (const auto& e : events) rec.append(e);
        result.status = RunStatus::Done;
        result.budget = events.back().budget;
        result.summary = out;
        result.summary["imported"] = true;
        rec.finish(result);
        out["run_id"] = rec.id();

        if (o->json) {
            std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
        } else {
            std::cout << "imported " << lines.size() << " prompts × " << nMin << " samples as run " << rec.id() << " of "
                      << o->db << "\n";
            if (answers) {
                std::printf("%6s %16s %16s %16s %16s\n", "k", "pass@k", "majority@k", "best-of-k", "weighted maj@k");
                const auto& c = out["curves"];
                for (size_t i = 0; i < c["pass"].size(); ++i) {
                    auto cell = [&](const char* key) {
                        if (c[key].is_null()) return std::string("-");
                        const auto& p = c[key][i];
                        char b[48];
                        if (p["se"].is_null()) std::snprintf(b, sizeof b, "%.3f", p["mean"].get<double>());
                        else std::snprintf(b, sizeof b, "%.3f ± %.3f", p["mean"].get<double>(), p["se"].get<double>());
                        return std::string(b);
                    };
                    std::printf("%6d %16s %16s %16s %16s\n", c["pass"][i]["k"].get<int>(), cell("pass").c_str(),
                                cell("majority").c_str(), cell("best_of_n").c_str(), cell("weighted_majority").c_str());
                }
                std::cout << noAnswer << " responses stated no answer (counted wrong)\n";
            }
        }
    });
}

} // namespace rudder::cli
