// Bad input, round 2 (issue 35), driven through the built rudder-cli as a user or an attacker
// would: every refusal exits 2 with one message naming the file and the field, is bounded in
// memory and time, and leaves the session file byte-identical.
#include <QtTest>

#include <sqlite3.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>

#include <QCryptographicHash>

#include "cli_process.h"

using namespace rudder;
using testing::cli;
using Result = testing::CliResult;
namespace fs = std::filesystem;

namespace {

QString writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(bytes);
    return path;
}

QByteArray sha(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return "(missing)";
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

// A sparse file of `bytes` with no newline: what a dataset or config of that size looks like
// to a reader, without using the disk.
QString sparse(const QString& path, qint64 bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || !f.resize(bytes)) qFatal("cannot make %s", qPrintable(path));
    return path;
}

const QString kResources = qEnvironmentVariable("RUDDER_RESOURCES", RUDDER_TEST_DATA "/../resources");

// A copy of a demo model directory (weights linked, not copied) whose files a test can break.
QString modelCopy(const QString& dir, const QString& demo = "demo-lm")
{
    const fs::path src = (kResources + "/models/" + demo).toStdString();
    fs::create_directories(dir.toStdString());
    for (const auto& e : fs::directory_iterator(src)) {
        const fs::path to = fs::path(dir.toStdString()) / e.path().filename();
        fs::remove(to);
        if (e.path().extension() == ".safetensors") fs::create_symlink(fs::absolute(e.path()), to);
        else fs::copy_file(e.path(), to);
    }
    return dir;
}

nlohmann::json readJson(const QString& path)
{
    std::ifstream in(path.toStdString());
    return nlohmann::json::parse(in);
}

void writeJson(const QString& path, const nlohmann::json& j) { std::ofstream(path.toStdString()) << j.dump(1); }

} // namespace

