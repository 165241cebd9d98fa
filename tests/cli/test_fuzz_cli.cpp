// A seeded fuzz campaign over everything rudder-cli reads from a user or a peer: datasets,
// method settings (--config), session files, `serve` requests and reward scorers (issue 35).
// Every case runs the real binary under a 3 GiB address-space limit and is classified:
//   ok        exit 0
//   refused   exit 2 with a one-line message naming the file or field
//   failed    exit 1 with a message (a run that failed, e.g. a scorer that died) and a
//             consistent session
//   crash     a signal, another exit code, or a C++ internal in the message (frame dumps,
//             std::bad_alloc, nlohmann's own exception names)
//   blow-up   no answer within the case's limit (far above its normal second), or out of memory
//   silent    a mutant known to be invalid that exited 0
// Crashes, blow-ups and silent acceptances fail the test.  RUDDER_FUZZ_CASES (default 30 per
// family) and RUDDER_FUZZ_SEED widen it by hand; the counts are printed either way.
#include <QtTest>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <httplib.h>

#include "cli_process.h"

using namespace rudder;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const QString kResources = qEnvironmentVariable("RUDDER_RESOURCES", RUDDER_TEST_DATA "/../resources");
constexpr int kCaseLimitMs = 180000;   // a case normally takes about a second

struct Counts {
    int ok = 0, refused = 0, failed = 0, crash = 0, blowup = 0, silent = 0;
    QStringList bad;
    int total() const { return ok + refused + failed + crash + blowup + silent; }
    QString line(const char* family) const
    {
        return QString("%1: %2 cases, %3 ok, %4 refused, %5 failed runs, %6 crashes, %7 blow-ups, %8 silent")
            .arg(family).arg(total()).arg(ok).arg(refused).arg(failed).arg(crash).arg(blowup).arg(silent);
    }
};

struct Outcome {
    int code = -1;   // -2: signal, -1: timed out
    QString out, err;
};

// rudder-cli under `ulimit -v` (3 GiB): a memory blow-up ends as bad_alloc or a signal, not a
// machine that swaps.
Outcome runLimited(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment())
{
    QProcess p;
    p.setProcessEnvironment(env);
#ifdef __SANITIZE_ADDRESS__
    // AddressSanitizer reserves terabytes of shadow address space: no `ulimit -v` (the memory
    // bound is checked by the plain build's run of this test).
    QStringList sh = {"-c", "exec \"$0\" \"$@\"", testing::kCli};
#else
    QStringList sh = {"-c", "ulimit -v 3145728; exec \"$0\" \"$@\"", testing::kCli};
#endif
    p.start("/bin/sh", sh + args);
    Outcome o;
    if (!p.waitForFinished(kCaseLimitMs)) {
        p.kill();
        p.waitForFinished();
        return o;
    }
    o.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    o.out = QString::fromUtf8(p.readAllStandardOutput());
    o.err = QString::fromUtf8(p.readAllStandardError());
    return o;
}

bool internals(const QString& s)
{
    return s.contains("frame #") || s.contains("bad_alloc") || s.contains("terminate called") ||
           s.contains("[json.exception") || s.contains("c10::") || s.contains("Exception raised from") ||
           s.contains("AddressSanitizer") || s.contains("runtime error:");   // the sanitizer build's reports
}

