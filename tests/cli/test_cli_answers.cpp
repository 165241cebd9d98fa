// Questions with a checkable answer through rudder-cli, as a user drives it: `grade` on real
// labelled responses, `import-samples` into a session, `compare --gold answer` on the demo models,
// and the bad inputs each one refuses with the file, line and field.
#include <QtTest>

#include <QFile>
#include <QTemporaryDir>
#include <fstream>

#include "cli_process.h"
#include "rudder/grading.h"
#include "rudder/session_db.h"

using namespace rudder;
using namespace rudder::testing;
using nlohmann::json;

namespace {

CliResult cliWithInput(const QStringList& args, const QByteArray& input)
{
    QProcess p;
    p.start(kCli, args);
    p.write(input);
    p.closeWriteChannel();
    CliResult r;
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

void writeFile(const QString& path, const std::string& text)
{
    std::ofstream f(path.toStdString(), std::ios::binary);
    f << text;
}

} // namespace

class TestCliAnswers : public QObject {
    Q_OBJECT
    QTemporaryDir tmp;
private slots:
    void initTestCase() { QVERIFY(QFile::exists(kCli)); QVERIFY(tmp.isValid()); }

    // `grade` on the committed MATH-500 responses: one line out per line in, the Qwen evaluator's
    // labels matched as the library matches them (>= 97%).
    void gradeMatchesLabels()
    {
        QFile f(RUDDER_TEST_DATA "/grading/data/math-realcritic.jsonl");
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray input = f.readAll();
        const CliResult r = cliWithInput({"grade"}, input);
        QCOMPARE(r.code, 0);
        const QStringList in = QString::fromUtf8(input).split('\n', Qt::SkipEmptyParts);
        const QStringList out = r.out.split('\n', Qt::SkipEmptyParts);
        QCOMPARE(out.size(), in.size());
        int agree = 0;
        for (int i = 0; i < in.size(); ++i) {
            const json a = json::parse(in[i].toStdString()), b = json::parse(out[i].toStdString());
            QVERIFY(b.contains("extracted") && b.contains("reference") && b["correct"].is_boolean());
            agree += b["correct"].get<bool>() == a["label"].get<bool>();
        }
        QVERIFY2(agree * 100 >= in.size() * 97, qPrintable(QString("%1 of %2").arg(agree).arg(in.size())));
        QVERIFY(r.err.contains("graded 268"));
        // The field order the documentation shows.
        QVERIFY(out[0].startsWith("{\"extracted\":"));
    }

