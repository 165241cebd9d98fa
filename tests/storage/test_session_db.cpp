// Sessions in SQLite: schema and round trip, refusal of newer/corrupt files (bytes unchanged),
// crash safety under SIGKILL with resume, large-run speed, JSON/CSV export and import.
#include <QtTest>

#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "fake_method.h"
#include "rudder/error.h"
#include "rudder/run_recorder.h"
#include "rudder/session_db.h"
#include "rudder/sha256.h"

using rudder::RunStatus;
using rudder::SessionDb;
using nlohmann::json;

namespace {

// Raw SQLite access, to look at the file without our own code in the way.
struct Raw {
    sqlite3* db = nullptr;
    explicit Raw(const std::string& path, bool readOnly = true)
    {
        sqlite3_open_v2(path.c_str(), &db, readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, nullptr);
    }
    ~Raw() { sqlite3_close(db); }
    std::string text(const std::string& sql)
    {
        sqlite3_stmt* s = nullptr;
        std::string out;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return "ERROR " + std::string(sqlite3_errmsg(db));
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return out;
    }
    bool exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK; }
};

std::string fileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

rudder::RunInfo fakeInfo(uint64_t seed)
{
    rudder::RunInfo info;
    info.method = "fake";
    info.seed = seed;
    info.config = {{"samples", 8}, {"temperature", 0.7}, {"nested", {{"a", {1, 2, 3}}}}};
    info.base_model = {{"directory", "/models/tiny-llama/"}, {"architecture", "LlamaForCausalLM"},
                       {"config_sha256", rudder::sha256Hex("{}")}, {"weights_fingerprint", "abc"}};
    info.reward_model = {{"directory", "/models/tiny-rm"}, {"architecture", "LlamaForSequenceClassification"}};
    info.device = "cpu";
    info.dtype = "fp32";
    info.versions = {{"rudder", RUDDER_VERSION}, {"torch", "1.13.1"}};
    info.prompt_template = "chatml";
    return info;
}

// A finished run of the fake method: `iterations` events of K samples, finals, budget.
int64_t writeRun(SessionDb& db, uint64_t seed, int iterations, int K)
{
    int64_t run = db.createRun(fakeInfo(seed));
    db.addPrompt(run, 0, "Write a verse, about \"light\".", "kjv.jsonl", 41);
    double u = 0;
    rudder::Budget budget;
    for (int k = 0; k < iterations; ++k) {
        auto e = fake::iteration(seed, k, K, u);
        u = fake::stateAfter({e});
        budget = e.budget;
        db.appendIteration(run, e);
    }
    rudder::FinalAnswer f;
    f.text = "x=" + std::to_string(u);
    f.token_ids = {1, -2, 70000};
    f.reward = -(u - 3) * (u - 3);
    db.setFinal(run, {f});
    db.finishRun(run, RunStatus::Done, "", budget);
    return run;
}

json eventsJson(const std::vector<rudder::IterationEvent>& events)
{
    json j = json::array();
    for (const auto& e : events) j.push_back(e);
    return j;
}

// RFC 4180 reader for checking our CSV (quoted fields may hold commas, quotes, newlines).
std::vector<std::vector<std::string>> parseCsv(const std::string& text)
{
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"') quoted = true;
        else if (c == ',') row.push_back(field), field.clear();
        else if (c == '\n') row.push_back(field), field.clear(), rows.push_back(row), row.clear();
        else field += c;
    }
    if (!field.empty() || !row.empty()) row.push_back(field), rows.push_back(row);
    return rows;
}

std::set<std::string> keys(const json& o)
{
    std::set<std::string> k;
    for (auto it = o.begin(); it != o.end(); ++it) k.insert(it.key());
    return k;
}

} // namespace

class TestSessionDb : public QObject {
    Q_OBJECT
    QTemporaryDir dir;
    std::string path(const char* name) { return dir.filePath(name).toStdString(); }

    // Opening must fail with an Error naming the file, and leave it byte-for-byte unchanged.
    void expectRefused(const std::string& file, const char* expected)
    {
        std::string before = fileBytes(file);
        for (auto mode : {SessionDb::Mode::ReadWrite, SessionDb::Mode::ReadOnly}) {
            try {
                SessionDb::open(file, mode);
                QFAIL(qPrintable(QString("opened %1").arg(QString::fromStdString(file))));
            } catch (const rudder::Error& e) {
                QString m = e.what();
                QVERIFY2(m.contains(QString::fromStdString(file)), qPrintable(m));
                QVERIFY2(m.contains(expected), qPrintable(m));
            }
            QVERIFY(fileBytes(file) == before);
        }
    }

private slots:
    void initTestCase() { QVERIFY(dir.isValid()); }

