// Bad input, round 2 (issue 35), driven through the built rudder-cli as a user or an attacker
// would: every refusal exits 2 with one message naming the file and the field, is bounded in
// memory and time, and leaves the session file byte-identical.
#include <QtTest>

#include <sqlite3.h>
#include <sys/resource.h>

#include <filesystem>
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
};

QTEST_GUILESS_MAIN(TestBadInput)
#include "test_bad_input.moc"