    void gradeRefusesMalformedLines()
    {
        CliResult r = cliWithInput({"grade"}, "{\"response\": \"A: 3\", \"reference\": \"#### 3\"}\n{\"response\": 3}\n");
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("line 2") && r.err.contains("response"), qPrintable(r.err));
        r = cliWithInput({"grade"}, "not json\n");
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("line 1"));
        r = cliWithInput({"grade", "--format", "gsm"}, "");
        QCOMPARE(r.code, 2);
        // An unparseable response is graded wrong with extracted null, not refused.
        r = cliWithInput({"grade"}, "{\"response\": \"no idea\", \"reference\": \"#### 3\"}\n");
        QCOMPARE(r.code, 0);
        const json j = json::parse(r.out.toStdString());
        QVERIFY(j["extracted"].is_null());
        QCOMPARE(j["correct"].get<bool>(), false);
    }

    // import-samples: a run of the session with graded samples and k-curves.
    void importSamples()
    {
        const QString file = tmp.filePath("samples.jsonl"), db = tmp.filePath("imported.sqlite");
        writeFile(file,
                  "{\"prompt\": \"1+1?\", \"responses\": [\"\\\\boxed{2}\", \"A: 3\", \"so 2\", \"I think 2.0\"], "
                  "\"rewards\": [0.9, 0.1, 0.5, 0.4], \"answer\": \"2\"}\n"
                  "{\"prompt\": \"half?\", \"responses\": [\"\\\\boxed{\\\\frac12}\", \"0.25\", \"hmm\", \"0.5\"], "
                  "\"rewards\": [0.2, 0.8, 0.0, 0.3], \"answer\": \"\\\\frac{1}{2}\"}\n");
        const CliResult r = cli({"import-samples", file, "--db", db, "--json", "--name", "toy"});
        QCOMPARE(r.code, 0);
        const json j = r.json();
        QCOMPARE(j["n"].get<int>(), 4);
        // Single-sample accuracy: (3/4 + 2/4) / 2.
        QVERIFY(std::fabs(j["accuracy"].get<double>() - 0.625) < 1e-12);
        QCOMPARE(j["curves"]["pass"].size(), size_t(3));   // k = 1, 2, 4
        QCOMPARE(j["curves"]["pass"][2]["mean"].get<double>(), 1.0);
        // Best-of-4 takes the highest reward: prompt 1 "\boxed{2}" (right), prompt 2 "0.25" (wrong).
        QVERIFY(std::fabs(j["curves"]["best_of_n"][2]["mean"].get<double>() - 0.5) < 1e-12);
        QCOMPARE(j["no_answer"].get<int>(), 1);
        QVERIFY(j.contains("mixture"));
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        const StoredRun run = s.loadRun(j["run_id"].get<int64_t>());
        QCOMPARE(run.info.method, std::string("samples"));
        QCOMPARE(run.row.status, RunStatus::Done);
        QCOMPARE(run.prompts.size(), size_t(2));
        QCOMPARE(run.iterations.size(), size_t(2));
        QCOMPARE(*run.iterations[1].samples[0].gold_reward, 1.0);
        QCOMPARE(run.iterations[1].stats["extracted"][0].get<std::string>(), std::string("\\frac12"));
        // The run's answer is the majority answer.
        QCOMPARE(*run.final[1].gold_reward, 1.0);
        // The export carries each sample's extracted answer (accuracy gold only).
        const CliResult ex = cli({"export", "--db", db, "--format", "json", "--out", "-"});
        QCOMPARE(ex.code, 0);
        const json doc = ex.json();
        QCOMPARE(doc["runs"][0]["samples"][4]["extracted_answer"].get<std::string>(), std::string("\\frac12"));
        QVERIFY(doc["runs"][0]["samples"][2].contains("extracted_answer"));
        QCOMPARE(doc["runs"][0]["final"][1]["extracted_answer"].get<std::string>(), std::string("\\frac12"));
    }

    void importRefusesBadLinesAndWritesNothing()
    {
        const QString file = tmp.filePath("bad.jsonl"), db = tmp.filePath("bad.sqlite");
        writeFile(file, "{\"prompt\": \"a\", \"responses\": [\"x\"], \"answer\": \"1\"}\n"
                        "{\"prompt\": \"b\", \"responses\": [\"x\", \"y\"], \"rewards\": [1], \"answer\": \"1\"}\n");
        CliResult r = cli({"import-samples", file, "--db", db});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("line 2") && r.err.contains("rewards"), qPrintable(r.err));
        QVERIFY(!QFile::exists(db));
        writeFile(file, "{\"prompt\": \"a\", \"responses\": []}\n");
        r = cli({"import-samples", file, "--db", db});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("responses"));
    }

    // compare with accuracy as the gold on the demo models: the column says accuracy, each
    // answer's gold is exactly the grader's verdict on its text, and the votes are on.
    void compareWithAnswerGold()
    {
        const QString ds = tmp.filePath("questions.jsonl"), db = tmp.filePath("graded.sqlite");
        writeFile(ds, "{\"prompt\": \"And the LORD said\", \"answer\": \"7\"}\n"
                      "{\"prompt\": \"In the beginning\", \"answer\": \"#### 1\"}\n"
                      "{\"prompt\": \"Blessed are\", \"answer\": \"12\"}\n");
        CliResult r = cli({"compare", "--methods", "qalign,bon,mv,wmv", "--gold", "answer", "--dataset", ds, "--budget", "8",
                           "--db", db, "--set", "max_new_tokens=12", "--reward", "lexicon"},
                          {}, 300000);
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("accuracy ± se"), qPrintable(r.out));
        QVERIFY2(r.err.contains("graded samples stated no answer (counted wrong)"), qPrintable(r.err));
        QVERIFY(r.out.contains("\nmv "));
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        const char* refs[] = {"7", "#### 1", "12"};
        for (int64_t id = 1; id <= 4; ++id) {
            const StoredRun run = s.loadRun(id);
            QCOMPARE(run.info.gold["spec"].get<std::string>(), std::string("answer"));
            if (run.info.method != "bon") QCOMPARE(run.info.config["vote"].get<int>(), 1);
            for (const auto& f : run.final)
                QCOMPARE(*f.gold_reward, grading::grade(f.text, refs[f.prompt_index]).correct ? 1.0 : 0.0);
            for (const auto& e : run.iterations)
                for (const auto& smp : e.samples)
                    QCOMPARE(*smp.gold_reward, grading::grade(smp.text, refs[smp.prompt_index]).correct ? 1.0 : 0.0);
        }
        QCOMPARE(s.loadRun(3).info.config["weighted"].get<int>(), 0);   // mv

        // A line without the field; typed prompts: refused before any run.
        writeFile(ds, "{\"prompt\": \"And the LORD said\", \"answer\": \"7\"}\n{\"prompt\": \"In the beginning\"}\n");
        r = cli({"run", "--method", "bon", "--gold", "answer", "--dataset", ds, "--db", db, "--reward", "lexicon"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("questions.jsonl") && r.err.contains("line 2") && r.err.contains("\"answer\""), qPrintable(r.err));
        r = cli({"run", "--method", "bon", "--gold", "answer:solution", "--prompt", "hi", "--db", db, "--reward", "lexicon"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("--dataset"));
    }

    // The command as a user types it: no models named, no --field: the reasoning demo and
    // the dataset's "question" field are chosen, and the table reads accuracy (few questions and a
    // small budget here; the README's figure is the full run).
    void compareOnTheReasoningDemo()
    {
        const QString db = tmp.filePath("demo.sqlite");
        const CliResult r = cli({"compare", "--methods", "qalign,bon,mv,wmv", "--gold", "answer", "--dataset",
                                 RUDDER_TEST_DATA "/../resources/prompts/arith-test.jsonl", "--limit", "3", "--budget", "8",
                                 "--db", db},
                                {}, 300000);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("reasoning demo") && r.err.contains("\"question\" field"), qPrintable(r.err));
        for (const char* m : {"\nqalign ", "\nbon ", "\nmv ", "\nwmv "}) QVERIFY2(r.out.contains(m), qPrintable(r.out));
        QVERIFY(r.out.contains("accuracy ± se"));
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        QVERIFY(s.loadRun(1).info.base_model.value("spec", std::string()).find("demo-math-lm") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestCliAnswers)
#include "test_cli_answers.moc"