    void schemaAndRoundTrip()
    {
        std::string file = path("round.rsession");
        int64_t run;
        std::vector<rudder::IterationEvent> written;
        {
            auto db = SessionDb::open(file);
            run = db.createRun(fakeInfo(7));
            db.addPrompt(run, 0, "In the beginning", "kjv.jsonl", 3);
            db.addPrompt(run, 1, "typed prompt");
            for (int k = 0; k < 3; ++k) written.push_back(fake::iteration(7, k, 5, 0.1 * k));
            // A batched event covering two prompts, a NaN reward, and text cut inside a
            // UTF-8 sequence (byte-level decoding does that).
            written[2].prompt_index = -1;
            written[2].samples[1].prompt_index = 1;
            written[2].samples[2].reward = NAN;
            written[2].samples[3].text = "cut \xe2\x80";
            for (const auto& e : written) db.appendIteration(run, e);
            rudder::FinalAnswer f0{0, "best", {5, -6}, 0.5, 0.25}, f1{1, "other", {}, -1.5, std::nullopt};
            db.setFinal(run, {f0, f1});
            db.finishRun(run, RunStatus::Done, "", written.back().budget);
        }
        Raw raw(file);
        QCOMPARE(raw.text("PRAGMA user_version"), std::to_string(SessionDb::currentSchemaVersion()));
        QCOMPARE(raw.text("PRAGMA journal_mode"), std::string("wal"));
        QCOMPARE(raw.text("PRAGMA application_id"), std::to_string(0x52756472));
        QCOMPARE(raw.text("SELECT count(*) FROM samples"), std::string("15"));

        auto db = SessionDb::open(file, SessionDb::Mode::ReadOnly);
        auto rows = db.listRuns();
        QCOMPARE(rows.size(), size_t(1));
        QCOMPARE(rows[0].id, run);
        QCOMPARE(rows[0].status, RunStatus::Done);
        QCOMPARE(rows[0].method, std::string("fake"));
        QCOMPARE(rows[0].base_model, std::string("tiny-llama"));
        QCOMPARE(rows[0].reward_model, std::string("tiny-rm"));
        QCOMPARE(rows[0].seed, uint64_t(7));
        QCOMPARE(rows[0].iterations, int64_t(3));
        QVERIFY(rows[0].best_final_reward && *rows[0].best_final_reward == 0.5);
        QVERIFY(!rows[0].finished.empty() && rows[0].started <= rows[0].finished);

        auto r = db.loadRun(run);
        QCOMPARE(r.info.config, fakeInfo(7).config);
        QCOMPARE(r.info.base_model, fakeInfo(7).base_model);
        QCOMPARE(r.info.versions, fakeInfo(7).versions);
        QCOMPARE(r.info.prompt_template, std::string("chatml"));
        QVERIFY(r.info.gold.is_null());
        QCOMPARE(r.prompts.size(), size_t(2));
        QCOMPARE(r.prompts[0].source, std::string("kjv.jsonl"));
        QCOMPARE(*r.prompts[0].row, int64_t(3));
        QVERIFY(!r.prompts[1].row);
        QCOMPARE(r.budget.tokens, written.back().budget.tokens);
        QCOMPARE(r.final.size(), size_t(2));
        QCOMPARE(r.final[0].token_ids, (std::vector<int32_t>{5, -6}));
        QCOMPARE(*r.final[0].gold_reward, 0.25);
        QVERIFY(!r.final[1].gold_reward);
        QVERIFY(std::isnan(r.iterations[2].samples[2].reward));
        QCOMPARE(r.iterations[2].samples[3].text, std::string("cut \xe2\x80"));
        // Everything else, bit for bit (JSON has no NaN: compare without that reward).
        r.iterations[2].samples[2].reward = written[2].samples[2].reward = 0;
        QVERIFY(eventsJson(r.iterations) == eventsJson(written));
        auto light = db.loadRun(run, false);   // curves only
        QCOMPARE(light.iterations.size(), size_t(3));
        QVERIFY(light.iterations[0].samples.empty());
        QCOMPARE(light.iterations[1].stats, written[1].stats);
    }

    // Format 2 keeps the end-of-run summary; a format-1 file (no summary column) is upgraded in
    // place when opened read-write, its runs intact, and refused read-only until then.
    // RunRecorder (the one writer of the GUI, the CLI and the tests): a resume checks the loaded
    // models against the recorded ones by fingerprint (a copied directory still matches), names
    // what differs, and refuses a done run; the request comes back as it was started.
    void recorderResumesOnlyWithTheRunsModels()
    {
        const std::string path = dir.filePath("recorder.sqlite").toStdString();
        auto model = [](const std::string& dir, const std::string& fp) {
            return nlohmann::json{{"spec", dir}, {"directory", dir}, {"weights_fingerprint", fp}, {"config_sha256", "c"}};
        };
        const nlohmann::json prov = {{"base_model", model("/m/lm", "aaaa")},
                                     {"reward_model", model("/m/rm", "bbbb")},
                                     {"gold", {{"spec", "lexicon"}, {"name", "lexicon"}}},
                                     {"dtype", "fp32"}};
        rudder::RunRequest req;
        req.method = "bon";
        req.config = {{"n", 4}};
        req.seed = 7;
        req.prompts = {"a", "b"};
        rudder::SessionDb db = rudder::SessionDb::open(path);
        int64_t id;
        {
            rudder::RunRecorder rec = rudder::RunRecorder::start(db, req, prov, {{0, "a", "d.jsonl", 3}, {1, "b", "d.jsonl", 5}});
            id = rec.id();
            rec.append(fake::iteration(1, 0, 2, 0.0));
            rudder::RunResult r;
            r.status = rudder::RunStatus::Cancelled;
            rec.finish(r);
        }
        const rudder::StoredRun s = db.loadRun(id, false);
        QCOMPARE(s.prompts[1].row.value_or(-1), int64_t(5));
        QCOMPARE(rudder::RunRecorder::sources(s.info).reward, std::string("/m/rm"));
        QCOMPARE(rudder::RunRecorder::sources(s.info).gold, std::string("lexicon"));
        QCOMPARE(rudder::RunRecorder::modelDifferences(s.info, prov), std::string());
        nlohmann::json copied = prov;   // same weights in another directory
        copied["reward_model"] = model("/elsewhere/rm", "bbbb");
        QCOMPARE(rudder::RunRecorder::modelDifferences(s.info, copied), std::string());
        nlohmann::json other = prov;
        other["reward_model"] = model("/m/rm2", "cccc");
        const std::string diff = rudder::RunRecorder::modelDifferences(s.info, other);
        QVERIFY2(diff.find("reward: the run used /m/rm") != std::string::npos, diff.c_str());
        QVERIFY(diff.find("base model") == std::string::npos);
        other = prov;
        other["gold"] = nullptr;
        QVERIFY(rudder::RunRecorder::modelDifferences(s.info, other).find("gold reward") != std::string::npos);
        other = prov;
        other["dtype"] = "bf16";
        QVERIFY(rudder::RunRecorder::modelDifferences(s.info, other).find("dtype") != std::string::npos);
        copied["base_model"] = model("/m/lm", "zzzz");
        try {
            rudder::RunRecorder::resume(db, id, copied);
            QFAIL("resumed with other base weights");
        } catch (const rudder::UsageError& e) {
            QVERIFY2(std::string(e.what()).find("base model") != std::string::npos, e.what());
        }
        {
            rudder::RunRecorder rec = rudder::RunRecorder::resume(db, id, prov);
            QCOMPARE(rec.request().seed, uint64_t(7));
            QCOMPARE(rec.request().prompts.size(), size_t(2));
            QCOMPARE(rec.resumeState()->completed.size(), size_t(1));
            rudder::RunResult r;
            r.status = rudder::RunStatus::Done;
            r.final = {rudder::FinalAnswer{0, "x", {1}, 0.5, std::nullopt}};
            rec.finish(r);
        }
        QCOMPARE(db.loadRun(id, false).summary["answers"]["mean_reward"].get<double>(), 0.5);
        QVERIFY_THROWS_EXCEPTION(rudder::UsageError, rudder::RunRecorder::resume(db, id, prov));   // done
    }

