// Export (JSON, CSV) and import (JSON) of runs.  The JSON layout is a public interface that
// scripts and notebooks read: README.md, "Session export format", documents it.  Change it only
// by adding fields.
#include "session_impl.h"

#include <algorithm>
#include <cmath>
#include <ostream>
#include <set>

#include "rudder/answer_reward.h"
#include "rudder/grading.h"

namespace rudder {

using nlohmann::json;

template <class T>
static json orNull(const std::optional<T>& v)
{
    return v ? json(*v) : json(nullptr);
}

// Runs whose gold is accuracy against reference answers ("answer:FIELD") carry each sample's
// extracted answer, so an export can be re-graded or voted on elsewhere.
static bool graded(const RunInfo& info)
{
    return info.gold.is_object() && answerGoldField(info.gold.value("spec", std::string()));
}

static json extracted(const std::string& text)
{
    const auto a = grading::extractAnswer(text, grading::Format::Math);
    return a ? json(*a) : json(nullptr);
}

static json sampleJson(const Sample& s, bool withAnswer)
{
    json j = {{"prompt_index", s.prompt_index}, {"iteration", s.iteration}, {"index", s.index},
              {"text", s.text}, {"token_ids", s.token_ids}, {"reward", s.reward},
              {"gold_reward", orNull(s.gold_reward)}, {"weight", orNull(s.weight)},
              {"accepted", orNull(s.accepted)}, {"cut_index", orNull(s.cut_index)}, {"parent", orNull(s.parent)},
              {"reward_objectives", s.reward_objectives.empty() ? json(nullptr) : json(s.reward_objectives)}};
    if (withAnswer) j["extracted_answer"] = extracted(s.text);
    return j;
}

json SessionDb::exportJson(const std::vector<int64_t>& runIds) const
{
    Impl::ReadTx snapshot(*d);
    json runs = json::array();
    for (int64_t id : d->runIds(runIds)) {
        StoredRun r = loadRun(id, true);
        int nPrompts = 0;
        for (const auto& p : r.prompts) nPrompts = std::max(nPrompts, p.index + 1);
        json prompts = json::array(), sources = json::array();
        for (int i = 0; i < nPrompts; ++i) {
            prompts.push_back(nullptr);
            sources.push_back({{"source", nullptr}, {"row", nullptr}});
        }
        for (const auto& p : r.prompts) {
            if (p.index < 0) continue;
            prompts[size_t(p.index)] = p.text;
            sources[size_t(p.index)] = {{"source", p.source.empty() ? json(nullptr) : json(p.source)},
                                        {"row", orNull(p.row)}};
        }
        json iterations = json::array(), samples = json::array(), final = json::array();
        for (const IterationEvent& e : r.iterations) {
            iterations.push_back({{"prompt_index", e.prompt_index}, {"iteration", e.iteration},
                                  {"stats", e.stats}, {"budget", e.budget}});
            for (const Sample& s : e.samples) samples.push_back(sampleJson(s, graded(r.info)));
        }
        for (const FinalAnswer& f : r.final) {
            final.push_back({{"prompt_index", f.prompt_index}, {"text", f.text}, {"token_ids", f.token_ids},
                             {"reward", f.reward}, {"gold_reward", orNull(f.gold_reward)}});
            if (graded(r.info)) final.back()["extracted_answer"] = extracted(f.text);
        }
        bool ended = !r.row.finished.empty();
        runs.push_back({{"id", r.row.id},
                        {"method", r.info.method},
                        {"status", toString(r.row.status)},
                        {"message", r.row.message.empty() ? json(nullptr) : json(r.row.message)},
                        {"config", r.info.config},
                        {"seed", r.info.seed},
                        {"base_model", r.info.base_model},
                        {"reward_model", r.info.reward_model},
                        {"gold_model", r.info.gold},
                        {"device", r.info.device},
                        {"dtype", r.info.dtype},
                        {"versions", r.info.versions},
                        {"prompt_template", r.info.prompt_template},
                        {"tags", r.info.tags},
                        {"started", r.row.started},
                        {"finished", ended ? json(r.row.finished) : json(nullptr)},
                        {"budget", ended ? json(r.budget) : json(nullptr)},
                        {"summary", r.summary.is_null() ? json(nullptr) : r.summary},
                        {"prompts", prompts},
                        {"prompt_sources", sources},
                        {"iterations", iterations},
                        {"samples", samples},
                        {"final", final}});
    }
    return {{"schema_version", currentSchemaVersion()}, {"runs", runs}};
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180: comma separated, CRLF-free "\n" lines, fields quoted when needed)

static std::string csvField(const std::string& s)
{
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

static std::string num(double v) { return std::isfinite(v) ? json(v).dump() : std::string(); }
template <class T>
static std::string optNum(const std::optional<T>& v)
{
    return v ? json(*v).dump() : std::string();
}
static std::string optBool(const std::optional<bool>& v) { return v ? (*v ? "1" : "0") : ""; }

static std::string cell(const json& v)
{
    if (v.is_null()) return {};
    if (v.is_string()) return csvField(v.get<std::string>());
    if (v.is_number_float() && !std::isfinite(v.get<double>())) return {};
    return csvField(dumpJson(v));
}

void SessionDb::exportCsvSamples(const std::vector<int64_t>& runIds, std::ostream& out) const
{
    out << "run_id,method,prompt_index,iteration,index,reward,gold_reward,weight,accepted,cut_index,parent,"
           "num_tokens,token_ids,text,reward_objectives\n";
    Impl::ReadTx snapshot(*d);
    for (int64_t id : d->runIds(runIds)) {
        RunRow row = d->runRow(id);
        for (const IterationEvent& e : d->iterations(id, true)) {
            for (const Sample& s : e.samples) {
                std::string ids;
                for (size_t i = 0; i < s.token_ids.size(); ++i) ids += (i ? " " : "") + std::to_string(s.token_ids[i]);
                out << id << ',' << csvField(row.method) << ',' << s.prompt_index << ',' << s.iteration << ','
                    << s.index << ',' << num(s.reward) << ',' << optNum(s.gold_reward) << ','
                    << optNum(s.weight) << ',' << optBool(s.accepted) << ',' << optNum(s.cut_index) << ','
                    << optNum(s.parent) << ',' << s.token_ids.size() << ',' << ids << ',' << csvField(s.text) << ',';
                for (size_t i = 0; i < s.reward_objectives.size(); ++i) out << (i ? " " : "") << num(s.reward_objectives[i]);
                out << '\n';
            }
        }
    }
}

void SessionDb::exportCsvIterations(const std::vector<int64_t>& runIds, std::ostream& out) const
{
    Impl::ReadTx snapshot(*d);
    std::vector<int64_t> ids = d->runIds(runIds);
    std::vector<std::pair<int64_t, std::vector<IterationEvent>>> all;
    std::set<std::string> keys;   // union of the methods' top-level stats keys: one column each
    for (int64_t id : ids) {
        all.emplace_back(id, d->iterations(id, true));
        for (const auto& e : all.back().second)
            if (e.stats.is_object())
                for (auto it = e.stats.begin(); it != e.stats.end(); ++it) keys.insert(it.key());
    }
    out << "run_id,method,prompt_index,iteration,num_samples,reward_mean,reward_max,budget_samples,"
           "budget_tokens,budget_flops,budget_seconds";
    for (const auto& k : keys) out << ',' << csvField("stats." + k);
    out << '\n';
    for (const auto& [id, events] : all) {
        RunRow row = d->runRow(id);
        for (const IterationEvent& e : events) {
            double sum = 0, best = -INFINITY;
            for (const Sample& s : e.samples) {
                sum += s.reward;
                best = std::max(best, s.reward);
            }
            bool any = !e.samples.empty();
            out << id << ',' << csvField(row.method) << ',' << e.prompt_index << ',' << e.iteration << ','
                << e.samples.size() << ',' << (any ? num(sum / double(e.samples.size())) : "") << ','
                << (any ? num(best) : "") << ',' << e.budget.samples << ',' << e.budget.tokens << ','
                << num(e.budget.flops) << ',' << num(e.budget.seconds);
            for (const auto& k : keys) {
                out << ',';
                if (e.stats.is_object() && e.stats.contains(k)) out << cell(e.stats.at(k));
            }
            out << '\n';
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Import: every field is checked before anything is written; one transaction for all runs.

namespace {
struct Reader {
    const std::string& source;

    const json& req(const json& o, const char* key, const std::string& ctx) const
    {
        if (!o.is_object()) throw Error(source, ctx, "must be an object");
        auto it = o.find(key);
        if (it == o.end()) throw Error(source, ctx + "." + key, "missing");
        return *it;
    }
    const json* opt(const json& o, const char* key) const
    {
        auto it = o.find(key);
        return it == o.end() || it->is_null() ? nullptr : &*it;
    }
    std::string str(const json& o, const char* key, const std::string& ctx, bool required = true) const
    {
        const json* v = required ? &req(o, key, ctx) : opt(o, key);
        if (!v || v->is_null()) {
            if (required) throw Error(source, ctx + "." + key, "must be a string");
            return {};
        }
        if (!v->is_string()) throw Error(source, ctx + "." + key, "must be a string");
        return v->get<std::string>();
    }
    double number(const json& o, const char* key, const std::string& ctx) const
    {
        const json& v = req(o, key, ctx);
        if (v.is_null()) return NAN;   // JSON has no NaN: exports write it as null
        if (!v.is_number()) throw Error(source, ctx + "." + key, "must be a number");
        return v.get<double>();
    }
    std::optional<double> optNumber(const json& o, const char* key, const std::string& ctx) const
    {
        const json* v = opt(o, key);
        if (!v) return std::nullopt;
        if (!v->is_number()) throw Error(source, ctx + "." + key, "must be a number or null");
        return v->get<double>();
    }
    int64_t integer(const json& o, const char* key, const std::string& ctx) const
    {
        const json& v = req(o, key, ctx);
        if (!v.is_number_integer()) throw Error(source, ctx + "." + key, "must be an integer");
        return v.get<int64_t>();
    }
    std::optional<int64_t> optInteger(const json& o, const char* key, const std::string& ctx) const
    {
        const json* v = opt(o, key);
        if (!v) return std::nullopt;
        if (!v->is_number_integer()) throw Error(source, ctx + "." + key, "must be an integer or null");
        return v->get<int64_t>();
    }
    // An optional array whose elements all pass `is` (absent or null: empty).
    template <class T>
    std::vector<T> list(const json& o, const char* key, const std::string& ctx, bool (json::*is)() const noexcept,
                        const char* must) const
    {
        const json* v = opt(o, key);
        std::vector<T> out;
        if (!v) return out;
        if (!v->is_array()) throw Error(source, ctx + "." + key, must);
        for (const json& x : *v) {
            if (!(x.*is)()) throw Error(source, ctx + "." + key, must);
            out.push_back(x.get<T>());
        }
        return out;
    }
    std::vector<int32_t> ids(const json& o, const char* key, const std::string& ctx) const
    {
        return list<int32_t>(o, key, ctx, &json::is_number_integer, "must be an array of token ids");
    }
    const json& array(const json& o, const char* key, const std::string& ctx) const
    {
        const json& v = req(o, key, ctx);
        if (!v.is_array()) throw Error(source, ctx + "." + key, "must be an array");
        return v;
    }
    json object(const json& o, const char* key) const
    {
        const json* v = opt(o, key);
        return v ? *v : json::object();
    }
};

struct ImportedRun {
    RunInfo info;
    std::string status, message, started, finished;
    json budget, summary;
    std::vector<PromptRecord> prompts;
    std::vector<IterationEvent> iterations;
    std::vector<FinalAnswer> final;
};

ImportedRun readRun(const Reader& rd, const json& j, const std::string& ctx)
{
    ImportedRun r;
    r.info.method = rd.str(j, "method", ctx);
    r.info.config = rd.object(j, "config");
    const json& seed = rd.req(j, "seed", ctx);
    if (!seed.is_number_integer()) throw Error(rd.source, ctx + ".seed", "must be an integer");
    r.info.seed = seed.is_number_unsigned() ? seed.get<uint64_t>() : uint64_t(seed.get<int64_t>());
    r.info.base_model = rd.object(j, "base_model");
    r.info.reward_model = rd.object(j, "reward_model");
    r.info.gold = j.value("gold_model", json(nullptr));
    r.info.device = rd.str(j, "device", ctx, false);
    r.info.dtype = rd.str(j, "dtype", ctx, false);
    r.info.versions = rd.object(j, "versions");
    r.info.prompt_template = rd.str(j, "prompt_template", ctx, false);
    if (j.contains("tags") && !j["tags"].is_null()) {   // absent before format 4
        if (!j["tags"].is_object()) throw Error(rd.source, ctx + ".tags", "must be an object");
        r.info.tags = j["tags"];
    }
    r.status = rd.str(j, "status", ctx);
    try {
        // A run exported while running has no writer here any more.
        if (runStatusFromString(r.status) == RunStatus::Running) r.status = toString(RunStatus::Interrupted);
    } catch (const Error&) {
        throw Error(rd.source, ctx + ".status", "unknown status '" + r.status + "'");
    }
    r.message = rd.str(j, "message", ctx, false);
    r.started = rd.str(j, "started", ctx, false);
    r.finished = rd.str(j, "finished", ctx, false);
    r.budget = j.value("budget", json(nullptr));
    r.summary = j.value("summary", json(nullptr));   // absent in format-1 exports
    if (!r.summary.is_null() && !r.summary.is_object()) throw Error(rd.source, ctx + ".summary", "must be an object or null");

    const json& prompts = rd.array(j, "prompts", ctx);
    const json* sources = rd.opt(j, "prompt_sources");
    for (size_t i = 0; i < prompts.size(); ++i) {
        if (prompts[i].is_null()) continue;
        if (!prompts[i].is_string())
            throw Error(rd.source, ctx + ".prompts[" + std::to_string(i) + "]", "must be a string");
        PromptRecord p{int(i), prompts[i].get<std::string>(), "", std::nullopt};
        if (sources && sources->is_array() && i < sources->size() && (*sources)[i].is_object()) {
            std::string sc = ctx + ".prompt_sources[" + std::to_string(i) + "]";
            p.source = rd.str((*sources)[i], "source", sc, false);
            p.row = rd.optInteger((*sources)[i], "row", sc);
        }
        r.prompts.push_back(std::move(p));
    }

    for (const json& it : rd.array(j, "iterations", ctx)) {
        std::string ic = ctx + ".iterations[" + std::to_string(r.iterations.size()) + "]";
        IterationEvent e;
        e.method = r.info.method;
        e.prompt_index = int(rd.integer(it, "prompt_index", ic));
        e.iteration = int(rd.integer(it, "iteration", ic));
        e.stats = rd.object(it, "stats");
        if (const json* b = rd.opt(it, "budget")) {
            if (!b->is_object()) throw Error(rd.source, ic + ".budget", "must be an object");
            e.budget = b->get<Budget>();
        }
        r.iterations.push_back(std::move(e));
    }

    // Samples are listed iteration by iteration, in the iterations' order: walk both lists.
    const json& samples = rd.array(j, "samples", ctx);
    size_t k = 0;
    for (size_t i = 0; i < samples.size(); ++i) {
        std::string sc = ctx + ".samples[" + std::to_string(i) + "]";
        const json& sj = samples[i];
        Sample s;
        s.prompt_index = int(rd.integer(sj, "prompt_index", sc));
        s.iteration = int(rd.integer(sj, "iteration", sc));
        s.index = int(rd.integer(sj, "index", sc));
        s.text = rd.str(sj, "text", sc);
        s.token_ids = rd.ids(sj, "token_ids", sc);
        s.reward = rd.number(sj, "reward", sc);
        s.gold_reward = rd.optNumber(sj, "gold_reward", sc);
        s.weight = rd.optNumber(sj, "weight", sc);
        if (const json* a = rd.opt(sj, "accepted")) {
            if (!a->is_boolean()) throw Error(rd.source, sc + ".accepted", "must be true, false or null");
            s.accepted = a->get<bool>();
        }
        if (auto c = rd.optInteger(sj, "cut_index", sc)) s.cut_index = int(*c);
        if (auto p = rd.optInteger(sj, "parent", sc)) s.parent = int(*p);
        s.reward_objectives =
            rd.list<double>(sj, "reward_objectives", sc, &json::is_number, "must be an array of numbers or null");
        auto fits = [&](const IterationEvent& e) {
            return e.iteration == s.iteration && (e.prompt_index < 0 || e.prompt_index == s.prompt_index);
        };
        while (k < r.iterations.size() && !fits(r.iterations[k])) ++k;
        if (k == r.iterations.size())
            throw Error(rd.source, sc, "no iteration (prompt_index " + std::to_string(s.prompt_index) + ", iteration " +
                                           std::to_string(s.iteration) + ") listed for it, in order");
        r.iterations[k].samples.push_back(std::move(s));
    }

    for (const json& fj : rd.array(j, "final", ctx)) {
        std::string fc = ctx + ".final[" + std::to_string(r.final.size()) + "]";
        FinalAnswer f;
        f.prompt_index = int(rd.integer(fj, "prompt_index", fc));
        f.text = rd.str(fj, "text", fc);
        f.token_ids = rd.ids(fj, "token_ids", fc);
        f.reward = rd.number(fj, "reward", fc);
        f.gold_reward = rd.optNumber(fj, "gold_reward", fc);
        r.final.push_back(std::move(f));
    }
    return r;
}
} // namespace

std::vector<int64_t> SessionDb::importJson(const json& doc, const std::string& source)
{
    d->requireWritable("importJson");
    Reader rd{source};
    if (!doc.is_object()) throw Error(source, "", "not a Rudder export (expected a JSON object)");
    int64_t version = rd.integer(doc, "schema_version", "");
    if (version > currentSchemaVersion())
        throw Error(source, "schema_version",
                    "export format " + std::to_string(version) + " is newer than this build reads (" +
                        std::to_string(currentSchemaVersion()) + ")");
    const json& runs = rd.array(doc, "runs", "");
    std::vector<ImportedRun> parsed;
    for (size_t i = 0; i < runs.size(); ++i) parsed.push_back(readRun(rd, runs[i], "runs[" + std::to_string(i) + "]"));

    std::vector<int64_t> ids;
    Impl::Tx tx(*d);
    for (const ImportedRun& r : parsed) {
        auto s = d->stmt("INSERT INTO runs (method, config, seed, base_model, reward_model, gold_model, device, dtype, "
                         "versions, prompt_template, started, finished, status, message, budget, summary, tags) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
        s.bind(1, r.info.method).bind(2, dumpJson(r.info.config)).bind(3, int64_t(r.info.seed))
            .bind(4, dumpJson(r.info.base_model)).bind(5, dumpJson(r.info.reward_model));
        if (r.info.gold.is_null()) s.bindNull(6); else s.bind(6, dumpJson(r.info.gold));
        s.bind(7, r.info.device).bind(8, r.info.dtype).bind(9, dumpJson(r.info.versions)).bind(10, r.info.prompt_template)
            .bind(11, r.started.empty() ? nowIso8601() : r.started);
        if (r.finished.empty()) s.bindNull(12); else s.bind(12, r.finished);
        s.bind(13, r.status).bind(14, r.message);
        if (r.budget.is_null()) s.bindNull(15); else s.bind(15, dumpJson(r.budget));
        if (r.summary.is_null()) s.bindNull(16); else s.bind(16, dumpJson(r.summary));
        if (r.info.tags.empty()) s.bindNull(17); else s.bind(17, dumpJson(r.info.tags));
        s.run();
        int64_t id = sqlite3_last_insert_rowid(d->db);
        ids.push_back(id);
        for (const PromptRecord& p : r.prompts) {
            auto ps = d->stmt("INSERT INTO prompts (run_id, prompt_index, text, source, source_row) "
                              "VALUES (?1, ?2, ?3, ?4, ?5)");
            ps.bind(1, id).bind(2, p.index).bind(3, p.text).bind(4, p.source).bind(5, p.row);
            ps.run();
        }
        for (const IterationEvent& e : r.iterations) d->insertIteration(id, e);
        for (const FinalAnswer& f : r.final) {
            std::string blob = toBlob(f.token_ids);
            auto fs = d->stmt("INSERT OR REPLACE INTO finals (run_id, prompt_index, text, token_ids, reward, gold_reward) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            fs.bind(1, id).bind(2, f.prompt_index).bind(3, f.text).bindBlob(4, blob.data(), blob.size())
                .bind(5, f.reward).bind(6, f.gold_reward);
            fs.run();
        }
    }
    tx.commit();
    return ids;
}

} // namespace rudder
