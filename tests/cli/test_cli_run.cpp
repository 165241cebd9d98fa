// rudder-cli run / compare / inspect, driven as a user would: QProcess on the built binary.
// Usage errors (exit 2, message naming the flag/file/line), inspect against an independent
// SHA-256 (QCryptographicHash), and on the demo models: a small BoN run into a temp session,
// SIGKILL mid-run then --resume reproducing the uninterrupted result, Ctrl-C marking a run cancelled.
#include <QtTest>
#include <map>
#include <QDir>

#include <signal.h>
#include <sqlite3.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "rudder/methods.h"
#include "rudder/session_db.h"

using namespace rudder;

namespace {

using testing::cli;
using testing::finalTexts;
using testing::kCli;
using testing::storedIterations;
using Result = testing::CliResult;

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

#define REQUIRE_DEMO_MODELS()                                                                       \
    do {                                                                                            \
        if (!haveDemoModels()) QFAIL("resources/models/demo-lm or demo-rm is missing (they ship with Rudder)"); \
    } while (0)

// Starts the CLI and returns once `minIterations` iterations of run 1 are committed.
bool startAndWait(QProcess& p, const QStringList& args, const QString& db, int64_t minIterations)
{
    p.start(kCli, args);
    if (!p.waitForStarted()) return false;
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 60000) {
        if (storedIterations(db, 1) >= minIterations) return true;
        if (p.state() == QProcess::NotRunning) return false;
        QTest::qWait(20);
    }
    return false;
}

nlohmann::json parseJson(const QString& s)
{
    try {
        return nlohmann::json::parse(s.toStdString());
    } catch (const std::exception& e) {
        qWarning("not JSON: %s\n%s", e.what(), qPrintable(s));
        return nlohmann::json::object();
    }
}

