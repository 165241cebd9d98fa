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

    // Issue 35 item 5: what a scorer sends back is bounded.  `yes 1` filled 8 GB in 29 s; now it
    // is stopped once its stdout passes 4 KiB per response (+ 64 KiB), with a message.  A stderr
    // flood is kept to its last 64 KiB and the scores still count.
    void scorerOutputIsBounded()
    {
        const QString m = failure("yes 1", {"a", "b"});
        QVERIFY2(m.contains("printed more than 73728 bytes for 2 responses") && m.contains("yes 1"), qPrintable(m));
        // 200 MB of stderr, then the answer: scored, and the process stays small (its stderr
        // is not held: 64 KiB of it at most, checked through the message of a failing twin).
        QCOMPARE(makeCommandReward("head -c 200000000 /dev/zero | tr '\\0' x >&2; cat >/dev/null; echo 3")->score("p", {"a"}),
                 std::vector<double>{3});
        const QString tail = failure("head -c 200000000 /dev/zero | tr '\\0' x >&2; exit 3", {"a"});
        QVERIFY2(tail.contains("exited with status 3") && tail.size() < 2000, qPrintable(tail.left(300)));
    }

    // A scorer that has answered every response but keeps its stdout open (a daemon child, or a
    // sleep) is stopped after a short grace and its answers count; before, the run waited for
    // the whole timeout.  The sleep (60 s) is far longer than anything the assertion allows.
    void answeredScorerThatLingersIsNotWaitedFor()
    {
        QElapsedTimer t;
        t.start();
        QCOMPARE(makeCommandReward("cat >/dev/null; echo 1; echo 2; sleep 60")->score("p", {"a", "b"}), (std::vector<double>{1, 2}));
        QVERIFY2(t.elapsed() < 30000, qPrintable(QString("took %1 ms").arg(t.elapsed())));
        // A timeout setting that is not a number is refused, not ignored.
        qputenv("RUDDER_REWARD_TIMEOUT", "soon");
        QVERIFY_THROWS_EXCEPTION(UsageError, makeCommandReward("echo 1")->score("p", {"a"}));
        qunsetenv("RUDDER_REWARD_TIMEOUT");
    }

    // Invalid UTF-8 in what a scorer prints reaches messages as U+FFFD, so a failed run's error
    // can go into --json output and the session.
    void scorerBytesInMessagesAreValidUtf8()
    {
        std::string raw;   // the bytes of the message itself (QString would already replace them)
        try {
            makeCommandReward("cat >/dev/null; printf 'caf\\303\\050\\n'")->score("p", {"a"});
        } catch (const Error& e) {
            raw = e.what();
        }
        QVERIFY2(raw.find("is not a number") != std::string::npos, raw.c_str());
        QVERIFY(raw.find("caf\xEF\xBF\xBD(") != std::string::npos);   // U+FFFD where the bad byte was
        QVERIFY(!nlohmann::json(raw).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict).empty());
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