    void summaryKeptAndFormat1Upgraded()
    {
        const std::string file = dir.filePath("v1.rsession").toStdString();
        const json summary = {{"text_metrics", {{"mean_diversity", 0.75}}}, {"prompts", {{{"kl_to_base", 1.5}}}}};
        int64_t run = 0;
        {
            auto db = SessionDb::open(file);
            run = writeRun(db, 3, 2, 4);
            db.finishRun(run, RunStatus::Done, "", {}, summary);
            QCOMPARE(db.loadRun(run).summary, summary);
            const json doc = db.exportJson({});
            QCOMPARE(doc["runs"][0]["summary"], summary);
        }
        QCOMPARE(SessionDb::currentSchemaVersion(), 4);
        {   // Turn it into what a format-1 build wrote.
            Raw raw(file, false);
            QVERIFY(raw.exec("ALTER TABLE runs DROP COLUMN summary; ALTER TABLE samples DROP COLUMN objectives; "
                             "ALTER TABLE runs DROP COLUMN tags; PRAGMA user_version = 1"));
        }
        QVERIFY_THROWS_EXCEPTION(rudder::Error, SessionDb::open(file, SessionDb::Mode::ReadOnly));
        {
            auto db = SessionDb::open(file);
            QCOMPARE(Raw(file).text("PRAGMA user_version"), std::string("4"));
            QVERIFY(db.loadRun(run).info.tags.empty());   // format 1 had none
            rudder::StoredRun r = db.loadRun(run);
            QCOMPARE(r.iterations.size(), size_t(2));
            QVERIFY(r.summary.is_null());
            for (const auto& e : r.iterations)
                for (const auto& s : e.samples) QVERIFY(s.reward_objectives.empty());   // format 1 had none
            // The upgraded file takes new runs with objectives.
            const int64_t again = writeRun(db, 4, 1, 7);
            QCOMPARE(db.loadRun(again).iterations[0].samples[6].reward_objectives.size(), size_t(3));
        }
    }

    // Tags (format 4): stored with the run, listed, exported and imported; a damaged value is refused.
    void tagsRoundTrip()
    {
        const std::string file = path("tags.rsession");
        auto db = SessionDb::open(file);
        auto info = fakeInfo(5);
        info.tags = {{"sweep", {{"name", "s1"}, {"params", {{"sigma", 2.0}}}, {"role", "point"}}}};
        const int64_t run = db.createRun(info);
        const int64_t plain = db.createRun(fakeInfo(6));
        QCOMPARE(db.loadRun(run).info.tags, info.tags);
        QVERIFY(db.loadRun(plain).info.tags.empty());
        QCOMPARE(db.listRuns()[0].tags, info.tags);
        const json doc = db.exportJson({run});
        QCOMPARE(doc["runs"][0]["tags"], info.tags);
        const auto ids = db.importJson(doc);
        QCOMPARE(db.loadRun(ids[0]).info.tags, info.tags);
        json bad = doc;
        bad["runs"][0]["tags"] = "sweep";
        QVERIFY_THROWS_EXCEPTION(rudder::Error, db.importJson(bad));
        { Raw raw(file, false); QVERIFY(raw.exec("UPDATE runs SET tags = '[1]' WHERE id = " + std::to_string(plain))); }
        QVERIFY_THROWS_EXCEPTION(rudder::UsageError, db.loadRun(plain));
    }

