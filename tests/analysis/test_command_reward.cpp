// The external-command reward: small shell/awk scorers, the protocol (one JSON object per line in,
// one number per line out) and every failure a scorer can make.
#include <QtTest>
#include <QElapsedTimer>

#include <atomic>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "rudder/error.h"
#include "rudder/reward.h"

using namespace rudder;

namespace {

// Runs score() and returns the error message ("" when it did not throw).
QString failure(const std::string& command, const std::vector<std::string>& responses)
{
    try {
        makeCommandReward(command)->score("p", responses);
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestCommandReward : public QObject {
    Q_OBJECT
private slots:
    void scoresResponseLength()
    {
        // Pull the response field out of each JSON line and print its length.
        const std::string cmd = "sed -e 's/.*\"response\":\"\\([^\"]*\\)\"}$/\\1/' | awk '{ print length($0) }'";
        auto r = makeCommandReward(cmd);
        QCOMPARE(r->name(), "cmd:" + cmd);
        QCOMPARE(r->flopsPerToken(), 0.0);
        auto s = r->score("Say something", {"a", "", "hello world", "1234567890"});
        QCOMPARE(s, (std::vector<double>{1, 0, 11, 10}));
        QVERIFY(r->score("x", {}).empty());
    }

    void linesAreTheDocumentedJson()
    {
        // Echo each input line's byte count: must equal the compact JSON the protocol promises.
        auto r = makeCommandReward("awk '{ print length($0) }'");
        const std::string prompt = "Line \"one\"\nand a tab\t";
        const std::vector<std::string> responses = {"plain", "with \"quotes\" and \\ backslash", "new\nline"};
        auto s = r->score(prompt, responses);
        QCOMPARE(s.size(), responses.size());
        for (size_t i = 0; i < responses.size(); ++i) {
            nlohmann::json j = {{"prompt", prompt}, {"response", responses[i]}};
            QCOMPARE(s[i], double(j.dump().size()));
        }
        // The prompt reaches the scorer, in every line.
        auto c = makeCommandReward("grep -c '\"prompt\":\"Line'");
        QCOMPARE(c->score(prompt, {"one"}), std::vector<double>{1});
    }

    void parsesNumberForms()
    {
        auto r = makeCommandReward("cat > /dev/null; printf ' -1.5e-3 \\n+2\\r\\n7\\n'");
        QCOMPARE(r->score("p", {"a", "b", "c"}), (std::vector<double>{-1.5e-3, 2, 7}));
    }

    // Megabytes in and out at once: the pipes are served concurrently, no deadlock.
    void largeBatchDoesNotDeadlock()
    {
        std::vector<std::string> responses(3000, std::string(1000, 'x'));
        auto s = makeCommandReward("awk '{ print NR }'")->score("p", responses);
        QCOMPARE(s.size(), responses.size());
        QCOMPARE(s.front(), 1.0);
        QCOMPARE(s.back(), 3000.0);
    }

    // A scorer that never reads stdin but answers correctly is fine (and must not SIGPIPE us).
    void scorerIgnoringStdin()
    {
        std::vector<std::string> responses(2, std::string(1 << 20, 'y'));
        auto s = makeCommandReward("printf '3\\n4\\n'")->score("p", responses);
        QCOMPARE(s, (std::vector<double>{3, 4}));
    }

    // A scorer that never answers is stopped after RUDDER_REWARD_TIMEOUT seconds, with its
    // process group, instead of holding the run forever.
    void hungScorerTimesOut()
    {
        qputenv("RUDDER_REWARD_TIMEOUT", "1");
        QElapsedTimer t;
        t.start();
        const QString msg = failure("sleep 30; echo 1", {"a"});
        const qint64 ms = t.elapsed();
        qunsetenv("RUDDER_REWARD_TIMEOUT");
        QVERIFY2(msg.contains("no answer within 1 s") && msg.contains("sleep 30"), qPrintable(msg));
        QVERIFY2(ms < 5000, qPrintable(QString("took %1 ms").arg(ms)));
        // Negative control: a scorer inside the limit still answers.
        qputenv("RUDDER_REWARD_TIMEOUT", "10");
        QCOMPARE(makeCommandReward("sleep 0.2; echo 4")->score("p", {"a"}), std::vector<double>{4});
        qunsetenv("RUDDER_REWARD_TIMEOUT");
    }

    // Stop reaches a scorer that is still thinking: score() throws Cancelled within a fraction of a
    // second instead of waiting for the 600 s timeout.
    void stopReachesAThinkingScorer()
    {
        auto r = makeCommandReward("sleep 30; echo 1");
        std::atomic<bool> cancel{false};
        r->setCancel(&cancel);
        std::thread stopper([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            cancel = true;
        });
        QElapsedTimer t;
        t.start();
        bool cancelled = false;
        try {
            r->score("p", {"a"});
        } catch (const Cancelled&) {
            cancelled = true;
        }
        stopper.join();
        QVERIFY(cancelled);
        QVERIFY2(t.elapsed() < 2000, qPrintable(QString("took %1 ms").arg(t.elapsed())));
        // Negative control: with the flag clear the same reward answers.
        cancel = false;
        auto quick = makeCommandReward("echo 2");
        quick->setCancel(&cancel);
        QCOMPARE(quick->score("p", {"a"}), std::vector<double>{2});
    }

    void failuresNameCommandAndLine()
    {
        QString m = failure("cat >/dev/null; echo broken >&2; exit 3", {"a"});
        QVERIFY2(m.contains("exit 3") && m.contains("status 3") && m.contains("broken"), qPrintable(m));

        m = failure("cat >/dev/null; echo 1; echo abc", {"a", "b"});
        QVERIFY2(m.contains("echo abc") && m.contains("stdout line 2") && m.contains("'abc' is not a number"), qPrintable(m));

        m = failure("cat >/dev/null; echo 1", {"a", "b"});
        QVERIFY2(m.contains("stdout line 2") && m.contains("printed 1 lines for 2"), qPrintable(m));

        m = failure("cat >/dev/null; printf '1\\n2\\n3\\n'", {"a", "b"});
        QVERIFY2(m.contains("stdout line 3") && m.contains("more lines"), qPrintable(m));

        m = failure("cat >/dev/null; echo nan", {"a"});
        QVERIFY2(m.contains("stdout line 1") && m.contains("finite"), qPrintable(m));

        m = failure("cat >/dev/null; echo; echo 2", {"a", "b"});
        QVERIFY2(m.contains("stdout line 1") && m.contains("not a number"), qPrintable(m));

        m = failure("cat >/dev/null; echo 12abc", {"a"});
        QVERIFY2(m.contains("'12abc'"), qPrintable(m));

        m = failure("no-such-scorer-rudder-test", {"a"});
        QVERIFY2(m.contains("no-such-scorer-rudder-test") && m.contains("status 127"), qPrintable(m));

        m = failure("kill -9 $$", {"a"});
        QVERIFY2(m.contains("signal 9"), qPrintable(m));

        QVERIFY_THROWS_EXCEPTION(UsageError, makeCommandReward("  "));
        // Negative control: the same scorer with the right count succeeds.
        QVERIFY(failure("cat >/dev/null; echo 1; echo 2", {"a", "b"}).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestCommandReward)
#include "test_command_reward.moc"