// Sorts one outcome into the counts.  mustRefuse: the mutant is invalid by construction.
void classify(Counts& c, const Outcome& o, bool mustRefuse, const QString& what, const QStringList& names)
{
    const QString tag = what.left(160);
    if (o.code == -1) {
        ++c.blowup, c.bad << "blow-up (no answer in time): " + tag;
    } else if (o.code == -2 || (o.code != 0 && o.code != 1 && o.code != 2) || internals(o.err)) {
        if (o.err.contains("bad_alloc")) ++c.blowup, c.bad << "blow-up (out of memory): " + tag + ": " + o.err.left(300);
        else ++c.crash, c.bad << QString("crash (exit %1): ").arg(o.code) + tag + ": " + o.err.right(300);
    } else if (o.code == 0) {
        if (mustRefuse) ++c.silent, c.bad << "silently accepted: " + tag;
        else ++c.ok;
    } else if (o.code == 2) {
        bool named = names.isEmpty();
        for (const auto& n : names) named = named || o.err.contains(n);
        if (!named || o.err.trimmed().isEmpty()) ++c.crash, c.bad << "refusal names nothing: " + tag + ": " + o.err.left(300);
        else ++c.refused;
    } else {
        if (o.err.trimmed().isEmpty()) ++c.crash, c.bad << "exit 1 without a message: " + tag;
        else ++c.failed;
    }
}

int cases()
{
    return qEnvironmentVariableIsSet("RUDDER_FUZZ_CASES") ? qEnvironmentVariableIntValue("RUDDER_FUZZ_CASES") : 30;
}
uint64_t seed(uint64_t salt)
{
    return (qEnvironmentVariableIsSet("RUDDER_FUZZ_SEED") ? uint64_t(qEnvironmentVariableIntValue("RUDDER_FUZZ_SEED")) : 35) * 1000 + salt;
}

// Values that have broken parsers before: wrong types, limits of each integer width, huge
// floats, deep nesting, invalid UTF-8, NULs.
json oddValue(std::mt19937_64& rng)
{
    static const std::vector<json> odd = {nullptr, -1, 0, 1.5, 2147483648LL, -2147483649LL, 9223372036854775807LL,
                                          18446744073709551615ULL, 1e300, -1e-320, "", "x", json::array(),
                                          json::object(), true, json::array({1, 2}), std::string(100000, 'a')};
    return odd[rng() % odd.size()];
}

std::string mutateBytes(std::string s, std::mt19937_64& rng)
{
    switch (rng() % 6) {
    case 0: if (!s.empty()) s.resize(rng() % s.size()); break;                          // truncated
    case 1: for (int i = 0; i < 4 && !s.empty(); ++i) s[rng() % s.size()] ^= char(1 << (rng() % 8)); break;
    case 2: s.insert(s.empty() ? 0 : rng() % s.size(), std::string("\xC3\x28\xFF\x00", 4)); break;   // bad UTF-8, NUL
    case 3: s = std::string(size_t(rng() % 4000), '[') + s; break;                      // deep nesting
    case 4: s += s; break;                                                              // repeated
    default: s.insert(s.empty() ? 0 : rng() % s.size(), std::to_string(rng()) + "e999999"); break;
    }
    return s;
}

void writeBytes(const QString& path, const std::string& bytes) { std::ofstream(path.toStdString(), std::ios::binary | std::ios::trunc) << bytes; }

} // namespace