    void seedKeepsAll64Bits()
    {
        auto db = SessionDb::open(path("seed.rsession"));
        auto info = fakeInfo(0xfedcba9876543210ull);
        int64_t run = db.createRun(info);
        QCOMPARE(db.loadRun(run).info.seed, uint64_t(0xfedcba9876543210ull));
        QCOMPARE(db.exportJson()["runs"][0]["seed"].get<uint64_t>(), uint64_t(0xfedcba9876543210ull));
    }

    void readOnlyNeverWrites()
    {
        std::string file = path("ro.rsession");
        { auto db = SessionDb::open(file); writeRun(db, 1, 2, 4); }
        std::string before = fileBytes(file);
        auto db = SessionDb::open(file, SessionDb::Mode::ReadOnly);
        QCOMPARE(db.listRuns().size(), size_t(1));
        QVERIFY_THROWS_EXCEPTION(rudder::Error, db.createRun(fakeInfo(2)));
        QVERIFY(fileBytes(file) == before);
        QVERIFY_THROWS_EXCEPTION(rudder::UsageError, SessionDb::open(path("missing.rsession"), SessionDb::Mode::ReadOnly));
        QVERIFY(!QFile::exists(dir.filePath("missing.rsession")));
    }

    void newerFormatRefusedUntouched()
    {
        std::string file = path("newer.rsession");
        { auto db = SessionDb::open(file); writeRun(db, 1, 2, 4); }
        { Raw raw(file, false); QVERIFY(raw.exec("PRAGMA user_version = 99")); }
        std::string hash = rudder::sha256File(file);
        expectRefused(file, "newer");
        QCOMPARE(rudder::sha256File(file), hash);
        QCOMPARE(Raw(file).text("PRAGMA user_version"), std::string("99"));
    }

