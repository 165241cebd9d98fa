// `rudder-cli tokenize` driven as a user would: JSON lines through stdin, ids or text out.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "byte_chars.h"

#include <fstream>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

using rudder::testing::byteChar;

struct Result {
    int code;
    QString out, err;
};

} // namespace

class TestCliTokenize : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;

    Result run(const QStringList& args, const QByteArray& input)
    {
        QProcess p;
        p.start(RUDDER_BINARY_DIR "/app/cli/rudder-cli", QStringList{"tokenize"} + args);
        if (!p.waitForStarted(10000)) return {-1, {}, "did not start"};
        p.write(input);
        p.closeWriteChannel();
        p.waitForFinished(60000);
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
    }

private Q_SLOTS:
    void initTestCase()
    {
        // Byte-level BPE without merges: ids 0..255 are bytes; <|end|> 256 and <s> 257 special.
        json vocab = json::object();
        for (int b = 0; b < 256; ++b) vocab[byteChar(b)] = b;
        auto added = [](int id, const char* c) {
            return json{{"id", id}, {"content", c}, {"single_word", false}, {"lstrip", false},
                        {"rstrip", false}, {"normalized", false}, {"special", true}};
        };
        json tok = {
            {"added_tokens", {added(256, "<|end|>"), added(257, "<s>")}},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
            {"post_processor", nullptr},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}},
        };
        std::ofstream(dir_.path().toStdString() + "/tokenizer.json") << tok.dump();
        std::ofstream(dir_.path().toStdString() + "/tokenizer_config.json")
            << json{{"add_bos_token", true}, {"bos_token", "<s>"}}.dump();
    }

    void encodes()
    {
        auto r = run({"--tokenizer", dir_.path()}, "\"hi\"\n\"a<|end|>\"\n\"\\u00e9\"\n");
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QString("[104,105]\n[97,256]\n[195,169]\n"));
        r = run({"--tokenizer", dir_.path() + "/tokenizer.json", "--add-special"}, "\"hi\"\n");
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QString("[257,104,105]\n"));
    }

    void decodes()
    {
        auto r = run({"--tokenizer", dir_.path(), "--decode"}, "[104,105,256]\n[195]\n");
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QString::fromUtf8("\"hi<|end|>\"\n\"\xEF\xBF\xBD\"\n"));
        r = run({"--tokenizer", dir_.path(), "--decode", "--skip-special"}, "[104,105,256]\n");
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QString("\"hi\"\n"));
    }

    void malformedLineIsNamed()
    {
        auto r = run({"--tokenizer", dir_.path()}, "\"ok\"\nnot json\n\"later\"\n");
        QVERIFY(r.code != 0);
        QCOMPARE(r.out, QString("[111,107]\n"));
        QVERIFY2(r.err.contains("line 2"), qPrintable(r.err));
        r = run({"--tokenizer", dir_.path()}, "[1,2]\n");
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("line 1") && r.err.contains("string"), qPrintable(r.err));
        r = run({"--tokenizer", dir_.path(), "--decode"}, "[1]\n[\"x\"]\n");
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("line 2"), qPrintable(r.err));
    }

    void userMistakes()
    {
        auto r = run({"--tokenizer", dir_.path() + "/missing"}, "");
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("missing"), qPrintable(r.err));
        r = run({"--tokenizer", dir_.path(), "--skip-special"}, "");
        QCOMPARE(r.code, 2);
    }
};

QTEST_GUILESS_MAIN(TestCliTokenize)
#include "test_cli_tokenize.moc"
