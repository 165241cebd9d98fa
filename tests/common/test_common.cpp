// Foundation smoke tests: the event stream's JSON round trip, error messages, and that libtorch
// runs on more than one thread with a real BLAS.
#include <QtTest>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "rudder/error.h"
#include "rudder/events.h"
#include "rudder/runtime_init.h"

using namespace rudder;

class TestCommon : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void eventJsonRoundTrip()
    {
        IterationEvent e;
        e.method = "aisp";
        e.prompt_index = 2;
        e.iteration = 7;
        Sample s;
        s.text = "And God saw";
        s.token_ids = {5, 9, 11};
        s.reward = 0.25;
        s.weight = 0.5;
        e.samples = {s, s};
        e.samples[1].accepted = false;
        e.stats = {{"ess", 1.5}};
        e.budget.tokens = 42;
        nlohmann::json j = e;
        auto back = j.get<IterationEvent>();
        QCOMPARE(back.method, std::string("aisp"));
        QCOMPARE(back.iteration, 7);
        QCOMPARE(back.samples.size(), size_t(2));
        QCOMPARE(back.samples[0].token_ids, (std::vector<int32_t>{5, 9, 11}));
        QVERIFY(!back.samples[0].gold_reward.has_value());
        QCOMPARE(*back.samples[0].weight, 0.5);
        QCOMPARE(*back.samples[1].accepted, false);
        QVERIFY(!back.samples[0].accepted.has_value());
        QCOMPARE(back.budget.tokens, int64_t(42));
        QCOMPARE(back.stats["ess"].get<double>(), 1.5);
        QVERIFY(j["samples"][0]["gold_reward"].is_null());
    }

    void errorNamesFileAndField()
    {
        Error e("model/config.json", "hidden_size", "must be a positive integer");
        QCOMPARE(QString(e.what()), QString("model/config.json: hidden_size: must be a positive integer"));
        QVERIFY_THROWS_EXCEPTION(Error, runStatusFromString("exploded"));
        QCOMPARE(runStatusFromString("interrupted"), RunStatus::Interrupted);
    }

    void torchMatmulOnAllCores()
    {
        int n = initTorchRuntime();
        QVERIFY(n >= 1);
        QCOMPARE(at::get_num_threads(), n);
        auto a = at::randn({64, 32}, at::kFloat);
        auto b = at::randn({32, 16}, at::kFloat);
        auto c = at::matmul(a, b);
        // Reference in double by an explicit loop: catches a broken BLAS.
        auto ad = a.to(at::kDouble), bd = b.to(at::kDouble);
        auto ref = (ad.unsqueeze(2) * bd.unsqueeze(0)).sum(1);
        QVERIFY((c.to(at::kDouble) - ref).abs().max().item<double>() < 1e-4);
    }
};

QTEST_GUILESS_MAIN(TestCommon)
#include "test_common.moc"