class TestFuzzCli : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp;
    Counts all;

    void report(const char* family, const Counts& c)
    {
        qInfo("%s", qPrintable(c.line(family)));
        all.ok += c.ok, all.refused += c.refused, all.failed += c.failed;
        all.crash += c.crash, all.blowup += c.blowup, all.silent += c.silent;
        QVERIFY2(c.bad.isEmpty(), qPrintable(c.bad.join("\n")));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(QFile::exists(testing::kCli)); }

    // Datasets: lines of the arithmetic test set, mutated as bytes or as JSON fields.
    void datasets()
    {
        std::mt19937_64 rng(seed(1));
        std::vector<std::string> lines;
        {
            std::ifstream in((kResources + "/prompts/arith-test.jsonl").toStdString());
            for (std::string l; std::getline(in, l) && lines.size() < 4;) lines.push_back(l);
        }
        Counts c;
        for (int i = 0; i < cases(); ++i) {
            std::string text;
            bool must = false;
            QString what;
            const int kind = int(rng() % 3);
            for (size_t k = 0; k < lines.size(); ++k) {
                std::string l = lines[k];
                if (k == 1 && kind == 0) {
                    l = mutateBytes(l, rng), what = "bytes of line 2";
                } else if (k == 1 && kind == 1) {
                    json j = json::parse(l);
                    j["question"] = oddValue(rng);
                    must = !j["question"].is_string();
                    l = j.dump(), what = "question = " + QString::fromStdString(j["question"].dump().substr(0, 40));
                }
                text += l + "\n";
            }
            if (kind == 2) text = std::string(size_t(rng() % (1 << 21)), char("x{\n\0"[rng() % 4])), what = "filler";
            const QString f = tmp.filePath(QString("data-%1.jsonl").arg(i));
            writeBytes(f, text);
            const Outcome o = runLimited({"run", "--method", "bon", "--reward", "lexicon", "--dataset", f, "--limit", "3",
                                          "--set", "n=2", "--set", "max_new_tokens=2", "--db", tmp.filePath("data.sqlite")});
            classify(c, o, must, QString("case %1 (%2)").arg(i).arg(what), {f, "--dataset", "--limit", "field"});
        }
        report("datasets", c);
    }

    // Method settings: a valid config for one of the methods with one field made odd, or its bytes.
    void configs()
    {
        std::mt19937_64 rng(seed(2));
        const std::vector<std::pair<const char*, json>> base = {
            {"bon", {{"n", 2}, {"batch", 2}, {"max_new_tokens", 3}, {"temperature", 1.0}}},
            {"aisp", {{"n", 2}, {"iterations", 2}, {"sigma", 0.5}, {"max_new_tokens", 3}}},
            {"qalign", {{"chains", 1}, {"steps", 2}, {"max_new_tokens", 3}}},
            {"wmv", {{"n", 2}, {"max_new_tokens", 3}, {"vote", true}}}};
        Counts c;
        for (int i = 0; i < cases(); ++i) {
            const auto& [method, cfg] = base[rng() % base.size()];
            json j = cfg;
            std::string key;
            {
                std::vector<std::string> keys;
                for (auto& [k, v] : j.items()) keys.push_back(k);
                key = keys[rng() % keys.size()];
            }
            std::string text;
            bool must = false;
            QString what;
            if (rng() % 4 == 0) {
                text = mutateBytes(j.dump(), rng), what = "bytes";
            } else {
                j[key] = oddValue(rng);
                // Wrong types are always refused; a number may be in range.
                must = !j[key].is_number() && !(j[key].is_boolean() && key == "vote");
                text = j.dump(), what = QString::fromStdString(key + " = " + j[key].dump().substr(0, 40));
            }
            const QString f = tmp.filePath(QString("cfg-%1.json").arg(i));
            writeBytes(f, text);
            const Outcome o = runLimited({"run", "--method", method, "--reward", "lexicon", "--prompt", "In the beginning",
                                          "--config", f, "--db", tmp.filePath("cfg.sqlite")});
            classify(c, o, must, QString("case %1 %2 (%3)").arg(i).arg(method).arg(what), {f, "config", "--config"});
        }
        report("configs", c);
    }

    // Session files: a real session, damaged by bytes or by odd values in one column of one row,
    // then opened by export, by a new run into it and by a resume.  A damaged file is refused
    // naming it, never a crash; a refused command leaves it as it was.
    void sessions()
    {
        std::mt19937_64 rng(seed(3));
        const QString good = tmp.filePath("good.sqlite");
        Outcome made = runLimited({"run", "--method", "bon", "--reward", "lexicon", "--prompt", "In the beginning", "--db", good,
                                   "--set", "n=4", "--set", "batch=2", "--set", "max_new_tokens=3"});
        QCOMPARE(made.code, 0);
        std::string bytes;
        {
            std::ifstream in(good.toStdString(), std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        const std::vector<std::pair<const char*, const char*>> columns = {
            {"runs", "config"}, {"runs", "base_model"}, {"runs", "reward_model"}, {"runs", "status"}, {"runs", "seed"},
            {"runs", "prompt_template"}, {"iterations", "stats"}, {"iterations", "budget_samples"}, {"samples", "token_ids"},
            {"samples", "reward"}, {"samples", "text"}, {"prompts", "text"}, {"finals", "reward"}};
        Counts c;
        for (int i = 0; i < cases(); ++i) {
            const QString f = tmp.filePath(QString("s-%1.sqlite").arg(i));
            QString what;
            if (rng() % 3 == 0) {
                std::string b = bytes;
                for (int k = 0; k < 8; ++k) {
                    const size_t at = 100 + rng() % (b.size() - 100);
                    b[at] = char(rng());
                }
                writeBytes(f, b), what = "8 bytes";
            } else {
                writeBytes(f, bytes);
                const auto& [table, col] = columns[rng() % columns.size()];
                const json v = oddValue(rng);
                std::string lit = v.is_string() ? "'" + v.get<std::string>().substr(0, 1000) + "'" : v.is_number() ? v.dump() : "'" + v.dump() + "'";
                if (rng() % 4 == 0) lit = "'{'";
                if (rng() % 5 == 0) lit = "X'0000FFFF7F'";
                const std::string sql = std::string("UPDATE ") + table + " SET " + col + " = " + lit +
                                        (std::string(table) == "runs" ? "" : " WHERE rowid = 1") +
                                        (rng() % 2 ? "; UPDATE runs SET status = 'cancelled'" : "");
                sqlite3* h = nullptr;
                sqlite3_open(f.toUtf8().constData(), &h);
                sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr);
                sqlite3_close(h);
                what = QString::fromStdString(std::string(table) + "." + col + " = " + lit.substr(0, 40));
            }
            const QStringList variants[] = {
                {"export", "--db", f, "--format", "json", "--out", tmp.filePath("s.json")},
                {"run", "--db", f, "--resume", "1"},
                {"run", "--method", "bon", "--reward", "lexicon", "--prompt", "a", "--set", "n=2", "--set", "max_new_tokens=2", "--db", f}};
            const QStringList& args = variants[rng() % 3];
            const Outcome o = runLimited(args);
            classify(c, o, false, QString("case %1 (%2): %3").arg(i).arg(what, args.first() + " " + args.at(1)),
                     {f, "--resume", "run 1"});
        }
        report("sessions", c);
    }

    // serve: one server, mutated bodies to every endpoint.  Every answer is a JSON body with a
    // status of 200, 400, 404 or 413 and no C++ internals; the server is still up at the end.
    void serveRequests()
    {
        testing::Serve srv({"--max-request-tokens", "4096"});
        QVERIFY2(srv.port > 0, qPrintable(srv.log));
        httplib::Client cl("127.0.0.1", srv.port);
        cl.set_read_timeout(kCaseLimitMs / 1000);
        std::mt19937_64 rng(seed(4));
        const std::vector<std::pair<const char*, json>> base = {
            {"/v1/completions", {{"prompt", {0, 1142, 261}}, {"n", 2}, {"max_tokens", 4}, {"temperature", 1.0}, {"seed", 3}}},
            {"/pooling", {{"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "in the beginning"}}}}}},
            {"/rudder/v1/reward", json::array({{{"prompt", "hi"}, {"response", "light"}}})},
            {"/rudder/v1/perturbed", {{"prompt", {0, 5}}, {"max_tokens", 3}, {"tau", 3}, {"hidden_size", 192}, {"sigma", 0.5}, {"noise_seeds", {1, 2}}}},
            {"/rudder/v1/prelogit", {{"prompt", {0, 5, 7}}}}};
        Counts c;
        for (int i = 0; i < cases(); ++i) {
            const auto& [path, body] = base[rng() % base.size()];
            json j = body;
            std::string text;
            if (rng() % 4 == 0) {
                text = mutateBytes(j.dump(), rng);
            } else {
                json* target = j.is_array() ? &j[0] : &j;
                std::vector<std::string> keys;
                for (auto& [k, v] : target->items()) keys.push_back(k);
                (*target)[keys[rng() % keys.size()]] = oddValue(rng);
                text = j.dump();
            }
            const auto r = cl.Post(path, text, "application/json");
            const QString what = QString("case %1 %2 %3").arg(i).arg(path).arg(QString::fromStdString(text.substr(0, 80)));
            if (!r) {
                ++c.blowup, c.bad << "no answer: " + what;
                continue;
            }
            const QString b = QString::fromStdString(r->body);
            const bool known = r->status == 200 || r->status == 400 || r->status == 404 || r->status == 413;
            if (!known || internals(b) || (r->status != 413 && b.isEmpty())) ++c.crash, c.bad << QString("status %1: ").arg(r->status) + what + ": " + b.left(200);
            else if (r->status == 200) ++c.ok;
            else ++c.refused;
        }
        QVERIFY2(srv.p.state() == QProcess::Running, "the server died");
        srv.stop();
        report("serve", c);
    }

    // Reward scorers that misbehave in every way a program can: junk, too many or too few lines,
    // binary, invalid UTF-8, floods, sleeps, exits and signals.  The run ends (ok, or failed with
    // the scorer named), its --json output stays valid JSON, nothing crashes or hangs.
    void rewardScorers()
    {
        const std::vector<std::string> scorers = {
            "yes 1", "yes 1 >&2", "cat >/dev/null; printf 'caf\\303\\050\\n0.5\\n'", "cat >/dev/null; head -c 3000 /dev/urandom",
            "cat >/dev/null; echo nan; echo 1", "cat >/dev/null; echo 1e999; echo 1", "cat >/dev/null; exit 3", "kill -9 $$",
            "cat >/dev/null; echo 1; echo 2; sleep 30", "cat >/dev/null; echo 1", "cat >/dev/null; for i in 1 2 3; do echo $i; done",
            "cat >/dev/null; printf '0.1\\n0.2\\n'", "sleep 30", "cat >/dev/null; printf '0.1\\r\\n 0.2 \\n'",
            "cat >/dev/null; printf '\\377\\376\\n\\000\\n'", "awk '{ print length($0) }'"};
        std::mt19937_64 rng(seed(5));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("RUDDER_REWARD_TIMEOUT", "5");
        Counts c;
        for (int i = 0; i < cases(); ++i) {
            const std::string& s = scorers[rng() % scorers.size()];
            const QString db = tmp.filePath("reward.sqlite");
            const Outcome o = runLimited({"run", "--method", rng() % 2 ? "bon" : "aisp", "--reward", QString::fromStdString("cmd:" + s),
                                          "--gold", "none", "--prompt", "In the beginning", "--set", "n=2", "--set", "max_new_tokens=2",
                                          "--db", db, "--json"},
                                         env);
            const QString what = QString("case %1 (%2)").arg(i).arg(QString::fromStdString(s));
            classify(c, o, false, what, {"reward", "cmd:"});
            if (o.code == 0 || o.code == 1) {
                try {
                    (void)json::parse(o.out.toStdString());
                } catch (const std::exception& e) {
                    ++c.crash, c.bad << "--json output is not JSON: " + what + ": " + e.what();
                }
            }
        }
        report("reward scorers", c);
    }

    void cleanupTestCase()
    {
        qInfo("all: %d cases, %d ok, %d refused, %d failed runs, %d crashes, %d blow-ups, %d silent", all.total(), all.ok,
              all.refused, all.failed, all.crash, all.blowup, all.silent);
    }
};

QTEST_GUILESS_MAIN(TestFuzzCli)
#include "test_fuzz_cli.moc"
