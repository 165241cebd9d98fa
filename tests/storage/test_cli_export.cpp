// `rudder-cli export` / `import` driven as a user would, on sessions this test writes.
#include <QtTest>

#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include "fake_method.h"
#include "rudder/session_db.h"
#include "rudder/sha256.h"

using rudder::SessionDb;
using nlohmann::json;

namespace {

std::string fileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Result {
    int code;
    QString out, err;
};

Result cli(const QStringList& args)
{
    QProcess p;
    p.start(RUDDER_BINARY_DIR "/app/cli/rudder-cli", args);
    if (!p.waitForFinished(120000)) return {-1, {}, "timed out"};
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

int64_t writeRun(SessionDb& db, uint64_t seed, int iterations, int K)
{
    rudder::RunInfo info;
    info.method = "fake";
    info.seed = seed;
    info.config = {{"samples", K}};
    info.base_model = {{"directory", "/models/base"}};
    int64_t run = db.createRun(info);
    db.addPrompt(run, 0, "Write a verse.");
    double u = 0;
    for (int k = 0; k < iterations; ++k) {
        auto e = fake::iteration(seed, k, K, u);
        u = fake::stateAfter({e});
        db.appendIteration(run, e);
    }
    db.setFinal(run, {rudder::FinalAnswer{0, "answer", {1, 2}, -0.5, std::nullopt}});
    db.finishRun(run, rudder::RunStatus::Done, "", {});
    return run;
}

} // namespace

class TestCliExport : public QObject {
    Q_OBJECT
    QTemporaryDir dir;
    std::string session;
    std::string path(const char* name) { return dir.filePath(name).toStdString(); }
    QString qpath(const char* name) { return dir.filePath(name); }

private slots:
    void initTestCase()
    {
        QVERIFY(dir.isValid());
        session = path("runs.rsession");
        auto db = SessionDb::open(session);
        writeRun(db, 1, 3, 4);
        writeRun(db, 2, 2, 5);
    }

    void jsonAllRuns()
    {
        auto r = cli({"export", "--db", QString::fromStdString(session), "--format", "json", "--out", qpath("all.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        json doc = json::parse(fileBytes(path("all.json")));
        QCOMPARE(doc, SessionDb::open(session, SessionDb::Mode::ReadOnly).exportJson());
        QCOMPARE(doc["runs"].size(), size_t(2));
        QCOMPARE(doc["runs"][1]["samples"].size(), size_t(10));
    }

    void jsonSelectedRunToStdout()
    {
        auto r = cli({"export", "--db", QString::fromStdString(session), "--run", "2", "--format", "json", "--out", "-"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        json doc = json::parse(r.out.toStdString());
        QCOMPARE(doc["runs"].size(), size_t(1));
        QCOMPARE(doc["runs"][0]["id"], json(2));
    }

    void csvTwoFiles()
    {
        auto r = cli({"export", "--db", QString::fromStdString(session), "--format", "csv", "--out", qpath("runs.csv")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto db = SessionDb::open(session, SessionDb::Mode::ReadOnly);
        std::ostringstream samples, iterations;
        db.exportCsvSamples({}, samples);
        db.exportCsvIterations({}, iterations);
        QCOMPARE(fileBytes(path("runs.csv")), samples.str());
        QCOMPARE(fileBytes(path("runs.iterations.csv")), iterations.str());
        const std::string it = iterations.str();   // one string: str() returns a fresh copy each call
        QVERIFY(it.rfind("run_id,method,prompt_index,iteration,", 0) == 0);
        QCOMPARE(int(std::count(it.begin(), it.end(), '\n')), 1 + 3 + 2);
    }

    void importIntoAnotherSession()
    {
        QVERIFY(cli({"export", "--db", QString::fromStdString(session), "--format", "json", "--out", qpath("x.json")}).code == 0);
        auto r = cli({"import", "--db", qpath("copy.rsession"), "--in", qpath("x.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto copy = SessionDb::open(path("copy.rsession"), SessionDb::Mode::ReadOnly);
        QCOMPARE(copy.listRuns().size(), size_t(2));
        QCOMPARE(json(copy.loadCompletedIterations(2)),
                 json(SessionDb::open(session, SessionDb::Mode::ReadOnly).loadCompletedIterations(2)));
    }

    void usageErrors()
    {
        auto missing = qpath("nope.rsession");
        auto r = cli({"export", "--db", missing, "--format", "json", "--out", qpath("o.json")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(missing) && r.err.contains("no such session file"), qPrintable(r.err));
        QVERIFY(!QFile::exists(missing));

        r = cli({"export", "--db", QString::fromStdString(session), "--format", "xml", "--out", qpath("o.x")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--format"), qPrintable(r.err));

        r = cli({"export", "--db", QString::fromStdString(session), "--run", "99", "--format", "json", "--out", qpath("o.json")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("no run with id 99"), qPrintable(r.err));

        r = cli({"export", "--db", QString::fromStdString(session), "--format", "json"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--out"), qPrintable(r.err));

        std::string notes = path("notes.txt");
        std::ofstream(notes) << "not a session\n";
        r = cli({"export", "--db", QString::fromStdString(notes), "--format", "json", "--out", qpath("o.json")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(QString::fromStdString(notes)) && r.err.contains("not a SQLite database"), qPrintable(r.err));
        QCOMPARE(fileBytes(notes), std::string("not a session\n"));

        std::ofstream(path("bad.json")) << R"({"schema_version": 1, "runs": [{"method": "bon"}]})";
        r = cli({"import", "--db", qpath("copy2.rsession"), "--in", qpath("bad.json")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("bad.json: runs[0].seed: missing"), qPrintable(r.err));
        QVERIFY(!QFile::exists(qpath("copy2.rsession")));
    }

    // A damaged session is bad input: exit 2, the file and table.column named, the file as it was.
    void damagedSessionIsAUsageError()
    {
        const std::string bytes = fileBytes(session);
        struct Case { const char* sql; const char* field; };
        const Case cases[] = {{"UPDATE samples SET prompt_index = 99", "samples.prompt_index"},
                              {"UPDATE iterations SET stats = '{'", "iterations.stats"}};
        int n = 0;
        for (const Case& c : cases) {
            const QString file = dir.filePath(QString("damaged-%1.rsession").arg(n++));
            std::ofstream(file.toStdString(), std::ios::binary) << bytes;
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open(file.toUtf8().constData(), &db), SQLITE_OK);
            QCOMPARE(sqlite3_exec(db, c.sql, nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(db);
            const std::string before = fileBytes(file.toStdString());
            for (const char* format : {"json", "csv"}) {
                auto r = cli({"export", "--db", file, "--format", format, "--out", qpath("damaged.out")});
                QCOMPARE(r.code, 2);
                QVERIFY2(r.err.contains(file) && r.err.contains(c.field) && r.err.contains("damaged"), qPrintable(r.err));
            }
            QVERIFY(fileBytes(file.toStdString()) == before);
        }
        // Cut short: refused before SQLite reads it.
        const QString cut = dir.filePath("cut.rsession");
        std::ofstream(cut.toStdString(), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
        auto r = cli({"export", "--db", cut, "--format", "json", "--out", qpath("damaged.out")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(cut) && r.err.contains("truncated"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestCliExport)
#include "test_cli_export.moc"