class TestBadInput : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(QFile::exists(testing::kCli));
        QVERIFY(tmp.isValid());
    }

    // Item 3: whole-file reads are capped per kind of file, and devices are refused.  Each of
    // these read gigabytes before; now nothing past the cap is read.
    void oversizedAndNonRegularFilesAreRefused()
    {
        const QString db = tmp.filePath("caps.sqlite");
        Result r = cli({"run", "--method", "bon", "--reward", "lexicon", "--db", db, "--config", "/dev/zero"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("/dev/zero") && r.err.contains("not a regular file"), qPrintable(r.err));
        r = cli({"run", "--method", "bon", "--reward", "lexicon", "--db", db, "--dataset", "/dev/zero"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("/dev/zero") && r.err.contains("not a regular file"), qPrintable(r.err));
        // A 6 GB dataset line with no newline: refused at the line cap, naming the line.
        const QString line = sparse(tmp.filePath("oneline.jsonl"), 6LL << 30);
        r = cli({"run", "--method", "bon", "--reward", "lexicon", "--db", db, "--dataset", line});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("oneline.jsonl") && r.err.contains("line 1") && r.err.contains("16 MiB"), qPrintable(r.err));
        // A 6 GB settings file and a 6 GB config.json: refused by their size, naming the cap.
        r = cli({"run", "--method", "bon", "--reward", "lexicon", "--db", db, "--config", sparse(tmp.filePath("big.json"), 6LL << 30)});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("big.json") && r.err.contains("16 MiB"), qPrintable(r.err));
        const QString model = modelCopy(tmp.filePath("bigcfg"));
        QFile::remove(model + "/config.json");
        sparse(model + "/config.json", 6LL << 30);
        r = cli({"inspect", model});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("config.json") && r.err.contains("16 MiB"), qPrintable(r.err));
        QFile::remove(model + "/tokenizer_config.json");
        QVERIFY(QFile::link("/dev/zero", model + "/tokenizer_config.json"));
        QFile::remove(model + "/config.json");
        QFile::copy(kResources + "/models/demo-lm/config.json", model + "/config.json");
        r = cli({"run", "--method", "bon", "--model", model, "--reward", "lexicon", "--db", db, "--prompt", "a"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("tokenizer_config.json") && r.err.contains("not a regular file"), qPrintable(r.err));
        QVERIFY(!QFile::exists(db));   // every refusal came before the session was created
    }

    // Items 7, 10, 11, 12: model directories whose configs made a NaN model, spun for half a
    // minute, or failed inside libtorch.  Each is refused by `run` with exit 2 and a message naming
    // the file and the field, before the session is created.  The unbroken copy runs (the control).
    void brokenModelDirectoriesAreRefusedByName()
    {
        struct Case {
            const char* name;
            const char* file;
            std::function<void(nlohmann::json&)> mutate;
            QStringList expect;
        };
        const std::vector<Case> cases = {
            {"layers-2^31", "config.json", [](auto& j) { j["num_hidden_layers"] = 2147483648LL; }, {"config.json", "num_hidden_layers", "4096"}},
            {"layers-9", "config.json", [](auto& j) { j["num_hidden_layers"] = 9; }, {"config.json", "num_hidden_layers", "hold 4"}},
            {"hidden-huge", "config.json", [](auto& j) { j["intermediate_size"] = 1LL << 40; }, {"config.json", "intermediate_size"}},
            {"bos-5000", "config.json", [](auto& j) { j["bos_token_id"] = 5000; }, {"config.json", "bos_token_id", "outside the vocabulary"}},
            {"bos-neg", "config.json", [](auto& j) { j["bos_token_id"] = -1; }, {"config.json", "bos_token_id", "outside the vocabulary"}},
            {"eos-99999", "config.json", [](auto& j) { j["eos_token_id"] = 99999; }, {"config.json", "eos_token_id", "outside the vocabulary"}},
            {"gen-array", "generation_config.json", [](auto& j) { j = nlohmann::json::array(); }, {"generation_config.json", "not a JSON object"}},
            {"gen-eos", "generation_config.json", [](auto& j) { j["eos_token_id"] = nlohmann::json::array({2, 70000}); }, {"generation_config.json", "eos_token_id"}},
            {"rope-low", "config.json", [](auto& j) {
                 j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 0.0}, {"high_freq_factor", 4.0},
                                      {"original_max_position_embeddings", 8192}};
             }, {"config.json", "rope_scaling.low_freq_factor"}},
            {"rope-factor", "config.json", [](auto& j) { j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", -2.0}}; },
             {"config.json", "rope_scaling.factor"}},
            {"added-3000", "tokenizer.json", [](auto& j) {
                 j["added_tokens"].push_back({{"id", 3000}, {"content", "<extra>"}, {"special", true}});
             }, {"tokenizer.json", "<extra>", "3000", "outside the model's vocabulary"}},
            {"added-dup", "tokenizer.json", [](auto& j) {
                 j["added_tokens"].push_back({{"id", j["added_tokens"][0]["id"]}, {"content", "<other>"}, {"special", true}});
             }, {"tokenizer.json", "added_tokens[", "also the id of"}},
            {"vocab-dup", "tokenizer.json", [](auto& j) { j["model"]["vocab"]["zzzzqqq"] = 7; }, {"tokenizer.json", "model.vocab.", "has id 7"}},
            {"template-type", "tokenizer_config.json", [](auto& j) { j["chat_template"] = nlohmann::json::array({{{"name", 5}}}); },
             {"tokenizer_config.json", "chat_template[0].name", "must be a string"}},
        };
        const QString db = tmp.filePath("models.sqlite");
        const QStringList run = {"run", "--method", "bon", "--reward", "lexicon", "--prompt", "In the beginning",
                                 "--set", "n=2", "--set", "max_new_tokens=2"};
        {
            const QString ok = modelCopy(tmp.filePath("model-ok"));
            Result r = cli(QStringList(run) << "--model" << ok << "--db" << tmp.filePath("control.sqlite"));
            QVERIFY2(r.code == 0, qPrintable(r.err));
        }
        for (const auto& c : cases) {
            const QString d = modelCopy(tmp.filePath(QString("model-") + c.name));
            nlohmann::json j = readJson(d + "/" + c.file);
            c.mutate(j);
            writeJson(d + "/" + c.file, j);
            QElapsedTimer t;
            t.start();
            Result r = cli(QStringList(run) << "--model" << d << "--db" << db);
            bool named = r.code == 2;
            for (const auto& e : c.expect) named = named && r.err.contains(e);
            QVERIFY2(named, qPrintable(QString("%1: exit %2: %3").arg(c.name).arg(r.code).arg(r.err)));
            qInfo("%s: refused in %lld ms", c.name, (long long)t.elapsed());
        }
        QVERIFY(!QFile::exists(db));
    }

    // Item 12: --db that is a directory, /dev/null or in a missing folder, and a session whose
    // pages are damaged, are the user's input: exit 2 and one message naming the file.
    void badSessionPathsAreUsageErrors()
    {
        const QStringList run = {"run", "--method", "bon", "--reward", "lexicon", "--prompt", "a", "--set", "n=2", "--set", "max_new_tokens=2"};
        for (const QString& db : {tmp.path(), QString("/dev/null"), tmp.filePath("no/such/folder/s.sqlite")}) {
            Result r = cli(QStringList(run) << "--db" << db);
            QVERIFY2(r.code == 2 && r.err.contains(db), qPrintable(QString("%1: %2 %3").arg(db).arg(r.code).arg(r.err)));
        }
        QVERIFY(cli(QStringList(run) << "--db" << tmp.filePath("no/such/folder/s.sqlite")).err.contains("does not exist"));
        // A real session with its pages after the first overwritten: "database disk image is
        // malformed" from SQLite, reported as a damaged session with exit 2 by run and export.
        const QString db = tmp.filePath("malformed.sqlite");
        QCOMPARE(cli(QStringList(run) << "--db" << db).code, 0);
        QFile f(db);
        QVERIFY(f.open(QIODevice::ReadWrite));
        const qint64 size = f.size();
        QVERIFY(size > 8192);
        f.seek(4096);   // page 2 onwards (the header and schema page stay intact)
        QByteArray junk(int(size - 4096), '\xA5');
        f.write(junk);
        f.close();
        for (const QStringList& args : {QStringList(run) << "--db" << db,
                                        QStringList{"export", "--db", db, "--format", "json", "--out", tmp.filePath("m.json")},
                                        QStringList{"run", "--db", db, "--resume", "1"}}) {
            Result r = cli(args);
            QVERIFY2(r.code == 2 && r.err.contains("malformed.sqlite") && r.code != -2,
                     qPrintable(QString("%1: %2 %3").arg(args.join(' ')).arg(r.code).arg(r.err)));
        }
    }

    // Item 13: seeds outside [0, 2^64) are refused instead of wrapping to 2^64 - 1.
    void seedsOutOfRangeAreRefused()
    {
        for (const char* seed : {"-1", "18446744073709551616", "1.5", "1e3"}) {
            Result r = cli({"run", "--method", "bon", "--reward", "lexicon", "--prompt", "a", "--seed", seed, "--db", tmp.filePath("seed.sqlite")});
            QVERIFY2(r.code == 2 && r.err.contains("--seed"), qPrintable(QString("%1: %2 %3").arg(seed).arg(r.code).arg(r.err)));
        }
        QVERIFY(!QFile::exists(tmp.filePath("seed.sqlite")));
        Result r = cli({"run", "--method", "bon", "--reward", "lexicon", "--prompt", "a", "--seed", "18446744073709551615",
                        "--db", tmp.filePath("seed.sqlite"), "--set", "n=1", "--set", "max_new_tokens=1", "--json"});
        QVERIFY2(r.code == 0 && r.out.contains("18446744073709551615"), qPrintable(r.err));   // the largest seed is a seed
    }

    // Item 14: a refused command leaves the session byte-identical: the value model that does not
    // exist, the bad answer regex, the resume of a damaged run, any command that opens a session
    // holding a dead writer's run.  Before, each recorded a failed run or flipped a status.
    void refusalsLeaveTheSessionByteIdentical()
    {
        const QString db = tmp.filePath("identical.sqlite");
        const QStringList base = {"run", "--reward", "lexicon", "--prompt", "In the beginning", "--db", db};
        Result r = cli(QStringList(base) << "--method" << "bon" << "--set" << "n=2" << "--set" << "max_new_tokens=3" << "--set" << "batch=1");
        QCOMPARE(r.code, 0);
        auto exec = [&](const std::string& sql) {
            sqlite3* h = nullptr;
            QCOMPARE(sqlite3_open(db.toUtf8().constData(), &h), SQLITE_OK);
            QCOMPARE(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            QCOMPARE(sqlite3_close(h), SQLITE_OK);   // the last connection: the WAL is folded in
        };
        // Run 1 left "running" by a writer that is gone (pid 2^22 + 1 is above Linux's pid_max
        // default), with a token id no vocabulary has in its stored samples.
        exec("UPDATE runs SET status = 'running', writer_pid = 4194305, writer_start = 1, finished = NULL;"
             "UPDATE samples SET token_ids = X'010000009F860100' WHERE iteration = 0 AND idx = 0");   // int32 ids 1, 99999
        const QByteArray before = sha(db);
        auto unchanged = [&](const QStringList& args, const QString& words) {
            Result r = cli(args);
            QVERIFY2(r.code == 2 && r.err.contains(words), qPrintable(QString("%1: exit %2: %3").arg(args.join(' ')).arg(r.code).arg(r.err)));
            QCOMPARE(sha(db), before);
            QVERIFY(!QFile::exists(db + "-wal") || QFileInfo(db + "-wal").size() == 0);
        };
        unchanged(QStringList(base) << "--method" << "recontrol" << "--set" << "value_model=/nonexistent", "/nonexistent");
        unchanged(QStringList(base) << "--method" << "bon" << "--set" << "vote=1" << "--set" << "answer_regex=(", "answer_regex");
        unchanged({"run", "--db", db, "--resume", "1"}, "99999");
        unchanged({"run", "--db", db, "--resume", "7"}, "no run with id 7");
        // The control: the same session still takes a good run (and so does change).
        r = cli(QStringList(base) << "--method" << "bon" << "--set" << "n=2" << "--set" << "max_new_tokens=3");
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(sha(db) != before || QFileInfo(db + "-wal").size() > 0);
    }

    // Item 15: a session resumes against a copy of its models (another clone, another machine):
    // the weights are identified by content, not modification time.  Sessions recorded with the
    // older, mtime-based fingerprint still resume where they were written.
    void resumesAgainstACopyOfTheModels()
    {
        const fs::path demo = (kResources + "/models/demo-lm").toStdString();
        const QString a = tmp.filePath("clone-a/demo-lm"), b = tmp.filePath("clone-b/demo-lm");
        for (const QString& d : {a, b}) {
            fs::create_directories(d.toStdString());
            fs::copy(demo, d.toStdString(), fs::copy_options::overwrite_existing | fs::copy_options::recursive);
        }
        // The second clone's files are a day younger, as after a fresh checkout elsewhere.
        for (const auto& e : fs::directory_iterator(b.toStdString()))
            fs::last_write_time(e.path(), fs::last_write_time(e.path()) + std::chrono::hours(24));
        const auto ia = cli({"inspect", a, "--json"}).json(), ib = cli({"inspect", b, "--json"}).json();
        QCOMPARE(ia["weights_fingerprint"], ib["weights_fingerprint"]);
        QVERIFY(ia["weights_fingerprint_mtime"] != ib["weights_fingerprint_mtime"]);   // the old one differed
        // A run made with clone A, cut short, resumed with clone B.
        const QString db = tmp.filePath("clones.sqlite");
        Result r = cli({"run", "--method", "bon", "--model", a, "--reward", "lexicon", "--prompt", "In the beginning", "--db", db,
                        "--set", "n=4", "--set", "batch=2", "--set", "max_new_tokens=3"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto exec = [&](const std::string& sql) {
            sqlite3* h = nullptr;
            QCOMPARE(sqlite3_open(db.toUtf8().constData(), &h), SQLITE_OK);
            QCOMPARE(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(h);
        };
        const std::string cut = "DELETE FROM samples WHERE iteration = 1; DELETE FROM iterations WHERE iteration = 1; "
                                "DELETE FROM finals; UPDATE runs SET status = 'cancelled';";
        exec(cut);
        r = cli({"run", "--db", db, "--resume", "1", "--model", b});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        // A run recorded with the old fingerprint (clone B's, with its mtimes) resumes with clone B,
        // and is refused with a model that differs (the negative control).
        exec(cut + "UPDATE runs SET base_model = json_set(base_model, '$.weights_fingerprint', '" +
             ib["weights_fingerprint_mtime"].get<std::string>() + "')");
        r = cli({"run", "--db", db, "--resume", "1", "--model", b});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        exec(cut);
        r = cli({"run", "--db", db, "--resume", "1", "--model", "demo-math-lm"});
        QVERIFY2(r.code == 2 && r.err.contains("other models"), qPrintable(r.err));
    }

    // Found by test_fuzz_cli: a resumed run's damaged settings (its config, its template) were
    // refused with messages that named neither the session nor the run.
    void resumedSettingsNameTheSession()
    {
        const QString db = tmp.filePath("settings.sqlite");
        Result r = cli({"run", "--method", "bon", "--reward", "lexicon", "--prompt", "a", "--db", db, "--set", "n=4",
                        "--set", "batch=2", "--set", "max_new_tokens=2"});
        QCOMPARE(r.code, 0);
        for (const char* sql : {"UPDATE runs SET config = json_set(config, '$.n', -5)", "UPDATE runs SET prompt_template = '{'"}) {
            sqlite3* h = nullptr;
            QCOMPARE(sqlite3_open(db.toUtf8().constData(), &h), SQLITE_OK);
            const std::string all = std::string("DELETE FROM finals; UPDATE runs SET status = 'cancelled'; ") + sql;
            QCOMPARE(sqlite3_exec(h, all.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(h);
            r = cli({"run", "--db", db, "--resume", "1"});
            QVERIFY2(r.code == 2 && r.err.contains("settings.sqlite") && r.err.contains("run 1"), qPrintable(QString(sql) + ": " + r.err));
        }
    }
};

QTEST_GUILESS_MAIN(TestBadInput)
#include "test_bad_input.moc"