    void corruptFilesRefusedUntouched()
    {
        std::mt19937 rng(1234);
        std::string random(1 << 16, '\0');
        for (char& c : random) c = char(rng() & 0xff);
        std::string file = path("random.rsession");
        std::ofstream(file, std::ios::binary) << random;
        expectRefused(file, "not a SQLite database");

        std::string empty = path("empty.rsession");
        std::ofstream(empty, std::ios::binary).flush();
        expectRefused(empty, "empty");

        std::string text = path("notes.txt");
        std::ofstream(text) << "just some notes\n";
        expectRefused(text, "not a SQLite database");

        std::string other = path("other.sqlite");
        { sqlite3* db; sqlite3_open(other.c_str(), &db); sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", nullptr, nullptr, nullptr); sqlite3_close(db); }
        expectRefused(other, "not a Rudder session");

        // A real session, cut in half.
        std::string whole = path("whole.rsession");
        { auto db = SessionDb::open(whole); writeRun(db, 3, 20, 50); }
        std::string bytes = fileBytes(whole);
        QVERIFY(bytes.size() > 40000);
        std::string cut = path("cut.rsession");
        std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
        expectRefused(cut, "truncated");
        std::string header = path("header.rsession");
        std::ofstream(header, std::ios::binary) << bytes.substr(0, 60);
        expectRefused(header, "truncated");

        // Garbage over interior pages, size kept: opening or checking must say so, never crash.
        std::string damaged = path("damaged.rsession");
        std::string d = bytes;
        for (size_t i = 8192; i < d.size() - 4096; ++i) d[i] = char(rng() & 0xff);
        std::ofstream(damaged, std::ios::binary) << d;
        bool reported = false;
        try {
            auto db = SessionDb::open(damaged, SessionDb::Mode::ReadOnly);
            reported = db.integrityCheck() != "ok";
            try { db.loadRun(db.listRuns().at(0).id); } catch (const rudder::Error&) { reported = true; }
        } catch (const rudder::Error& e) {
            reported = QString(e.what()).contains(QString::fromStdString(damaged));
        }
        QVERIFY(reported);
    }

    // Values of the wrong type or range (a damaged or hand-edited file) are refused as bad
    // input naming the file and table.column, before anything indexes with them; the file is
    // left as it was.
    void damagedValuesAreRefusedNamingTheField()
    {
        const std::string whole = path("values.rsession");
        int64_t run;
        { auto db = SessionDb::open(whole); run = writeRun(db, 5, 3, 6); }
        const std::string bytes = fileBytes(whole);
        {   // negative control: the unmodified file loads
            auto db = SessionDb::open(whole, SessionDb::Mode::ReadOnly);
            QCOMPARE(db.loadRun(run).iterations.size(), size_t(3));
        }
        struct Case { std::string sql; const char* field; };
        const Case cases[] = {
            {"UPDATE iterations SET stats = '['", "iterations.stats"},
            {"UPDATE iterations SET stats = '\"x\"'", "iterations.stats"},
            {"UPDATE iterations SET stats = '" + std::string(300, '[') + "'", "iterations.stats"},
            {"UPDATE iterations SET prompt_index = 1000000000", "iterations.prompt_index"},
            {"UPDATE iterations SET iteration = -5", "iterations.iteration"},
            {"UPDATE iterations SET budget_samples = 'many'", "iterations.budget_samples"},
            {"UPDATE samples SET token_ids = x'010203'", "samples.token_ids"},
            {"UPDATE samples SET prompt_index = 99999999", "samples.prompt_index"},
            {"UPDATE samples SET reward = 'abc'", "samples.reward"},
            {"UPDATE samples SET accepted = 7", "samples.accepted"},
            {"UPDATE samples SET cut_index = 4294967296", "samples.cut_index"},
            {"UPDATE runs SET config = '[1, 2]'", "runs.config"},
            {"UPDATE runs SET status = 'bogus'", "runs.status"},
            {"UPDATE runs SET budget = '{\"samples\": \"x\"}'", "runs.budget"},
            {"UPDATE runs SET summary = '{'", "runs.summary"},
            {"UPDATE runs SET seed = 'zero'", "runs.seed"},
            {"UPDATE prompts SET prompt_index = 3", "prompts.prompt_index"},
            {"UPDATE finals SET token_ids = x'ff'", "finals.token_ids"},
            {"UPDATE samples SET objectives = x'0102'", "samples.objectives"},
            {"UPDATE finals SET prompt_index = 9", "finals.prompt_index"},
        };
        int n = 0;
        for (const Case& c : cases) {
            const std::string file = path(("value-" + std::to_string(n++) + ".rsession").c_str());
            std::ofstream(file, std::ios::binary) << bytes;
            { Raw raw(file, false); QVERIFY2(raw.exec(c.sql), c.sql.c_str()); }
            const std::string before = fileBytes(file);
            try {
                auto db = SessionDb::open(file, SessionDb::Mode::ReadOnly);
                db.loadRun(run);
                QFAIL(qPrintable(QString("loaded after: %1").arg(QString::fromStdString(c.sql))));
            } catch (const rudder::UsageError& e) {
                const QString m = e.what();
                QVERIFY2(m.contains(QString::fromStdString(file)) && m.contains(c.field) && m.contains("damaged"),
                         qPrintable(QString("%1 -> %2").arg(QString::fromStdString(c.sql), m)));
            }
            QVERIFY(fileBytes(file) == before);
        }
    }

    // A seeded byte fuzzer over a real session: every mutant opens and reads, or is refused
    // with a rudder::Error naming the file; never a crash, another exception type, or a write.
    void fuzzedSessionBytesNeverCrash()
    {
        const std::string whole = path("fuzz-whole.rsession");
        { auto db = SessionDb::open(whole); writeRun(db, 7, 6, 12); writeRun(db, 8, 2, 5); }
        const std::string bytes = fileBytes(whole);
        std::mt19937 rng(20261129);
        const std::string file = path("fuzz.rsession");
        int readable = 0, refused = 0;
        for (int m = 0; m < 1000; ++m) {
            std::string d = bytes;
            switch (m % 4) {
            case 0: d.resize(100 + rng() % (d.size() - 100)); break;                 // truncated
            case 1: for (int i = 0; i < 8; ++i) d[100 + rng() % (d.size() - 100)] = char(rng()); break;
            case 2: {                                                                  // a garbage block
                size_t at = rng() % (d.size() - 512);
                for (size_t i = 0; i < 512; ++i) d[at + i] = char(rng());
                break;
            }
            case 3: d[16 + rng() % 84] = char(rng()); break;                          // the header
            }
            QFile::remove(QString::fromStdString(file));
            std::ofstream(file, std::ios::binary) << d;
            try {
                auto db = SessionDb::open(file, SessionDb::Mode::ReadOnly);
                for (const auto& r : db.listRuns()) db.loadRun(r.id);
                db.exportJson();
                ++readable;
            } catch (const rudder::Error& e) {
                QVERIFY2(QString(e.what()).contains(QString::fromStdString(file)), e.what());
                ++refused;
            } catch (const std::exception& e) {
                QFAIL(qPrintable(QString("mutant %1: %2").arg(m).arg(e.what())));
            }
            QVERIFY2(fileBytes(file) == d, qPrintable(QString("mutant %1 was written to").arg(m)));
        }
        qInfo("session fuzz: %d mutants readable, %d refused with a message", readable, refused);
        QVERIFY(refused > 250);   // the mutations do reach the reader
    }

    void closedUnfinishedRunIsInterrupted()
    {
        std::string file = path("closed.rsession");
        int64_t run;
        {
            auto db = SessionDb::open(file);
            run = db.createRun(fakeInfo(5));
            db.appendIteration(run, fake::iteration(5, 0, 3, 0));
            // A reader in the same (live) process sees it running.
            QCOMPARE(SessionDb::open(file, SessionDb::Mode::ReadOnly).listRuns()[0].status, RunStatus::Running);
        }
        QCOMPARE(SessionDb::open(file, SessionDb::Mode::ReadOnly).listRuns()[0].status, RunStatus::Interrupted);
        auto db = SessionDb::open(file);
        QVERIFY_THROWS_EXCEPTION(rudder::Error, db.appendIteration(run, fake::iteration(5, 1, 3, 0)));
        db.resumeRun(run);
        db.appendIteration(run, fake::iteration(5, 1, 3, 0));
        QCOMPARE(db.loadCompletedIterations(run).size(), size_t(2));
        QCOMPARE(db.listRuns()[0].status, RunStatus::Running);
    }

    // A run left `running` by a dead writer with a damaged value: opening the file for writing
    // refuses it with a message (it crashed: a statement outlived its database).
    void damagedDeadWriterRunIsRefusedNotACrash()
    {
        const std::string file = path("damaged-running.rsession");
        {
            auto db = SessionDb::open(file);
            const int64_t run = db.createRun(fakeInfo(5));
            db.appendIteration(run, fake::iteration(5, 0, 3, 0));
        }
        // Left `running` by a writer that is gone, then damaged.
        for (const char* damage : {"UPDATE runs SET status = 'running', writer_host = 'gone', base_model = '{'",
                                   "UPDATE runs SET status = 'running', writer_host = 'gone', config = '[1,'",
                                   "UPDATE runs SET status = 'running', writer_host = 'gone', seed = 'x'"}) {
            {
                Raw raw(file, false);
                raw.text(damage);
            }
            try {
                auto db = SessionDb::open(file);
                QFAIL("a damaged run row was accepted");
            } catch (const rudder::UsageError& e) {
                QVERIFY2(QString(e.what()).contains("damaged session"), e.what());
                QVERIFY(QString(e.what()).contains(QString::fromStdString(file)));
            }
        }
    }

    // The guarantee: SIGKILL mid-run leaves a sound file with whole iterations only,
    // the run reads `interrupted`, and resuming it gives what an uninterrupted run gives.
    void sigkillLeavesWholeIterationsAndResumes()
    {
        const std::string file = path("killed.rsession");
        const int K = 2000;
        const uint64_t seed = 99;
        QProcess child;
        child.start(RUDDER_BINARY_DIR "/tests/storage/session_writer",
                    {QString::fromStdString(file), "100000", QString::number(K), QString::number(seed)});
        QVERIFY(child.waitForStarted());
        int lastReported = -1;
        QByteArray out;
        auto consume = [&] {
            out += child.readAllStandardOutput();
            int nl;
            while ((nl = out.indexOf('\n')) >= 0) {
                QByteArray line = out.left(nl);
                out.remove(0, nl + 1);
                if (line.startsWith("iter ")) lastReported = line.mid(5).toInt();
            }
        };
        while (lastReported < 4) {
            QVERIFY2(child.state() == QProcess::Running, child.readAllStandardError().constData());
            child.waitForReadyRead(20000);
            consume();
        }
        {   // Negative control: a live writer is `running`, and nobody else may take its run over.
            auto reader = SessionDb::open(file, SessionDb::Mode::ReadOnly);
            QCOMPARE(reader.listRuns().at(0).status, RunStatus::Running);
            auto other = SessionDb::open(file);
            QCOMPARE(other.listRuns().at(0).status, RunStatus::Running);
            QVERIFY_THROWS_EXCEPTION(rudder::Error, other.resumeRun(other.listRuns().at(0).id));
        }
        child.kill();   // SIGKILL
        QVERIFY(child.waitForFinished(20000));
        QCOMPARE(child.exitStatus(), QProcess::CrashExit);
        consume();
        QVERIFY(lastReported >= 4);

        int64_t run;
        std::vector<rudder::IterationEvent> done;
        {
            auto db = SessionDb::open(file, SessionDb::Mode::ReadOnly);
            QCOMPARE(db.integrityCheck(), std::string("ok"));
            auto rows = db.listRuns();
            QCOMPARE(rows.size(), size_t(1));
            run = rows[0].id;
            QCOMPARE(rows[0].status, RunStatus::Interrupted);
            QVERIFY(QString::fromStdString(rows[0].message).contains("ended before the run finished"));
            done = db.loadCompletedIterations(run);
        }
        QCOMPARE(Raw(file).text("SELECT status FROM runs"), std::string("running"));   // read-only: reported only
        // Every reported iteration is there; at most one more committed before the kill.
        int m = int(done.size());
        qInfo("killed after iteration %d was reported; %d whole iterations stored", lastReported, m);
        QVERIFY(m >= lastReported + 1 && m <= lastReported + 2);
        double u = 0;
        for (int k = 0; k < m; ++k) {
            auto expected = fake::iteration(seed, k, K, u);
            u = fake::stateAfter({expected});
            QCOMPARE(done[size_t(k)].iteration, k);
            QCOMPARE(done[size_t(k)].samples.size(), size_t(K));
            QVERIFY(json(done[size_t(k)]) == json(expected));
        }
        QCOMPARE(Raw(file).text("SELECT count(*) FROM samples"), std::to_string(m * K));   // no partial iteration

        // Resume: rebuild the state from the stored events and go on to T iterations.
        const int T = m + 3;
        {
            auto db = SessionDb::open(file);
            // Opening writes nothing (a refused command must leave the file as it was): the row
            // still says running, and reads as interrupted.
            QCOMPARE(Raw(file).text("SELECT status FROM runs"), std::string("running"));
            QCOMPARE(db.listRuns().front().status, RunStatus::Interrupted);
            db.resumeRun(run);
            auto completed = db.loadCompletedIterations(run);
            double state = fake::stateAfter(completed);
            for (int k = int(completed.size()); k < T; ++k) {
                auto e = fake::iteration(seed, k, K, state);
                state = fake::stateAfter({e});
                db.appendIteration(run, e);
            }
            db.finishRun(run, RunStatus::Done, "", {});
        }
        std::string refFile = path("uninterrupted.rsession");
        int64_t ref;
        {
            auto db = SessionDb::open(refFile);
            ref = db.createRun(fakeInfo(seed));
            double state = 0;
            for (int k = 0; k < T; ++k) {
                auto e = fake::iteration(seed, k, K, state);
                state = fake::stateAfter({e});
                db.appendIteration(ref, e);
            }
        }
        auto resumed = SessionDb::open(file, SessionDb::Mode::ReadOnly).loadCompletedIterations(run);
        auto straight = SessionDb::open(refFile, SessionDb::Mode::ReadOnly).loadCompletedIterations(ref);
        QCOMPARE(resumed.size(), size_t(T));
        QVERIFY(eventsJson(resumed) == eventsJson(straight));
        QCOMPARE(SessionDb::open(file, SessionDb::Mode::ReadOnly).listRuns()[0].status, RunStatus::Done);
    }

    void largeRunIsFast()
    {
        std::string file = path("large.rsession");
        using clock = std::chrono::steady_clock;
        auto t0 = clock::now();
        int64_t run;
        {
            auto db = SessionDb::open(file);
            run = db.createRun(fakeInfo(11));
            db.addPrompt(run, 0, "p");
            rudder::IterationEvent e;
            e.method = "fake";
            for (int k = 0; k < 100; ++k) {   // 100 iterations x 1000 samples of 32 tokens
                e.iteration = k;
                e.samples.assign(1000, rudder::Sample{});
                for (int i = 0; i < 1000; ++i) {
                    auto& s = e.samples[size_t(i)];
                    s.iteration = k;
                    s.index = i;
                    s.text = "And God said, Let there be light: and there was light. " + std::to_string(i);
                    s.token_ids.assign(32, i);
                    s.reward = 0.001 * i;
                    s.weight = 0.001;
                }
                e.stats = {{"ess", 10.0 + k}};
                e.budget.samples = 1000 * (k + 1);
                db.appendIteration(run, e);
            }
            db.finishRun(run, RunStatus::Done, "", e.budget);
        }
        double insert = std::chrono::duration<double>(clock::now() - t0).count();
        auto db = SessionDb::open(file, SessionDb::Mode::ReadOnly);
        auto t1 = clock::now();
        auto rows = db.listRuns();
        double list = std::chrono::duration<double>(clock::now() - t1).count();
        auto t2 = clock::now();
        auto curves = db.loadRun(run, false);
        double curvesS = std::chrono::duration<double>(clock::now() - t2).count();
        auto t3 = clock::now();
        auto all = db.loadRun(run, true);
        double allS = std::chrono::duration<double>(clock::now() - t3).count();
        qInfo("100k samples: insert %.2f s, listRuns %.4f s, load curves %.4f s, load all samples %.2f s", insert,
              list, curvesS, allS);
        QCOMPARE(rows.at(0).iterations, int64_t(100));
        QCOMPARE(curves.iterations.size(), size_t(100));
        size_t n = 0;
        for (const auto& e : all.iterations) n += e.samples.size();
        QCOMPARE(n, size_t(100000));
        QVERIFY2(insert < 60.0, "sanity bound only; the number above is the measurement");
    }

    void exportJsonFieldsAsDocumented()
    {
        auto db = SessionDb::open(path("export.rsession"));
        int64_t a = writeRun(db, 1, 2, 3);
        int64_t b = writeRun(db, 2, 1, 2);
        json doc = db.exportJson();
        QCOMPARE(keys(doc), (std::set<std::string>{"schema_version", "runs"}));
        QCOMPARE(doc["schema_version"].get<int>(), SessionDb::currentSchemaVersion());
        QCOMPARE(doc["runs"].size(), size_t(2));
        QCOMPARE(db.exportJson({b})["runs"].size(), size_t(1));
        QCOMPARE(db.exportJson({b})["runs"][0]["id"].get<int64_t>(), b);
        const json& r = doc["runs"][0];
        QCOMPARE(keys(r), (std::set<std::string>{"id", "method", "status", "message", "config", "seed", "base_model",
                                                 "reward_model", "gold_model", "device", "dtype", "versions",
                                                 "prompt_template", "tags", "started", "finished", "budget", "summary", "prompts",
                                                 "prompt_sources", "iterations", "samples", "final"}));
        QCOMPARE(r["id"].get<int64_t>(), a);
        QCOMPARE(r["status"], json("done"));
        QVERIFY(r["message"].is_null() && r["gold_model"].is_null());
        QCOMPARE(r["config"], fakeInfo(1).config);
        QCOMPARE(r["base_model"]["architecture"], json("LlamaForCausalLM"));
        QCOMPARE(r["prompts"], json::array({"Write a verse, about \"light\"."}));
        QCOMPARE(r["prompt_sources"][0], json({{"source", "kjv.jsonl"}, {"row", 41}}));
        QCOMPARE(r["iterations"].size(), size_t(2));
        QCOMPARE(keys(r["iterations"][0]), (std::set<std::string>{"prompt_index", "iteration", "stats", "budget"}));
        QCOMPARE(r["iterations"][1]["stats"]["note"], json("k1"));
        QCOMPARE(r["samples"].size(), size_t(6));
        QCOMPARE(keys(r["samples"][0]),
                 (std::set<std::string>{"prompt_index", "iteration", "index", "text", "token_ids", "reward",
                                        "gold_reward", "weight", "accepted", "cut_index", "parent",
                                        "reward_objectives"}));
        QCOMPARE(r["samples"][0]["reward_objectives"].size(), size_t(3));   // i = 0: a multi-objective reward
        QVERIFY(r["samples"][1]["reward_objectives"].is_null());
        const json& s1 = r["samples"][1];   // i = 1: no gold, not accepted/rejected, no cut, parent 0
        QVERIFY(s1["gold_reward"].is_null() && s1["accepted"].is_null() && s1["cut_index"].is_null());
        QCOMPARE(s1["parent"], json(0));
        QCOMPARE(r["samples"][0]["accepted"], json(true));
        QCOMPARE(r["samples"][0]["token_ids"], json::array({0, 0, int32_t(fake::mix(0) & 0xffff), -1}));
        QCOMPARE(keys(r["final"][0]), (std::set<std::string>{"prompt_index", "text", "token_ids", "reward", "gold_reward"}));
        QVERIFY_THROWS_EXCEPTION(rudder::UsageError, db.exportJson({12345}));
    }

    void csvRowsAndHeaders()
    {
        auto db = SessionDb::open(path("csv.rsession"));
        int64_t a = writeRun(db, 1, 3, 8);   // text of sample 0 and 7 holds a comma, quotes and a newline
        writeRun(db, 2, 2, 5);
        std::ostringstream samples, iterations;
        db.exportCsvSamples({}, samples);
        db.exportCsvIterations({}, iterations);
        auto s = parseCsv(samples.str());
        QCOMPARE(s.size(), size_t(1 + 3 * 8 + 2 * 5));
        QCOMPARE(s[0], (std::vector<std::string>{"run_id", "method", "prompt_index", "iteration", "index", "reward",
                                                 "gold_reward", "weight", "accepted", "cut_index", "parent",
                                                 "num_tokens", "token_ids", "text", "reward_objectives"}));
        for (const auto& row : s) QCOMPARE(row.size(), s[0].size());
        auto first = fake::iteration(1, 0, 8, 0);
        QCOMPARE(s[1][13], first.samples[0].text);
        QCOMPARE(std::stod(s[1][5]), first.samples[0].reward);
        QCOMPARE(s[2][6], std::string());   // no gold reward for sample 1
        QCOMPARE(s[1][12], "0 0 " + std::to_string(fake::mix(0) & 0xffff) + " -1");
        auto it = parseCsv(iterations.str());
        QCOMPARE(it.size(), size_t(1 + 3 + 2));
        QCOMPARE(it[0], (std::vector<std::string>{"run_id", "method", "prompt_index", "iteration", "num_samples",
                                                  "reward_mean", "reward_max", "budget_samples", "budget_tokens",
                                                  "budget_flops", "budget_seconds", "stats.ess", "stats.note",
                                                  "stats.u", "stats.u_next"}));
        for (const auto& row : it) QCOMPARE(row.size(), it[0].size());
        QCOMPARE(std::stod(it[1][11]), first.stats["ess"].get<double>());
        QCOMPARE(it[2][12], std::string("k1"));
        std::ostringstream one;
        db.exportCsvIterations({a}, one);
        QCOMPARE(parseCsv(one.str()).size(), size_t(1 + 3));
    }

    void importRoundTrips()
    {
        auto src = SessionDb::open(path("import-src.rsession"));
        writeRun(src, 1, 3, 4);
        int64_t open = src.createRun(fakeInfo(2));   // still running when exported
        src.appendIteration(open, fake::iteration(2, 0, 3, 0));
        json doc = src.exportJson();

        auto dst = SessionDb::open(path("import-dst.rsession"));
        writeRun(dst, 9, 1, 1);   // ids shift: the imported runs get new ones
        auto ids = dst.importJson(json::parse(doc.dump()), "export.json");
        QCOMPARE(ids.size(), size_t(2));
        json back = dst.exportJson(ids);
        QCOMPARE(back["runs"][1]["status"], json("interrupted"));   // no writer here
        for (size_t i = 0; i < 2; ++i) {
            json x = doc["runs"][i], y = back["runs"][i];
            QCOMPARE(y["id"].get<int64_t>(), ids[i]);
            for (json* j : {&x, &y}) j->erase("id"), j->erase("status"), j->erase("message");
            QCOMPARE(y.dump(), x.dump());
        }
        auto events = dst.loadCompletedIterations(ids[0]);
        QCOMPARE(eventsJson(events), eventsJson(src.loadCompletedIterations(1)));
    }

    void importRejectsBadDocumentsWhole()
    {
        auto src = SessionDb::open(path("bad-src.rsession"));
        writeRun(src, 1, 2, 3);
        writeRun(src, 2, 2, 3);
        json doc = src.exportJson();
        auto dst = SessionDb::open(path("bad-dst.rsession"));
        auto expect = [&](json bad, const char* field) {
            try {
                dst.importJson(bad, "export.json");
                QFAIL("imported a bad document");
            } catch (const rudder::Error& e) {
                QVERIFY2(QString(e.what()).startsWith(QString("export.json: ") + field), e.what());
            }
            QCOMPARE(dst.listRuns().size(), size_t(0));   // all or nothing
        };
        json bad = doc;
        bad["runs"][1]["samples"][2].erase("reward");
        expect(bad, "runs[1].samples[2].reward: missing");
        bad = doc;
        bad["runs"][0]["samples"][0]["token_ids"] = "1 2 3";
        expect(bad, "runs[0].samples[0].token_ids");
        bad = doc;
        bad["runs"][0]["samples"][0]["iteration"] = 7;
        expect(bad, "runs[0].samples[0]: no iteration");
        bad = doc;
        bad["schema_version"] = 99;
        expect(bad, "schema_version");
        expect(json::array(), "not a Rudder export");
    }

    void deleteRunRemovesEverything()
    {
        std::string file = path("delete.rsession");
        auto db = SessionDb::open(file);
        int64_t a = writeRun(db, 1, 2, 3), b = writeRun(db, 2, 2, 3);
        db.deleteRun(a);
        QCOMPARE(db.listRuns().size(), size_t(1));
        QCOMPARE(db.listRuns()[0].id, b);
        QCOMPARE(Raw(file).text("SELECT count(*) FROM samples"), std::string("6"));
        QCOMPARE(Raw(file).text("SELECT count(*) FROM iterations WHERE run_id = " + std::to_string(a)), std::string("0"));
    }
};

QTEST_GUILESS_MAIN(TestSessionDb)
#include "test_session_db.moc"