QString str(const nlohmann::json& v) { return v.is_string() ? QString::fromStdString(v.get<std::string>()) : QString(); }

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

    // `rudder-cli methods` (issue 37 item 8): the --set keys of every method, as the descriptors
    // define them (the GUI's sliders read the same), and each method's presets.
    void methodsListsTheDescriptors()
    {
        Result r = cli({"methods", "--json"});
        QCOMPARE(r.code, 0);
        const nlohmann::json all = parseJson(r.out);
        QCOMPARE(all.size(), allMethods().size());
        for (size_t i = 0; i < allMethods().size(); ++i) {
            const MethodInfo& m = allMethods()[i];
            QCOMPARE(all[i]["id"].get<std::string>(), m.id);
            QCOMPARE(all[i]["presets"].size(), m.presets.size());
            for (size_t k = 0; k < m.params.size(); ++k) {
                const auto& p = all[i]["params"][k];
                QCOMPARE(p["key"].get<std::string>(), m.params[k].key);
                QCOMPARE(p["default"].get<double>(), m.params[k].def);
                QCOMPARE(p["min"].get<double>(), m.params[k].min);
                QCOMPARE(p["max"].get<double>(), m.params[k].max);
            }
        }
        r = cli({"methods", "aisp"});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("--set sigma=") && r.out.contains("--set adaptive_lambda=0") && r.out.contains("preset: "), qPrintable(r.out));
        r = cli({"methods", "nope"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("nope") && r.err.contains("qalign"), qPrintable(r.err));
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

    void badDatasetLinesAreNamedAndNoRunIsRecorded()
    {
        REQUIRE_DEMO_MODELS();
        const QString db = tmp.filePath("baddata.sqlite");
        // Invalid UTF-8 inside the prompt string, and a prompt that is a number.
        writeFile(tmp.filePath("utf8.jsonl"), QByteArray("{\"prompt\": \"ok\"}\n{\"prompt\": \"caf\xC3\x28\"}\n"));
        auto r = cli({"run", "--method", "bon", "--dataset", tmp.filePath("utf8.jsonl"), "--db", db});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("utf8.jsonl") && r.err.contains("line 2"), qPrintable(r.err));
        writeFile(tmp.filePath("number.jsonl"), "{\"prompt\": 42}\n");
        r = cli({"run", "--method", "bon", "--dataset", tmp.filePath("number.jsonl"), "--db", db});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("number.jsonl") && r.err.contains("not a string"), qPrintable(r.err));
        // A 1 MB line: far past the demo LM's 256 positions. Refused with the file and line named,
        // before a run is recorded; the session keeps what it had (nothing).
        QByteArray big = "{\"prompt\": \"ok\"}\n{\"prompt\": \"";
        for (int i = 0; i < 100000; ++i) big += "In the be ";
        big += "\"}\n";
        writeFile(tmp.filePath("long.jsonl"), big);
        r = cli({"run", "--method", "bon", "--dataset", tmp.filePath("long.jsonl"), "--db", db, "--set", "n=2"}, {}, 120000);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("long.jsonl") && r.err.contains("line 2") && r.err.contains("positions"), qPrintable(r.err));
        if (QFile::exists(db)) {
            auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
            QCOMPARE(int(s.listRuns().size()), 0);
        }
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

    // random-model writes a directory the loaders accept, at the shape asked for; bad options exit 2.
    void randomModelWritesALoadableDirectory()
    {
        QTemporaryDir tmp;
        const QString out = tmp.filePath("rnd");
        auto r = cli({"random-model", "--tiny", "qwen3", "--out", out, "--seed", "3"});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("Qwen3ForCausalLM"), qPrintable(r.out + r.err));
        auto i = cli({"inspect", out, "--json"});
        QCOMPARE(i.code, 0);
        const QJsonObject o = QJsonDocument::fromJson(i.out.toUtf8()).object();
        QCOMPARE(o["architecture"].toString(), QString("Qwen3ForCausalLM"));
        QVERIFY(o["parameters"].toDouble() > 1000);
        QVERIFY(QFile::exists(out + "/tokenizer.json"));
        r = cli({"random-model", "--out", out});
        QCOMPARE(r.code, 2);   // neither --tiny nor --config
        r = cli({"random-model", "--tiny", "nosuch", "--out", out});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("nosuch"), qPrintable(r.err));
    }

    void compareUsageErrors()
    {
        // ARGS and RE-Control run at their own cost next to matched methods; alone there is
        // nothing to match.
        auto r = cli({"compare", "--methods", "args,recontrol", "--budget", "64"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("budget knob"), qPrintable(r.err));
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
        QCOMPARE(str(j["architecture"]), QString("LlamaForSequenceClassification"));
        QCOMPARE(str(j["model_type"]), QString("llama"));
        QCOMPARE(j["parameters"].get<int64_t>(), int64_t(params));   // 80 + 4*64 + 3*128 + 3*8 + 8 = 752
        QCOMPARE(params, qint64(752));
        QCOMPARE(str(j["stored_dtype"]), QString("bf16"));   // 720 of the 752 are BF16
        QCOMPARE(str(j["reward_head"]), QString("score"));
        QCOMPARE(j["hidden_size"].get<int>(), 8);
        QCOMPARE(j["layers"].get<int>(), 1);
        QCOMPARE(str(j["config_sha256"]),
                 QString(QCryptographicHash::hash(config, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(str(j["weights_fingerprint"]).size(), qsizetype(64));

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

    // ---- on the demo models ----

    // Repo ids resolved in a Hugging Face cache laid out as huggingface_hub writes it (refs,
    // snapshots of symlinks, blobs) under a temporary HOME: listed, inspected, run, recorded with
    // their commit; what is missing is named with the command that would fetch it elsewhere.
    void huggingFaceCacheRepoIds()
    {
        REQUIRE_DEMO_MODELS();
        namespace fs = std::filesystem;
        const QString res = qEnvironmentVariable("RUDDER_RESOURCES", RUDDER_TEST_DATA "/../resources");
        const fs::path home = tmp.filePath("home").toStdString(), hub = home / ".cache" / "huggingface" / "hub";
        const std::string c1(40, 'a'), c2(40, 'b'), c3(40, 'c');
        auto add = [&](const std::string& repo, const QString& from, const std::string& commit, const std::string& ref) {
            const fs::path d = hub / ("models--" + repo.substr(0, repo.find('/')) + "--" + repo.substr(repo.find('/') + 1));
            fs::create_directories(d / "blobs");
            fs::create_directories(d / "snapshots" / commit);
            for (const auto& f : fs::directory_iterator(from.toStdString())) {
                const std::string blob = commit.substr(0, 8) + "-" + f.path().filename().string();
                fs::copy_file(f.path(), d / "blobs" / blob, fs::copy_options::overwrite_existing);
                fs::create_symlink(fs::path("..") / ".." / "blobs" / blob, d / "snapshots" / commit / f.path().filename());
            }
            fs::create_directories(d / "refs");
            std::ofstream(d / "refs" / ref) << commit;   // no newline, as huggingface_hub writes it
            return d;
        };
        add("rudder-test/demo-lm", res + "/models/demo-lm", c1, "main");
        add("rudder-test/demo-lm", res + "/models/demo-lm", c2, "v1");
        const fs::path rm = add("rudder-test/demo-rm", res + "/models/demo-rm", c3, "main");
        const QByteArray oldHome = qgetenv("HOME"), oldCache = qgetenv("HF_HUB_CACHE"), oldHfHome = qgetenv("HF_HOME");
        qputenv("HOME", QByteArray::fromStdString(home.string()));
        qunsetenv("HF_HUB_CACHE");
        qunsetenv("HF_HOME");
        struct Restore {
            QByteArray h, c, hh;
            ~Restore()
            {
                qputenv("HOME", h);
                if (!c.isEmpty()) qputenv("HF_HUB_CACHE", c);
                if (!hh.isEmpty()) qputenv("HF_HOME", hh);
            }
        } restore{oldHome, oldCache, oldHfHome};

        // Downloaded by commit (no refs/main): listed by its snapshot; an empty entry is skipped,
        // and neither stops the listing of the others.
        const fs::path byCommit = add("rudder-test/by-commit", res + "/models/demo-rm", std::string(40, 'd'), "main");
        fs::remove(byCommit / "refs" / "main");
        fs::create_directories(hub / "models--rudder-test--empty");
        auto r = cli({"models", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto list = r.json();
        QCOMPARE(int(list.size()), 3);
        QCOMPARE(list[0]["repo"].get<std::string>(), std::string("rudder-test/by-commit"));
        QCOMPARE(list[0]["revision"].get<std::string>(), std::string(40, 'd'));
        QCOMPARE(list[1]["repo"].get<std::string>(), std::string("rudder-test/demo-lm"));
        QCOMPARE(list[1]["kind"].get<std::string>(), std::string("causal LM"));
        QCOMPARE(list[1]["commit"].get<std::string>(), c1);
        QCOMPARE(list[2]["kind"].get<std::string>(), std::string("reward model"));
        uint64_t bytes = 0;
        for (const auto& f : fs::directory_iterator((res + "/models/demo-rm").toStdString())) bytes += f.file_size();
        QCOMPARE(list[2]["bytes"].get<uint64_t>(), bytes);

        r = cli({"inspect", "rudder-test/demo-lm@v1", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(r.json()["hub"]["commit"].get<std::string>(), c2);

        const QString db = tmp.filePath("hub.sqlite");
        r = cli({"run", "--db", db, "--model", "rudder-test/demo-lm", "--reward", "rudder-test/demo-rm", "--method", "bon",
                 "--set", "n=2", "--set", "max_new_tokens=4", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        {
            auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
            const auto run = s.loadRun(1, false);
            QCOMPARE(run.info.base_model["spec"].get<std::string>(), "rudder-test/demo-lm@" + c1);
            QCOMPARE(run.info.base_model["hub"]["revision"].get<std::string>(), std::string("main"));
            QCOMPARE(run.info.reward_model["hub"]["commit"].get<std::string>(), c3);
        }

        r = cli({"inspect", "rudder-test/absent"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("not in the Hugging Face cache") && r.err.contains("huggingface-cli download rudder-test/absent"),
                 qPrintable(r.err));
        r = cli({"inspect", "rudder-test/demo-lm@v9"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("revision v9") && r.err.contains("main, v1") && r.err.contains("--revision v9"), qPrintable(r.err));
        // Roles swapped: said plainly.
        r = cli({"run", "--db", db, "--model", "rudder-test/demo-rm", "--method", "bon", "--set", "n=1"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("is a reward model") && r.err.contains("not as the base model"), qPrintable(r.err));
        r = cli({"run", "--db", db, "--reward", "rudder-test/demo-lm", "--method", "bon", "--set", "n=1"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("is a causal LM") && r.err.contains("not as a reward"), qPrintable(r.err));
        // An interrupted download: a snapshot file whose blob is missing.
        fs::remove(rm / "blobs" / (c3.substr(0, 8) + "-model.safetensors"));
        r = cli({"inspect", "rudder-test/demo-rm"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("model.safetensors") && r.err.contains("did not finish"), qPrintable(r.err));
    }

    // ArmoRM end to end: a random-weight ArmoRM-shaped reward whose tokenizer has the Llama-3
    // header tokens scores runs; every sample carries its 19 objectives into the session and the
    // export (QAlign's chain states too), and the gate reads the header the template rendered.
    void armoRewardObjectivesReachTheSession()
    {
        REQUIRE_DEMO_MODELS();
        const QString res = qEnvironmentVariable("RUDDER_RESOURCES", RUDDER_TEST_DATA "/../resources");
        const QString tok = tmp.filePath("llama3-like-tok");
        QDir().mkpath(tok);
        {
            QFile in(res + "/models/demo-lm/tokenizer.json");
            QVERIFY(in.open(QIODevice::ReadOnly));
            auto t = nlohmann::json::parse(in.readAll().toStdString());
            int id = 2048;
            for (const char* s : {"<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"})
                t["added_tokens"].push_back({{"id", id++}, {"content", s}, {"single_word", false}, {"lstrip", false},
                                             {"rstrip", false}, {"normalized", false}, {"special", true}});
            writeFile(tok + "/tokenizer.json", QByteArray::fromStdString(t.dump()));
            QFile cin(res + "/models/demo-lm/tokenizer_config.json");
            QVERIFY(cin.open(QIODevice::ReadOnly));
            auto c = nlohmann::json::parse(cin.readAll().toStdString());
            c.erase("added_tokens_decoder");
            c["chat_template"] = "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
                                 "{{ m['content'] }}<|eot_id|>{% endfor %}";
            writeFile(tok + "/tokenizer_config.json", QByteArray::fromStdString(c.dump()));
        }
        const QString cfg = writeFile(tmp.filePath("armo-e2e.json"),
                                      R"({"model_type": "llama", "architectures": ["LlamaForRewardModelWithGating"],
                                          "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                                          "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 2056,
                                          "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "bos_token_id": 0,
                                          "eos_token_id": 1, "pad_token_id": 2,
                                          "num_objectives": 19, "gating_hidden_dim": 8, "gating_n_hidden": 3})");
        const QString armo = tmp.filePath("armo-e2e");
        auto w = cli({"random-model", "--config", cfg, "--out", armo, "--head", "armo_gating", "--tokenizer", tok});
        QVERIFY2(w.code == 0, qPrintable(w.err));
        QVERIFY2(cli({"inspect", armo}).out.contains("llama3"), "the RM's template is Llama 3's");
        const QString db = tmp.filePath("armo.sqlite");
        for (const QStringList& m : {QStringList{"--method", "bon", "--set", "n=3"},
                                     QStringList{"--method", "qalign", "--set", "chains=2", "--set", "steps=3",
                                                 "--set", "scale=0", "--set", "beta=1"}}) {
            auto r = cli(QStringList{"run", "--db", db, "--reward", armo, "--gold", "none", "--set", "max_new_tokens=6"} + m);
            QVERIFY2(r.code == 0, qPrintable(r.err));
        }
        auto e = cli({"export", "--db", db, "--format", "json", "--out", "-"});
        QVERIFY2(e.code == 0, qPrintable(e.err));
        const auto doc = e.json();
        QCOMPARE(int(doc["runs"].size()), 2);
        for (const auto& run : doc["runs"]) {
            QCOMPARE(run["reward_model"]["objectives"].size(), size_t(19));   // ArmoRM's attribute names
            QCOMPARE(run["reward_model"]["objectives"][10].get<std::string>(), std::string("beavertails-is_safe"));
            QVERIFY(!run["samples"].empty());
            for (const auto& s : run["samples"]) {
                QVERIFY2(s["reward_objectives"].is_array() && s["reward_objectives"].size() == 19, s.dump().c_str());
                QVERIFY(std::isfinite(s["reward"].get<double>()));
            }
        }
    }

    void inspectDemoModels()
    {
        REQUIRE_DEMO_MODELS();
        const QString res = qEnvironmentVariable("RUDDER_RESOURCES", RUDDER_SOURCE_RESOURCES);
        auto lm = parseJson(cli({"inspect", res + "/models/demo-lm", "--json"}).out);
        QCOMPARE(str(lm["architecture"]), QString("LlamaForCausalLM"));
        QCOMPARE(str(lm["reward_head"]), QString());
        QVERIFY(lm["parameters"].get<int64_t>() > 0);
        QVERIFY2(!str(lm["tokenizer_type"]).isEmpty() && !str(lm["tokenizer_type"]).contains("unsupported"),
                 qPrintable(str(lm["tokenizer_type"])));
        QCOMPARE(str(lm["kind"]), QString("causal LM"));
        auto rm = parseJson(cli({"inspect", res + "/models/demo-rm", "--json"}).out);
        QCOMPARE(str(rm["reward_head"]), QString("score"));
        QCOMPARE(str(rm["kind"]), QString("reward model"));
        QCOMPARE(str(rm["pooling"]), QString("last token"));
        // An ArmoRM-shaped model: its head and pooling named.
        const QString armo = tmp.filePath("armo");
        const QString cfg = writeFile(tmp.filePath("armo-config.json"),
                                      R"({"model_type": "llama", "architectures": ["LlamaForRewardModelWithGating"],
                                          "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                                          "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
                                          "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
                                          "num_objectives": 19, "gating_hidden_dim": 8, "gating_n_hidden": 3})");
        auto w = cli({"random-model", "--config", cfg, "--out", armo, "--head", "armo_gating"});
        QVERIFY2(w.code == 0, qPrintable(w.err));
        auto a = parseJson(cli({"inspect", armo, "--json"}).out);
        QCOMPARE(str(a["reward_head"]), QString("armo_gating"));
        QVERIFY2(str(a["pooling"]).contains("assistant header"), qPrintable(str(a["pooling"])));
    }

    // A dataset run into a temp session: one run covering every prompt, what --json prints is
    // what the session holds.
    void smallBonRunIntoTempDb()
    {
        REQUIRE_DEMO_MODELS();
        const QString data = writeFile(tmp.filePath("three.jsonl"),
                                       "{\"prompt\": \"In the beginning\"}\n{\"prompt\": \"And the LORD said\"}\n"
                                       "{\"prompt\": \"Blessed are\"}\n");
        const QString db = tmp.filePath("bon.sqlite");
        auto r = cli({"run", "--method", "bon", "--reward", "lexicon", "--dataset", data, "--limit", "2", "--db", db,
                      "--set", "n=4", "--set", "batch=2", "--set", "max_new_tokens=6", "--seed", "5", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("--resume 1"), qPrintable(r.err));   // the run id, for resuming
        auto j = parseJson(r.out);
        QCOMPARE(str(j["status"]), QString("done"));
        QCOMPARE(j["run_id"].get<int>(), 1);
        auto fin = j["final"];
        QCOMPARE(fin.size(), size_t(2));
        QCOMPARE(str(fin[1]["prompt"]), QString("And the LORD said"));
        QCOMPARE(j["budget"]["samples"].get<int>(), 8);   // 2 prompts x n=4
        // The lexicon reward is the mean AFINN valence of the words: within [-5, 5].
        for (const auto& f : fin) QVERIFY(std::abs(f["reward"].get<double>()) <= 5.0);
        // Text metrics of the answers (AISP paper, App. C.4): diversity is a product of (1 - rep-n),
        // coherence a cosine; both are reported with the encoder that produced the embeddings.
        const auto& sum = j["summary"];
        QVERIFY2(sum.contains("mean_diversity") && sum["mean_diversity"].is_number(), sum.dump().c_str());
        QVERIFY(sum["mean_diversity"].get<double>() >= 0.0 && sum["mean_diversity"].get<double>() <= 1.0);
        QVERIFY(sum["mean_coherence"].is_number());
        QVERIFY(std::abs(sum["mean_coherence"].get<double>()) <= 1.0 + 1e-9);
        QVERIFY(str(sum["coherence_encoder"]).contains("mean-pooled"));

        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        StoredRun run = s.loadRun(1);
        QCOMPARE(run.row.status, RunStatus::Done);
        QCOMPARE(run.info.method, std::string("bon"));
        QCOMPARE(run.info.config["n"].get<int>(), 4);
        QCOMPARE(run.info.seed, uint64_t(5));
        QCOMPARE(run.prompts.size(), size_t(2));
        QCOMPARE(QString::fromStdString(run.prompts[0].source), data);
        QCOMPARE(run.prompts[1].row.value_or(-1), int64_t(1));
        QCOMPARE(run.iterations.size(), size_t(4));   // 2 prompts x (n / batch) iterations
        QCOMPARE(run.final.size(), size_t(2));
        for (size_t i = 0; i < 2; ++i)
            QCOMPARE(QString::fromStdString(run.final[i].text), str(fin[int(i)]["text"]));
    }

    // RE-Control from the command line: train-value keeps the value model beside the session
    // under its training key; the same inputs find it again; a run without --value reuses it and
    // records the file in its config; bad --value input is a usage error naming the file.
    void reControlTrainsOnceAndRuns()
    {
        REQUIRE_DEMO_MODELS();
        const QString data = writeFile(tmp.filePath("rc.jsonl"), "{\"prompt\": \"In the beginning\"}\n{\"prompt\": \"Blessed are\"}\n");
        const QString db = tmp.filePath("rc.sqlite");
        const QStringList train = {"--dataset", data, "--set", "train_samples=4", "--set", "train_epochs=2",
                                   "--set", "max_new_tokens=6", "--db", db, "--seed", "3"};
        auto r = cli(QStringList{"train-value", "--json"} + train);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto j = parseJson(r.out);
        const QString path = str(j["path"]);
        QVERIFY2(path.startsWith(tmp.filePath("rc.values/value-")), qPrintable(path));
        QVERIFY(QFile::exists(path));
        QCOMPARE(j["reused"].get<bool>(), false);
        QCOMPARE(j["responses"].get<int>(), 8);
        QCOMPARE(j["collection"]["samples"].get<int>(), 8);
        QVERIFY(j["train_loss"].size() == 2 && j["calibration"].size() >= 1);
        r = cli(QStringList{"train-value", "--json"} + train);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(parseJson(r.out)["reused"].get<bool>(), true);
        // The run: same prompts, settings and seed -> the same key, the file reused.
        r = cli(QStringList{"run", "--method", "recontrol", "--json"} + train);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("reused"), qPrintable(r.err));
        j = parseJson(r.out);
        QCOMPARE(j["final"].size(), size_t(2));
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun run = s.loadRun(j["run_id"].get<int64_t>());
        QCOMPARE(QString::fromStdString(run.info.config["value_model"].get<std::string>()), QFileInfo(path).absoluteFilePath());
        QVERIFY(run.iterations.at(0).stats.contains("training"));
        // --info reads the record back; bad --value input is refused before anything runs.
        r = cli({"train-value", "--info", path, "--json"});
        QVERIFY2(r.code == 0 && parseJson(r.out)["responses"].get<int>() == 8, qPrintable(r.err));
        r = cli({"run", "--method", "recontrol", "--value", tmp.filePath("nope.safetensors"), "--db", db});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("nope.safetensors"), qPrintable(r.err));
        r = cli({"run", "--method", "bon", "--value", path, "--db", db});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("recontrol"), qPrintable(r.err));
        r = cli({"run", "--method", "recontrol", "--value", data, "--db", db});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("rc.jsonl"), qPrintable(r.err));
    }

    // SIGKILL mid-run, then --resume: the final answers equal an uninterrupted run's.
    void resumeAfterSigkillMatchesUninterrupted()
    {
        REQUIRE_DEMO_MODELS();
        auto args = [](const QString& db) {
            return QStringList{"run", "--method", "bon", "--reward", "lexicon", "--gold", "none", "--db", db,
                               "--seed", "11", "--prompt", "In the beginning", "--prompt", "And the LORD said",
                               "--set", "n=20", "--set", "batch=1", "--set", "max_new_tokens=6", "--json"};
        };
        const int64_t total = 40;   // iterations: 2 prompts x 20
        const QString whole = tmp.filePath("whole.sqlite"), killed = tmp.filePath("killed.sqlite");
        auto u = cli(args(whole));
        QVERIFY2(u.code == 0, qPrintable(u.err));
        const auto expected = finalTexts(parseJson(u.out));
        QCOMPARE(expected.size(), 2);

        QProcess p;
        QVERIFY2(startAndWait(p, args(killed), killed, 3), qPrintable(QString::fromUtf8(p.readAllStandardError())));
        ::kill(pid_t(p.processId()), SIGKILL);
        QVERIFY(p.waitForFinished());
        const int64_t atKill = storedIterations(killed, 1);
        QVERIFY2(atKill >= 3 && atKill < total, qPrintable(QString::number(atKill)));   // really mid-run
        {
            auto s = SessionDb::open(killed.toStdString(), SessionDb::Mode::ReadOnly);
            QVERIFY(s.loadRun(1, false).row.status != RunStatus::Done);
        }

        {   // A copy whose stored tokens lie outside the vocabulary: refused (exit 2), nothing written.
            const QString damaged = tmp.filePath("damaged.sqlite");
            sqlite3* raw = nullptr;
            QCOMPARE(sqlite3_open_v2(killed.toUtf8().constData(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
            QCOMPARE(sqlite3_exec(raw, ("VACUUM INTO '" + damaged.toStdString() + "'").c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(raw);
            QCOMPARE(sqlite3_open(damaged.toUtf8().constData(), &raw), SQLITE_OK);
            QCOMPARE(sqlite3_exec(raw, "UPDATE samples SET token_ids = x'ffffff7f' WHERE rowid = 1", nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(raw);
            auto d = cli({"run", "--db", damaged, "--resume", "1"});
            QCOMPARE(d.code, 2);
            QVERIFY2(d.err.contains(damaged) && d.err.contains("samples.token_ids") && d.err.contains("2147483647"),
                     qPrintable(d.err));
            auto s = SessionDb::open(damaged.toStdString(), SessionDb::Mode::ReadOnly);
            QCOMPARE(s.loadRun(1, false).row.iterations, atKill);
            QVERIFY(s.loadRun(1, false).row.status != RunStatus::Done);
        }

        auto r = cli({"run", "--db", killed, "--resume", "1", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto j = parseJson(r.out);
        QCOMPARE(str(j["status"]), QString("done"));
        QCOMPARE(finalTexts(j), expected);
        QCOMPARE(j["budget"]["samples"].get<int64_t>(), parseJson(u.out)["budget"]["samples"].get<int64_t>());
        auto s = SessionDb::open(killed.toStdString(), SessionDb::Mode::ReadOnly);
        QCOMPARE(int64_t(s.loadRun(1).iterations.size()), total);
        // Resuming flags that contradict the stored run are refused.
        r = cli({"run", "--db", killed, "--resume", "1", "--method", "aisp"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--resume"), qPrintable(r.err));
    }

    // Ctrl-C: the run stops at the next decode step, is marked cancelled, keeps its iterations.
    void ctrlCCancelsAndKeepsIterations()
    {
        REQUIRE_DEMO_MODELS();
        const QString db = tmp.filePath("cancel.sqlite");
        QProcess p;
        QVERIFY(startAndWait(p, {"run", "--method", "bon", "--reward", "lexicon", "--db", db, "--set", "n=2000",
                                 "--set", "batch=1", "--set", "max_new_tokens=6", "--json"},
                             db, 2));
        ::kill(pid_t(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 1);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("cancelled"));
        QCOMPARE(str(parseJson(QString::fromUtf8(p.readAllStandardOutput()))["status"]), QString("cancelled"));
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        auto run = s.loadRun(1, false);
        QCOMPARE(run.row.status, RunStatus::Cancelled);
        QVERIFY(run.row.iterations >= 2 && run.row.iterations < 2000);
    }

    // tune-beta: QAlign's β for a target acceptance from pilot chains; a bad target is a usage error.
    void tuneBetaPrintsAnAbsoluteBeta()
    {
        REQUIRE_DEMO_MODELS();
        auto r = cli({"tune-beta", "--reward", "lexicon", "--gold", "none", "--set", "chains=2", "--set", "max_new_tokens=6",
                      "--steps", "6", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const double beta = parseJson(r.out).value("beta", -1.0);
        QVERIFY2(beta >= 1e-3 && beta <= 1e2, qPrintable(r.out));
        r = cli({"tune-beta", "--reward", "lexicon", "--target", "1.5"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--target"), qPrintable(r.err));
    }

    // Ctrl-C while an external scorer is thinking: the scorer is killed, the run ends cancelled
    // within seconds (not after the scorer's 600 s timeout) and can be resumed.
    void ctrlCReachesTheRewardScorer()
    {
        REQUIRE_DEMO_MODELS();
        const QString db = tmp.filePath("cancel-scoring.sqlite"), started = tmp.filePath("scorer-started");
        QProcess p;
        p.start(kCli, {"run", "--method", "bon", "--reward", "cmd:touch '" + started + "'; sleep 60; echo 0", "--db", db,
                       "--set", "n=2", "--set", "batch=2", "--set", "max_new_tokens=4", "--json"});
        QVERIFY(p.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(started), 60000);   // the scorer is running
        QElapsedTimer t;
        t.start();
        ::kill(pid_t(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(20000));
        QVERIFY2(t.elapsed() < 5000, qPrintable(QString("stopping took %1 ms").arg(t.elapsed())));
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains("cancelled"), qPrintable(err));
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        QCOMPARE(s.loadRun(1, false).row.status, RunStatus::Cancelled);
    }

    // compare at equal samples: AISP n=4 gets K=2 iterations, BoN n=8; both spend 8 samples
    // (AISP one more: its final noiseless decode with V = U).
    void compareMatchesTheSampleBudget()
    {
        REQUIRE_DEMO_MODELS();
        const QString db = tmp.filePath("compare.sqlite");
        auto r = cli({"compare", "--methods", "aisp,bon", "--budget-axis", "samples", "--budget", "8", "--set", "aisp.n=4",
                      "--set", "max_new_tokens=6", "--reward", "lexicon", "--prompt", "In the beginning", "--db", db,
                      "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto runs = parseJson(r.out)["runs"];
        QCOMPARE(runs.size(), size_t(2));
        QCOMPARE(str(runs[0]["method"]), QString("aisp"));
        QCOMPARE(runs[0]["config"]["n"].get<int>(), 4);
        QCOMPARE(runs[0]["config"]["iterations"].get<int>(), 2);
        QCOMPARE(runs[1]["config"]["n"].get<int>(), 8);
        QCOMPARE(runs[0]["budget"]["samples"].get<int>(), 8 + 1);   // what the methods actually spent
        QCOMPARE(runs[1]["budget"]["samples"].get<int>(), 8);
        for (auto& run : runs) QCOMPARE(run["config"]["max_new_tokens"].get<int>(), 6);
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        QCOMPARE(s.listRuns().size(), size_t(2));
        // The table: AISP's weights' ESS by iteration (its events' "ess", averaged over prompts);
        // BoN has no weights.
        r = cli({"compare", "--methods", "aisp,bon", "--budget-axis", "samples", "--budget", "8", "--set", "aisp.n=4",
                 "--set", "max_new_tokens=6", "--reward", "lexicon", "--prompt", "In the beginning", "--db",
                 tmp.filePath("compare-table.sqlite")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        auto t = SessionDb::open(tmp.filePath("compare-table.sqlite").toStdString(), SessionDb::Mode::ReadOnly);
        QString expected = "aisp: ESS of the weights by iteration (mean over prompts):";
        for (const auto& e : t.loadCompletedIterations(1))
            expected += QString::asprintf("%s %.1f of 4", e.iteration ? "," : "", e.stats["ess"].get<double>());
        QVERIFY2(r.out.contains(expected + "\n"), qPrintable(r.out));
        QVERIFY2(!r.out.contains("bon: ESS"), qPrintable(r.out));
    }

    // A sweep, end to end: every point x seed and the reference are runs tagged in the session,
    // the table's paired differences agree with the stored answers, a rerun adds nothing, and
    // bad grids are refused before any run.
    void sweepGridIntoTheSession()
    {
        REQUIRE_DEMO_MODELS();
        const QString db = tmp.filePath("sweep.sqlite");
        const QStringList args = {"sweep", "--method", "aisp", "--grid", "sigma=1,4", "--seeds", "2", "--budget", "8",
                                  "--set", "aisp.n=4", "--set", "max_new_tokens=6", "--reward", "lexicon", "--gold", "none",
                                  "--prompt", "In the beginning", "--prompt", "And the LORD said", "--prompt", "Blessed are",
                                  "--db", db, "--name", "s1", "--json"};
        auto r = cli(args);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto doc = parseJson(r.out);
        QCOMPARE(str(doc["reference"]), QString("bon"));
        QCOMPARE(doc["cells"].size(), size_t(2));
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        const auto rows = s.listRuns();
        QCOMPARE(rows.size(), size_t(6));   // (bon + 2 points) x 2 seeds
        std::map<std::pair<std::string, uint64_t>, std::vector<double>> finals;   // (point label, seed) -> rewards
        for (const auto& row : rows) {
            const auto& t = row.tags["sweep"];
            QCOMPARE(t["name"].get<std::string>(), std::string("s1"));
            const std::string label = t["role"] == "reference" ? "ref" : t["params"].dump();
            if (t["role"] == "point") QCOMPARE(row.config["iterations"].get<int>(), 2);   // 8 samples = 4 x 2
            else QCOMPARE(row.config["n"].get<int>(), 8);
            std::vector<double> v;
            for (const auto& f : s.loadRun(row.id, false).final) v.push_back(f.reward);
            finals[{label, t["seed"].get<uint64_t>()}] = v;
        }
        for (const auto& cell : doc["cells"]) {
            double sum = 0;
            int n = 0;
            for (uint64_t seed : {0, 1})
                for (size_t i = 0; i < 3; ++i, ++n)
                    sum += finals[{cell["params"].dump(), seed}][i] - finals[{"ref", seed}][i];
            QVERIFY(std::abs(cell["proxy_vs_reference"]["mean"].get<double>() - sum / n) < 1e-9);
            QCOMPARE(cell["proxy_vs_reference"]["n"].get<int>(), 6);
        }
        r = cli(args);   // again: everything is already there
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(r.err.count("already in the session"), 6);
        QCOMPARE(SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly).listRuns().size(), size_t(6));
        r = cli({"sweep", "--report-only", "--name", "s1", "--db", db});
        QVERIFY2(r.code == 0 && r.out.contains("bon (reference)"), qPrintable(r.out + r.err));
        r = cli({"sweep", "--report-only", "--name", "nope", "--db", db});
        QCOMPARE(r.code, 2);
        // Refused before any run: the budget's own knob, a foreign key, a malformed grid.
        for (const auto& [grid, says] : std::vector<std::pair<QString, QString>>{
                 {"iterations=2,3", "matched budget"}, {"beta=1,2", "not a parameter"}, {"sigma=", "KEY="}}) {
            r = cli({"sweep", "--method", "aisp", "--grid", grid, "--budget", "8", "--reward", "lexicon", "--db", db});
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains(says), qPrintable(r.err));
        }
        QCOMPARE(SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly).listRuns().size(), size_t(6));
    }

    // A session is a file people share: resuming never runs a command or contacts a server that
    // only the file names (a tampered reward spec here).  Naming it again, or --trust-session, is
    // the consent.
    void resumeNeverRunsTheSessionsCommand()
    {
        REQUIRE_DEMO_MODELS();
        const QString db = tmp.filePath("trust.sqlite"), marker = tmp.filePath("pwned");
        Result r = cli({"run", "--method", "bon", "--reward", "cmd:while read l; do echo 0.5; done", "--gold", "none",
                        "--db", db, "--set", "n=4", "--set", "batch=2", "--set", "max_new_tokens=4"});
        QCOMPARE(r.code, 0);
        const std::string tampered = "cmd:touch " + marker.toStdString() + "; while read l; do echo 0.5; done";   // (tmp paths have no quotes)
        auto exec = [&](const std::string& sql) {
            sqlite3* h = nullptr;
            QCOMPARE(sqlite3_open(db.toUtf8().constData(), &h), SQLITE_OK);
            QCOMPARE(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(h);
        };
        // Cancelled after its first batch (so a resume has samples to score), then tampered with.
        exec("DELETE FROM samples WHERE iteration = 1; DELETE FROM iterations WHERE iteration = 1; DELETE FROM finals;"
             "UPDATE runs SET status = 'cancelled', reward_model = json_set(reward_model, '$.spec', '" + tampered + "')");
        r = cli({"run", "--db", db, "--resume", "1"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("reward") && r.err.contains("runs the command") && r.err.contains("--trust-session"),
                 qPrintable(r.err));
        QVERIFY(!QFile::exists(marker));
        // Named again on the command line: that is the user's own command now.
        r = cli({"run", "--db", db, "--resume", "1", "--reward", QString::fromStdString(tampered)});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(QFile::exists(marker));
        // A recorded server as the base model: refused before any connection, naming the flag.
        exec("UPDATE runs SET status = 'cancelled', base_model = json_set(base_model, '$.spec', 'http://127.0.0.1:9/v1')");
        r = cli({"run", "--db", db, "--resume", "1", "--reward", QString::fromStdString(tampered)});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("connects to http://127.0.0.1:9/v1") && r.err.contains("--model"), qPrintable(r.err));
    }

    // Small refusals of the second fuzz round (item 13): --resume -1 does not start a new run,
    // --limit 0 does not mean "every prompt"; both exit 2 before anything is written.
    void negativeResumeAndZeroLimitAreRefused()
    {
        const QString db = tmp.filePath("refusals.sqlite");
        Result r = cli({"run", "--db", db, "--resume", "-1"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--resume"), qPrintable(r.err));
        r = cli({"run", "--method", "bon", "--reward", "lexicon", "--db", db, "--limit", "0", "--prompt", "a"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--limit"), qPrintable(r.err));
        QVERIFY(!QFile::exists(db));
    }
};

QTEST_GUILESS_MAIN(TestCliRun)
#include "test_cli_run.moc"
