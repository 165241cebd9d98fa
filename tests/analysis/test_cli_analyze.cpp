// `rudder-cli analyze` end to end: rewards on stdin -> the documented JSON; bad lines -> an error
// that names the line.
#include <QtTest>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <cmath>
#include <random>

namespace {

struct Result {
    int code = -1;
    QByteArray out, err;
};

Result runAnalyze(const QByteArray& input, const QStringList& extra = {})
{
    QProcess p;
    p.start(QStringLiteral(RUDDER_BINARY_DIR "/app/cli/rudder-cli"), QStringList{"analyze"} + extra);
    Result r;
    if (!p.waitForStarted(10000)) return r;
    p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// 400 draws from 0.3 N(-2, 0.5^2) + 0.7 N(1, 1), one per line.
QByteArray mixtureInput()
{
    std::mt19937_64 g(11);
    auto u = [&] { return (double(g() >> 11) + 0.5) * 0x1.0p-53; };
    QByteArray in;
    for (int i = 0; i < 400; ++i) {
        bool first = u() < 0.3;
        double z = std::sqrt(-2 * std::log(u())) * std::cos(2 * 3.14159265358979323846 * u());
        double x = first ? -2.0 + 0.5 * z : 1.0 + z;
        in += QByteArray::number(x, 'g', 17) + "\n";
    }
    return in;
}

} // namespace

class TestCliAnalyze : public QObject {
    Q_OBJECT
private slots:
    void goodInputGivesDocumentedJson()
    {
        Result r = runAnalyze(mixtureInput() + "\n");   // a trailing blank line is fine
        QVERIFY2(r.code == 0, r.err.constData());
        QJsonParseError pe;
        QJsonDocument doc = QJsonDocument::fromJson(r.out, &pe);
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(pe.errorString()));
        QJsonObject o = doc.object();
        QCOMPARE(o["n"].toInt(), 400);
        QCOMPARE(o["status"].toString(), QString("ok"));

        QJsonObject gmm = o["gmm"].toObject();
        for (const char* k : {"weights", "means", "stds"}) QCOMPARE(gmm[k].toArray().size(), 2);
        QVERIFY(gmm["loglik"].isDouble() && gmm["bic"].isDouble());
        const QJsonArray w = gmm["weights"].toArray(), mu = gmm["means"].toArray();
        QVERIFY(std::abs(w[0].toDouble() + w[1].toDouble() - 1.0) < 1e-12);
        QVERIFY(std::abs(mu[0].toDouble() + 2.0) < 0.3 && std::abs(mu[1].toDouble() - 1.0) < 0.3);

        QJsonObject g1 = o["gmm1"].toObject();
        for (const char* k : {"mean", "std", "loglik", "bic"}) QVERIFY(g1[k].isDouble());
        QVERIFY(gmm["bic"].toDouble() < g1["bic"].toDouble());
        QCOMPARE(o["dominant"].toInt(), 1);   // the wider component

        // beta for n = 2..400: null while n_d = w_d n <= e.
        const QJsonArray beta = o["beta"].toArray();
        QCOMPARE(beta.size(), 399);
        const double wd = w[1].toDouble();
        for (int i = 0; i < beta.size(); ++i) {
            QJsonObject p = beta[i].toObject();
            QCOMPARE(p["n"].toInt(), i + 2);
            QVERIFY(std::abs(p["n_d"].toDouble() - wd * (i + 2)) < 1e-9);
            QCOMPARE(p["beta"].isNull(), p["n_d"].toDouble() <= std::exp(1.0));
            QCOMPARE(p["a_n"].isNull(), p["beta"].isNull());
        }
        QVERIFY(beta[0].toObject()["beta"].isNull());
        QVERIFY(beta[398].toObject()["beta"].toDouble() > 0.0);

        Result capped = runAnalyze(mixtureInput(), {"--n-max", "50"});
        QCOMPARE(capped.code, 0);
        QCOMPARE(QJsonDocument::fromJson(capped.out).object()["beta"].toArray().size(), 49);
    }

    void degenerateInputReportsStatus()
    {
        Result r = runAnalyze("1\n1\n1\n1\n1\n");
        QCOMPARE(r.code, 0);
        QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(o["status"].toString(), QString("degenerate"));
        QVERIFY(o["gmm"].isNull());
        QVERIFY(!o["message"].toString().isEmpty());
    }

    void nonNumericLineIsNamed()
    {
        Result r = runAnalyze("0.5\n1.25\nhello\n2\n");
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("line 3") && r.err.contains("hello"), r.err.constData());
        QVERIFY(r.out.isEmpty());

        r = runAnalyze("0.5\ninf\n");
        QVERIFY(r.code != 0);
        QVERIFY2(r.err.contains("line 2"), r.err.constData());

        r = runAnalyze("1\n2\n", {"--n-max", "1"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--n-max"), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestCliAnalyze)
#include "test_cli_analyze.moc"
