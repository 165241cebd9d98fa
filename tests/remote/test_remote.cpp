// Remote models over HTTP (rudder/remote.h) and `rudder-cli serve`, all on 127.0.0.1:
// - the client against a scripted server (cpp-httplib) answering vLLM's documented schema: what it
//   sends, what it reads, and every fault (5xx and 429 retried, Retry-After honoured, malformed
//   JSON, missing fields, a stalled server, a refused key, nobody listening, Stop mid-request);
// - runs through `rudder-cli serve` equal to local runs (BoN, WMV, QAlign), AISP refused plainly,
//   a server killed mid-run then --resume, the API key, and 64 concurrent requests for a while.
#include <QtTest>
#include <QTemporaryDir>

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "rudder/error.h"
#include "rudder/remote.h"

using namespace rudder;
using nlohmann::json;
using testing::cli;
using testing::finalTexts;
using testing::kCli;
using testing::Serve;

namespace {

json fixture(const char* name)
{
    std::ifstream in(std::string(RUDDER_TEST_DATA) + "/remote/fixtures/" + name);
    return json::parse(in);
}

// A scripted server: each test sets what /v1/completions (and friends) answer.
class FakeServer {
public:
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
    FakeServer()
    {
        svr_.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(fixture("vllm_models.json").dump(), "application/json");
        });
        // The handler a test set, called outside the lock; `counted` requests are recorded.
        auto serveWith = [this](Handler FakeServer::*which, bool counted) {
            return [this, which, counted](const httplib::Request& req, httplib::Response& res) {
                Handler h;
                {
                    std::lock_guard<std::mutex> lock(m_);
                    if (counted) {
                        bodies.push_back(req.body);
                        auths.push_back(req.get_header_value("Authorization"));
                    }
                    h = this->*which;
                }
                if (counted) ++hits;
                h(req, res);
            };
        };
        const auto route = serveWith(&FakeServer::handler, true);
        svr_.Post("/v1/completions", route);
        svr_.Post("/pooling", route);
        svr_.Post("/score", route);
        // Rudder's own endpoints: 404 (as on vLLM) unless a test plays `rudder-cli serve`; not
        // counted in hits, which count the OpenAI-compatible requests.
        const auto ext = serveWith(&FakeServer::extension, false);
        svr_.Get("/rudder/v1/info", ext);
        svr_.Post("/rudder/v1/prelogit", ext);
        svr_.Post("/rudder/v1/perturbed", ext);
        port = svr_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { svr_.listen_after_bind(); });
        while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~FakeServer()
    {
        svr_.stop();
        thread_.join();
    }
    void set(Handler h)
    {
        std::lock_guard<std::mutex> lock(m_);
        handler = std::move(h);
        bodies.clear();
        auths.clear();
        hits = 0;
    }
    void setExtension(Handler h)
    {
        std::lock_guard<std::mutex> lock(m_);
        extension = std::move(h);
    }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }

    int port = 0;
    std::atomic<int> hits{0};
    std::vector<std::string> bodies, auths;

private:
    httplib::Server svr_;
    std::thread thread_;
    std::mutex m_;
    Handler handler = [](const httplib::Request&, httplib::Response& res) { res.status = 500; };
    Handler extension = [](const httplib::Request&, httplib::Response& res) { res.status = 404; };
};

void answer(httplib::Response& res, const json& j) { res.set_content(j.dump(), "application/json"); }

CompletionRequest twoSamples()
{
    CompletionRequest r;
    r.prefix = {128000, 644, 279, 7314, 4359};
    r.max_new_tokens = 8;
    r.temperature = 0.7;
    r.top_k = 40;
    r.top_p = 0.9;
    r.seeds = {11, 12};
    r.logprobs = true;
    return r;
}

RemoteOptions quick(double timeout = 10, int retries = 3)
{
    RemoteOptions o;
    o.timeout_s = timeout;
    o.retries = retries;
    o.api_key_env = "RUDDER_TEST_REMOTE_KEY";
    return o;
}

template <class F>
QString errorOf(F f)
{
    try {
        f();
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return QString();
}


QString demoLm() { return qEnvironmentVariable("RUDDER_RESOURCES", RUDDER_TEST_DATA "/../resources") + "/models/demo-lm"; }

// Every (prompt, iteration, index) -> token ids of a run, as stored.
std::map<std::string, std::vector<int32_t>> storedSamples(const QString& db, int64_t run)
{
    std::map<std::string, std::vector<int32_t>> out;
    auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
    for (const auto& e : s.loadRun(run, true).iterations)
        for (const auto& x : e.samples)
            out[std::to_string(x.prompt_index) + "/" + std::to_string(x.iteration) + "/" + std::to_string(x.index)] =
                x.token_ids;
    return out;
}

} // namespace

class TestRemote : public QObject {
    Q_OBJECT

private slots:
    void parsesServerSpecs()
    {
        const auto e = parseRemoteSpec("http://gpu-box:8000/v1#meta-llama/Llama-3.1-70B");
        QCOMPARE(QString::fromStdString(e.origin), QString("http://gpu-box:8000"));
        QCOMPARE(QString::fromStdString(e.path), QString("/v1"));
        QCOMPARE(QString::fromStdString(e.model), QString("meta-llama/Llama-3.1-70B"));
        const auto r = parseRemoteSpec("https://rm.example.org/pooling/");
        QCOMPARE(QString::fromStdString(r.url()), QString("https://rm.example.org/pooling"));
        QVERIFY(r.model.empty());
        QVERIFY(isRemoteSpec("http://x:1") && !isRemoteSpec("models/http-model") && !isRemoteSpec("meta-llama/x"));
        QVERIFY(errorOf([] { parseRemoteSpec("http://:8000/v1"); }).contains("host"));
        QVERIFY(errorOf([] { parseRemoteSpec("http://h:1/v1?model=x"); }).contains("query"));
    }

    // What goes on the wire, and what is read back from vLLM's documented response.
    void clientSpeaksVllmSchema()
    {
        FakeServer s;
        s.set([](const httplib::Request&, httplib::Response& res) { answer(res, fixture("vllm_completions.json")); });
        RemoteEndpoint ep = parseRemoteSpec(s.url("/v1#meta-llama/Llama-3.1-8B"));
        auto backend = makeRemoteCompletions(ep, quick(), {128001, 128009});
        const Completions c = backend->complete(twoSamples(), nullptr);
        QCOMPARE(s.hits.load(), 1);
        const json sent = json::parse(s.bodies.at(0));
        QCOMPARE(sent["model"], json("meta-llama/Llama-3.1-8B"));
        QCOMPARE(sent["prompt"], json({128000, 644, 279, 7314, 4359}));
        QCOMPARE(sent["n"], json(2));
        QCOMPARE(sent["max_tokens"], json(8));
        QCOMPARE(sent["top_k"], json(40));
        QCOMPARE(sent["seed"], json(11));
        QCOMPARE(sent["rudder_seeds"], json({11, 12}));
        QCOMPARE(sent["stop_token_ids"], json({128001, 128009}));
        QCOMPARE(sent["return_token_ids"], json(true));
        QCOMPARE(sent["logprobs"], json(0));
        QVERIFY(std::abs(sent["temperature"].get<double>() - 0.7) < 1e-12 && std::abs(sent["top_p"].get<double>() - 0.9) < 1e-12);
        // Choices come back in `index` order whatever order the server lists them in.
        QCOMPARE(c.tokens.size(), size_t(2));
        QCOMPARE(c.tokens[0], (std::vector<int32_t>{4359, 128001}));
        QCOMPARE(c.tokens[1], (std::vector<int32_t>{323, 279, 9578, 13}));
        QCOMPARE(c.finished, (std::vector<bool>{true, false}));
        QCOMPARE(c.logprobs[0], (std::vector<float>{-0.75f, -0.0625f}));
        QCOMPARE(c.logprobs[1].size(), size_t(4));
        QCOMPARE(c.generated_tokens, int64_t(6));
        QCOMPARE(c.prefill_tokens, int64_t(1));   // 5 prompt tokens, 4 found in the prefix cache
        QVERIFY(s.auths.at(0).empty());           // no key in the environment: none sent

        // ARGS's candidates: a one-token completion with top-k log-probabilities named by id; the
        // sampled token may come as a (k+1)-th entry, which is dropped.
        s.set([](const httplib::Request&, httplib::Response& res) {
            json j = fixture("vllm_completions.json");
            j["choices"] = json::array({j["choices"][1]});
            j["choices"][0]["index"] = 0;
            j["choices"][0]["token_ids"] = {9};
            j["choices"][0]["logprobs"]["top_logprobs"] =
                json::array({{{"token_id:5", -0.25}, {"token_id:9", -3.0}, {"token_id:7", -1.5}}});
            answer(res, j);
        });
        const NextTokens nt = backend->nextTokens({1, 2, 3}, 2, nullptr);
        QCOMPARE(nt.ids, (std::vector<int32_t>{5, 7}));
        QCOMPARE(nt.logprobs, (std::vector<double>{-0.25, -1.5}));
        QCOMPARE(nt.prefill_tokens, int64_t(1));
        const json asked = json::parse(s.bodies.at(0));
        QCOMPARE(asked["logprobs"], json(2));
        QCOMPARE(asked["max_tokens"], json(1));
        QCOMPARE(asked["return_tokens_as_token_ids"], json(true));
        s.set([](const httplib::Request&, httplib::Response& res) {
            json j = fixture("vllm_completions.json");
            j["choices"][0]["logprobs"]["top_logprobs"] = json::array({{{" the", -0.25}}});
            answer(res, j);
        });
        const QString byText = errorOf([&] { backend->nextTokens({1, 2, 3}, 2, nullptr); });
        QVERIFY2(byText.contains("return_tokens_as_token_ids"), qPrintable(byText));

        // vLLM's pooling API for the reward: one conversation per response, raw scores.
        s.set([](const httplib::Request&, httplib::Response& res) { answer(res, fixture("vllm_pooling.json")); });
        auto rm = makeRemoteReward(parseRemoteSpec(s.url("/pooling#Skywork/Skywork-Reward-V2-Llama-3.1-8B")), quick());
        const auto scores = rm->score("Why is the sky blue?", {"Rayleigh scattering.", "Because."});
        QCOMPARE(scores, (std::vector<double>{3.4375, 3.4375}));
        QCOMPARE(s.hits.load(), 2);
        const json p = json::parse(s.bodies.at(0));
        QCOMPARE(p["model"], json("Skywork/Skywork-Reward-V2-Llama-3.1-8B"));
        QCOMPARE(p["use_activation"], json(false));
        QCOMPARE(p["messages"][0]["role"], json("user"));
        QCOMPARE(p["messages"][0]["content"], json("Why is the sky blue?"));
        QCOMPARE(p["messages"][1]["role"], json("assistant"));

        // The plain JSON reward: one POST with every item, numbers back (bare or under "rewards").
        s.set([](const httplib::Request& req, httplib::Response& res) {
            const json items = json::parse(req.body);
            json out = json::array();
            for (const auto& it : items) out.push_back(double(it["response"].get<std::string>().size()));
            answer(res, {{"rewards", out}});
        });
        auto plain = makeRemoteReward(parseRemoteSpec(s.url("/score")), quick());
        QCOMPARE(plain->score("p", {"ab", "abcd"}), (std::vector<double>{2, 4}));
        QCOMPARE(s.hits.load(), 1);
    }

    // Issue 36 item 7: a server that fills missing sampling parameters from the model's
    // generation_config.json (vLLM --generation-config auto; here Qwen3's top_k 20, top_p 0.8,
    // and llama.cpp's min_p 0.05) must still draw base-model samples: every parameter is sent.
    void samplingParametersAreAllSent()
    {
        FakeServer s;
        json effective;
        s.set([&effective](const httplib::Request& req, httplib::Response& res) {
            json b = json::parse(req.body);
            const json defaults = {{"top_k", 20}, {"top_p", 0.8}, {"temperature", 0.7}, {"min_p", 0.05},
                                   {"repetition_penalty", 1.05}, {"presence_penalty", 0.0}, {"frequency_penalty", 0.0}};
            effective = json::object();
            for (auto& [k, v] : defaults.items()) effective[k] = b.contains(k) ? b[k] : v;
            answer(res, fixture("vllm_completions.json"));
        });
        auto backend = makeRemoteCompletions(parseRemoteSpec(s.url("/v1#m")), quick(), {128001});
        CompletionRequest r = twoSamples();
        r.top_k = 0, r.top_p = 1.0, r.temperature = 1.0;   // a base-model sample, as QAlign proposes
        backend->complete(r, nullptr);
        QCOMPARE(effective["top_k"], json(-1));
        QCOMPARE(effective["top_p"], json(1.0));
        QCOMPARE(effective["temperature"], json(1.0));
        QCOMPARE(effective["min_p"], json(0.0));
        QCOMPARE(effective["repetition_penalty"], json(1.0));
        // rudder-cli serve reads top_k -1 as off, like 0.
    }

    void faultsAreRetriedOrNamed()
    {
        FakeServer s;
        const RemoteEndpoint ep = parseRemoteSpec(s.url("/v1#m"));
        auto backend = makeRemoteCompletions(ep, quick(), {2});
        const auto ok = fixture("vllm_completions.json");

        // 503 twice, then an answer: retried with back-off, nothing lost.
        std::atomic<int> n{0};
        s.set([&](const httplib::Request&, httplib::Response& res) {
            if (n++ < 2) res.status = 503, res.set_content("{\"message\":\"overloaded\"}", "application/json");
            else answer(res, ok);
        });
        QCOMPARE(backend->complete(twoSamples(), nullptr).tokens.size(), size_t(2));
        QCOMPARE(s.hits.load(), 3);

        // 429 with Retry-After: 1 is waited out (the back-off alone would be 0.25 s).
        n = 0;
        s.set([&](const httplib::Request&, httplib::Response& res) {
            if (n++ == 0) res.status = 429, res.set_header("Retry-After", "1");
            else answer(res, ok);
        });
        QElapsedTimer t;
        t.start();
        QCOMPARE(backend->complete(twoSamples(), nullptr).tokens.size(), size_t(2));
        QVERIFY2(t.elapsed() >= 950, qPrintable(QString::number(t.elapsed())));

        // A server that keeps failing: the message names the server, the status and what it said.
        s.set([](const httplib::Request&, httplib::Response& res) {
            res.status = 500, res.set_content("{\"error\":{\"message\":\"CUDA out of memory\"}}", "application/json");
        });
        auto fast = makeRemoteCompletions(ep, quick(10, 1), {2});
        QString e = errorOf([&] { fast->complete(twoSamples(), nullptr); });
        QVERIFY2(e.contains(QString::fromStdString(s.url("/v1/completions"))) && e.contains("HTTP 500") &&
                     e.contains("CUDA out of memory") && e.contains("2 attempts"),
                 qPrintable(e));

        // Malformed JSON, a missing field, a wrong count: named, not a crash.
        s.set([](const httplib::Request&, httplib::Response& res) { res.set_content("{\"choices\": [", "application/json"); });
        e = errorOf([&] { backend->complete(twoSamples(), nullptr); });
        QVERIFY2(e.contains("not valid JSON"), qPrintable(e));
        s.set([&](const httplib::Request&, httplib::Response& res) {
            json j = ok;
            j["choices"][0].erase("token_ids");
            answer(res, j);
        });
        e = errorOf([&] { backend->complete(twoSamples(), nullptr); });
        QVERIFY2(e.contains("token_ids") && e.contains("return_token_ids"), qPrintable(e));
        s.set([&](const httplib::Request&, httplib::Response& res) {
            json j = ok;
            j["choices"].erase(0);
            answer(res, j);
        });
        e = errorOf([&] { backend->complete(twoSamples(), nullptr); });
        QVERIFY2(e.contains("choices") && e.contains("n = 2"), qPrintable(e));

        // A refused key is a usage error that says where the key comes from.
        s.set([](const httplib::Request&, httplib::Response& res) {
            res.status = 401, res.set_content("{\"error\":{\"message\":\"Unauthorized\"}}", "application/json");
        });
        bool usage = false;
        try {
            backend->complete(twoSamples(), nullptr);
        } catch (const UsageError& u) {
            usage = QString(u.what()).contains("RUDDER_TEST_REMOTE_KEY");
        }
        QVERIFY(usage);
        qputenv("RUDDER_TEST_REMOTE_KEY", "sekrit");
        s.set([](const httplib::Request&, httplib::Response& res) { res.status = 401; });
        auto keyed = makeRemoteCompletions(ep, quick(), {2});
        e = errorOf([&] { keyed->complete(twoSamples(), nullptr); });
        QVERIFY2(e.contains("was refused"), qPrintable(e));
        QCOMPARE(QString::fromStdString(s.auths.at(0)), QString("Bearer sekrit"));
        qunsetenv("RUDDER_TEST_REMOTE_KEY");
    }

    // BoN over several prompts: the batches of this prompt and the next go out together, so a
    // server's scheduler sees them at once (up to --max-in-flight).
    void manyRequestsInFlight()
    {
        FakeServer s;
        std::atomic<int> now{0}, most{0};
        std::mutex m;
        std::set<std::string> prompts;
        s.set([&](const httplib::Request& req, httplib::Response& res) {
            const int in = ++now;
            for (int x = most.load(); in > x && !most.compare_exchange_weak(x, in);) {
            }
            const json b = json::parse(req.body);
            {
                std::lock_guard<std::mutex> lock(m);
                prompts.insert(b["prompt"].dump());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
            json choices = json::array();
            for (int i = 0; i < b["n"].get<int>(); ++i)
                choices.push_back({{"index", i}, {"text", ""}, {"finish_reason", "length"}, {"token_ids", {300 + i, 301}}});
            --now;
            answer(res, {{"choices", choices}, {"usage", {{"prompt_tokens", b["prompt"].size()}}}});
        });
        QTemporaryDir tmp;
        const auto r = cli({"run", "--db", tmp.filePath("f.sqlite"), "--method", "bon", "--model",
                            QString::fromStdString(s.url("/v1#meta-llama/Llama-3.1-8B")), "--tokenizer", demoLm(),
                            "--reward", "lexicon", "--prompt", "In the beginning", "--prompt", "And God said", "--prompt",
                            "Blessed are", "--set", "n=8", "--set", "batch=2", "--set", "max_new_tokens=2",
                            "--max-in-flight", "16", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(s.hits.load(), 12);                 // 3 prompts × 4 batches, each asked once
        QVERIFY2(most.load() >= 4, qPrintable(QString::number(most.load())));   // the fake serves 8 at once
        QCOMPARE(prompts.size(), size_t(3));
        QCOMPARE(r.json()["budget"]["samples"], json(24));
    }

    void stallsTimeOutAndStopIsPrompt()
    {
        auto server = std::make_unique<FakeServer>();
        FakeServer& s = *server;
        const RemoteEndpoint ep = parseRemoteSpec(s.url("/v1#m"));
        std::atomic<bool> release{false};
        s.set([&](const httplib::Request&, httplib::Response& res) {
            for (int i = 0; i < 100 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            answer(res, fixture("vllm_completions.json"));
        });
        // A stalled server: the timeout ends it, once (a stall is not retried).
        auto backend = makeRemoteCompletions(ep, quick(0.6, 3), {2});
        QElapsedTimer t;
        t.start();
        const QString e = errorOf([&] { backend->complete(twoSamples(), nullptr); });
        QVERIFY2(e.contains("did not answer within") && e.contains("--request-timeout"), qPrintable(e));
        QVERIFY2(t.elapsed() < 2500, qPrintable(QString::number(t.elapsed())));

        // Stop while four requests wait on the server: all return within a second, marked cancelled.
        auto patient = makeRemoteCompletions(ep, quick(60, 3), {2});
        std::atomic<bool> cancel{false};
        std::thread stopper([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            cancel = true;
        });
        t.restart();
        const auto many = patient->completeMany({twoSamples(), twoSamples(), twoSamples(), twoSamples()}, &cancel);
        const qint64 took = t.elapsed();
        stopper.join();
        release = true;
        QVERIFY2(took < 1300, qPrintable(QString::number(took)));
        QCOMPARE(many.size(), size_t(4));
        for (const auto& c : many) QVERIFY(c.cancelled && c.tokens.empty());

        // Nobody listening: retried, then named.
        const int deadPort = s.port;
        server.reset();
        auto dead = makeRemoteCompletions(parseRemoteSpec("http://127.0.0.1:" + std::to_string(deadPort) + "/v1#m"),
                                          quick(5, 1), {2});
        const QString gone = errorOf([&] { dead->complete(twoSamples(), nullptr); });
        QVERIFY2(gone.contains("could not be reached") && gone.contains(QString::number(deadPort)), qPrintable(gone));
    }

    // The remote backend against `rudder-cli serve` on the demo models: the same samples and
    // answers as the local run with the same seed; AISP refused with the way out.
    void serveReproducesLocalRuns()
    {
        QTemporaryDir tmp;
        Serve srv;
        QVERIFY2(srv.port > 0, qPrintable(srv.log));
        const QStringList common = {"--seed", "4", "--prompt", "In the beginning", "--prompt", "And the LORD said",
                                    "--set", "max_new_tokens=10", "--json"};
        const QString local = tmp.filePath("local.sqlite"), remote = tmp.filePath("remote.sqlite");
        int64_t run = 0;
        for (const QString m : {"bon", "wmv", "qalign", "args", "aisp"}) {
            QStringList extra = {"--method", m};
            if (m == "aisp") extra << "--set" << "n=4" << "--set" << "iterations=2";   // pre-logit extension
            if (m == "qalign") extra << "--set" << "steps=6";
            if (m == "args") extra << "--set" << "top_k=6";   // candidates from top-k log-probabilities
            const auto a = cli(QStringList{"run", "--db", local} + extra + common);
            const auto b = cli(QStringList{"run", "--db", remote, "--model", srv.url(), "--tokenizer", demoLm()} + extra +
                               common);
            ++run;
            QVERIFY2(a.code == 0, qPrintable(a.err));
            QVERIFY2(b.code == 0, qPrintable(b.err));
            QCOMPARE(finalTexts(b.json()), finalTexts(a.json()));
            const auto sa = storedSamples(local, run), sb = storedSamples(remote, run);
            QVERIFY(!sa.empty());
            QVERIFY2(sa == sb, qPrintable(m));
            QCOMPARE(b.json()["budget"]["samples"], a.json()["budget"]["samples"]);
            QCOMPARE(b.json()["budget"]["tokens"], a.json()["budget"]["tokens"]);
        }
        // The session records the server and the tokenizer, never a key.
        auto s = SessionDb::open(remote.toStdString(), SessionDb::Mode::ReadOnly);
        const auto info = s.loadRun(1, false).info;
        QCOMPARE(QString::fromStdString(info.base_model["remote"]["server"].get<std::string>()), srv.url());
        QCOMPARE(QString::fromStdString(info.base_model["tokenizer"].get<std::string>()), demoLm());

        QVERIFY(storedSamples(remote, 4).size() == 2);   // ARGS: one response per prompt
        // A plain OpenAI-compatible server (no pre-logit extension): AISP is refused with the way out.
        FakeServer vllm;
        vllm.set([](const httplib::Request&, httplib::Response& res) { answer(res, fixture("vllm_completions.json")); });
        const auto aisp = cli({"run", "--db", remote, "--method", "aisp", "--model",
                               QString::fromStdString(vllm.url("/v1#meta-llama/Llama-3.1-8B")), "--tokenizer", demoLm()});
        QCOMPARE(aisp.code, 2);
        QVERIFY2(aisp.err.contains("pre-logits") && aisp.err.contains("--model DIR") && aisp.err.contains("rudder-cli serve"),
                 qPrintable(aisp.err));
        // A server from before ρ ignores it and draws independent noise, which the weights would not
        // describe: the run stops and says so; with rho = 0 the same server is fine.
        FakeServer old;
        old.setExtension([](const httplib::Request& req, httplib::Response& res) {
            if (req.path == "/rudder/v1/info") return answer(res, {{"extensions", {"perturbed", "prelogit"}}, {"hidden_size", 192}});
            if (req.path == "/rudder/v1/prelogit") return answer(res, {{"rms", 1.0}, {"hidden_size", 192}});
            const json b = json::parse(req.body);
            const size_t rows = std::max<size_t>(1, b["noise_seeds"].size());
            json choices = json::array();
            for (size_t i = 0; i < rows; ++i)
                choices.push_back({{"index", i}, {"token_ids", {300 + int(i), 301}}, {"finish_reason", "length"}});
            answer(res, {{"choices", choices}, {"kl", b["kl"].get<bool>() ? json({0.5}) : json(nullptr)},
                         {"usage", {{"prefill_tokens", 3}, {"completion_tokens", 2 * rows}}}});
        });
        const QStringList oldRun = {"run", "--db", remote, "--method", "aisp", "--model",
                                    QString::fromStdString(old.url("/v1#meta-llama/Llama-3.1-8B")), "--tokenizer", demoLm(),
                                    "--set", "n=2", "--set", "iterations=1", "--set", "max_new_tokens=2", "--prompt", "In"};
        const auto ignored = cli(oldRun);
        QCOMPARE(ignored.code, 1);
        QVERIFY2(ignored.err.contains("/rudder/v1/perturbed") && ignored.err.contains("rho") &&
                     ignored.err.contains("--set rho=0"),
                 qPrintable(ignored.err));
        const auto independent = cli(oldRun + QStringList{"--set", "rho=0"});
        QVERIFY2(independent.code == 0, qPrintable(independent.err));

        const auto noTok = cli({"run", "--db", remote, "--method", "bon", "--model", srv.url()});
        QCOMPARE(noTok.code, 2);
        QVERIFY2(noTok.err.contains("--tokenizer"), qPrintable(noTok.err));
        const auto wrongName = cli({"run", "--db", remote, "--method", "bon", "--model", srv.url() + "#llama-70b",
                                    "--tokenizer", demoLm()});
        QCOMPARE(wrongName.code, 2);
        QVERIFY2(wrongName.err.contains("not served there") && wrongName.err.contains("demo-lm"), qPrintable(wrongName.err));

        // The reward behind the same server (vLLM's pooling API): the demo RM's own scores.
        const auto viaPool = cli(QStringList{"run", "--db", remote, "--method", "bon", "--reward",
                                             QString("http://127.0.0.1:%1/pooling").arg(srv.port), "--gold", "none",
                                             "--set", "n=4"} + common.mid(0, 6) + QStringList{"--json"});
        const auto direct = cli(QStringList{"run", "--db", local, "--method", "bon", "--gold", "none", "--set", "n=4"} +
                                common.mid(0, 6) + QStringList{"--json"});
        QVERIFY2(viaPool.code == 0, qPrintable(viaPool.err));
        QVERIFY2(direct.code == 0, qPrintable(direct.err));
        const json fa = viaPool.json()["final"], fb = direct.json()["final"];
        QCOMPARE(fa.size(), fb.size());
        for (size_t i = 0; i < fa.size(); ++i) {   // one by one there vs batched here: rounding only
            QCOMPARE(fa[i]["text"], fb[i]["text"]);
            QVERIFY(std::abs(fa[i]["reward"].get<double>() - fb[i]["reward"].get<double>()) < 1e-5);
        }

        // serve answers in vLLM's schema: every field the fixtures have.
        httplib::Client c("127.0.0.1", srv.port);
        auto r = c.Post("/v1/completions", json{{"prompt", {0, 1142}}, {"max_tokens", 3}, {"n", 2}, {"seed", 1},
                                               {"logprobs", 0}, {"return_token_ids", true}}.dump(), "application/json");
        QVERIFY(r && r->status == 200);
        const json got = json::parse(r->body), want = fixture("vllm_completions.json");
        for (const char* k : {"id", "object", "created", "model", "choices", "usage", "prompt_token_ids"})
            QVERIFY2(got.contains(k), k);
        for (const char* k : {"index", "text", "logprobs", "finish_reason", "stop_reason", "token_ids"})
            QVERIFY2(got["choices"][0].contains(k) && want["choices"][0].contains(k), k);
        QCOMPARE(got["choices"][0]["logprobs"]["token_logprobs"].size(), got["choices"][0]["token_ids"].size());
        QVERIFY(got["usage"]["prompt_tokens_details"].contains("cached_tokens"));
        auto bad = c.Post("/v1/completions", "{\"prompt\": [0, 99999999]}", "application/json");
        QVERIFY(bad && bad->status == 400 && bad->body.find("vocabulary") != std::string::npos);
        auto junk = c.Post("/v1/completions", "{not json", "application/json");
        QVERIFY(junk && junk->status == 400);
    }

    // Server killed mid-run: the run ends failed naming the server, nothing stored is lost, and
    // --resume completes it once the server is back, with the answers of an uninterrupted run.
    void serverKilledMidRunResumes()
    {
        QTemporaryDir tmp;
        const QString db = tmp.filePath("s.sqlite"), ref = tmp.filePath("ref.sqlite");
        const QStringList args = {"--method", "bon", "--seed", "9", "--prompt", "In the beginning", "--prompt",
                                  "And the LORD said", "--prompt", "Blessed are", "--set", "n=32", "--set", "batch=4",
                                  "--set", "max_new_tokens=24", "--json"};
        const auto want = cli(QStringList{"run", "--db", ref} + args);
        QVERIFY2(want.code == 0, qPrintable(want.err));

        auto srv = std::make_unique<Serve>();
        QVERIFY2(srv->port > 0, qPrintable(srv->log));
        const int port = srv->port;
        QProcess run;
        run.start(kCli, QStringList{"run", "--db", db, "--model", srv->url(), "--tokenizer", demoLm(), "--retries", "1"} +
                            args);
        QElapsedTimer t;
        t.start();
        while (testing::storedIterations(db, 1) < 3 && t.elapsed() < 60000) QTest::qWait(10);
        QVERIFY(testing::storedIterations(db, 1) >= 3);
        srv->kill();
        QVERIFY(run.waitForFinished(60000));
        QCOMPARE(run.exitCode(), 1);
        const QString err = QString::fromUtf8(run.readAllStandardError());
        QVERIFY2(err.contains(QString("127.0.0.1:%1").arg(port)) && err.contains("could not be reached"), qPrintable(err));
        const int64_t kept = testing::storedIterations(db, 1);
        QVERIFY(kept >= 3);

        srv = std::make_unique<Serve>(QStringList{}, port);
        QVERIFY2(srv->port == port, qPrintable(srv->log));
        // The server is named again: a session's recorded server is never contacted on its word alone.
        const auto resumed = cli({"run", "--db", db, "--resume", "1", "--model", srv->url(), "--retries", "1", "--json"});
        QVERIFY2(resumed.code == 0, qPrintable(resumed.err));
        QCOMPARE(finalTexts(resumed.json()), finalTexts(want.json()));
        QCOMPARE(storedSamples(db, 1), storedSamples(ref, 1));
    }

    // Issue 35 item 6: every request is bounded in tokens, n, items and bytes, refusals are 400s
    // naming the field, and internals (libtorch's stack traces) never reach the client.
    void serveBoundsEveryRequest()
    {
        Serve srv({"--max-request-tokens", "2000", "--max-body", "100000"});
        QVERIFY2(srv.port > 0, qPrintable(srv.log));
        httplib::Client c("127.0.0.1", srv.port);
        c.set_read_timeout(120);
        auto post = [&](const char* path, const std::string& body) {
            auto r = c.Post(path, body, "application/json");
            return r ? std::pair<int, QString>{r->status, QString::fromStdString(r->body)} : std::pair<int, QString>{-1, "no answer"};
        };
        auto expect400 = [&](const char* path, const json& body, QStringList words) {
            const auto [status, text] = post(path, body.dump());
            bool ok = status == 400 && text.contains("\"message\"");
            for (const auto& w : words) ok = ok && text.contains(w);
            QVERIFY2(ok, qPrintable(QString("%1 %2 -> %3 %4").arg(path, QString::fromStdString(body.dump().substr(0, 200))).arg(status).arg(text)));
            QVERIFY2(!text.contains("frame #") && !text.contains("c10::"), qPrintable(text));
        };
        std::string words;
        for (int i = 0; i < 10000; ++i) words += "word ";
        expect400("/rudder/v1/reward", json::array({{{"prompt", "hi"}, {"response", words}}}), {"item 0", "positions"});
        expect400("/pooling", {{"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", words}}}}},
                  {"positions"});
        expect400("/rudder/v1/prelogit", {{"prompt", std::vector<int>(5000, 5)}}, {"positions"});
        expect400("/v1/completions", {{"prompt", {0, 5}}, {"n", 4096}, {"max_tokens", 250}}, {"--max-n"});
        expect400("/v1/completions", {{"prompt", {0, 5}}, {"n", 16}, {"max_tokens", 200}}, {"--max-request-tokens"});
        expect400("/v1/completions", {{"prompt", {0, 5}}, {"max_tokens", INT64_MAX}}, {"max_tokens"});
        expect400("/v1/completions", {{"prompt", {0, 5}}, {"n", 1.5}}, {"n must be an integer"});
        expect400("/rudder/v1/perturbed", {{"prompt", {0, 5}}, {"max_tokens", 4}, {"tau", INT64_MAX}, {"hidden_size", 64}}, {"tau"});
        expect400("/rudder/v1/perturbed", {{"prompt", {0, 5}}, {"max_tokens", 4}, {"hidden_size", 1LL << 40}}, {"hidden_size"});
        expect400("/rudder/v1/perturbed", {{"prompt", {0, 5}}, {"max_tokens", 2}, {"control", {1.0, 2.0}}}, {"control"});
        expect400("/rudder/v1/perturbed", {{"prompt", {0, 5}}, {"max_tokens", 2}, {"sigma", -1.0}}, {"sigma"});
        // Bodies that are not JSON: a JSON error body, never an empty 500.
        auto [st, text] = post("/v1/completions", "{\"prompt\": \"caf\xC3\x28\"}");
        QVERIFY2(st == 400 && text.contains("not valid JSON"), qPrintable(QString("%1 %2").arg(st).arg(text)));
        std::tie(st, text) = post("/v1/completions", "{\"prompt\": [0, 5], \"temperature\": 1e999999}");
        QVERIFY2(st == 400 && text.contains("not valid JSON"), qPrintable(QString("%1 %2").arg(st).arg(text)));
        std::tie(st, text) = post("/v1/completions", std::string(200000, ' '));
        QCOMPARE(st, 413);
        // A temperature of 1e-320 is greedy, as in vLLM: the same tokens as temperature 0.
        const json greedy = {{"prompt", {0, 1142, 261}}, {"max_tokens", 6}, {"temperature", 0.0}, {"return_token_ids", true}, {"seed", 1}};
        json tiny = greedy;
        tiny["temperature"] = 1e-320;
        const auto a = post("/v1/completions", greedy.dump()), b = post("/v1/completions", tiny.dump());
        QCOMPARE(a.first, 200);
        QCOMPARE(b.first, 200);
        QCOMPARE(json::parse(b.second.toStdString())["choices"][0]["token_ids"], json::parse(a.second.toStdString())["choices"][0]["token_ids"]);
        // The control: a request inside every bound is answered.
        std::tie(st, text) = post("/v1/completions", json({{"prompt", {0, 5}}, {"n", 4}, {"max_tokens", 8}}).dump());
        QVERIFY2(st == 200, qPrintable(text));
    }

    void apiKeyAndLoad()
    {
        Serve srv({"--api-key", "letmein"});
        QVERIFY2(srv.port > 0, qPrintable(srv.log));
        QVERIFY(srv.log.contains("API key required"));
        QTemporaryDir tmp;
        const QString db = tmp.filePath("k.sqlite");
        const auto refused = cli({"run", "--db", db, "--method", "bon", "--model", srv.url(), "--tokenizer", demoLm()});
        QCOMPARE(refused.code, 2);
        QVERIFY2(refused.err.contains("API key") && refused.err.contains("RUDDER_API_KEY"), qPrintable(refused.err));

        // 64 requests in flight at once, again and again: every one answered with exactly its
        // own completion (the same as asked alone), none lost, none duplicated.
        qputenv("RUDDER_TEST_REMOTE_KEY", "letmein");
        RemoteOptions o = quick(120, 2);
        o.max_in_flight = 64;
        auto backend = makeRemoteCompletions(parseRemoteSpec(srv.url().toStdString()), o, {2});
        const double seconds = qEnvironmentVariableIntValue("RUDDER_LOAD_SECONDS") > 0
                                   ? qEnvironmentVariableIntValue("RUDDER_LOAD_SECONDS")
                                   : 6.0;
        std::vector<CompletionRequest> reqs(64);
        for (size_t i = 0; i < reqs.size(); ++i) {
            reqs[i].prefix = {0, 1142, int32_t(261 + i % 7)};
            reqs[i].max_new_tokens = 4;
            reqs[i].seeds = {1000 + i};
        }
        QElapsedTimer t;
        t.start();
        int rounds = 0;
        std::vector<Completions> first;
        while (t.elapsed() < seconds * 1000 || rounds < 2) {
            auto got = backend->completeMany(reqs, nullptr);
            QCOMPARE(got.size(), reqs.size());
            for (const auto& g : got) QVERIFY(!g.cancelled && g.tokens.size() == 1 && !g.tokens[0].empty());
            if (rounds == 0) first = got;
            else
                for (size_t i = 0; i < got.size(); ++i) QCOMPARE(got[i].tokens, first[i].tokens);
            ++rounds;
        }
        for (size_t i = 0; i < reqs.size(); i += 9) QCOMPARE(backend->complete(reqs[i], nullptr).tokens, first[i].tokens);
        // Different seeds give different completions: answers are not crossed between requests.
        std::set<std::vector<int32_t>> distinct;
        for (const auto& g : first) distinct.insert(g.tokens[0]);
        QVERIFY(distinct.size() > 32);
        qInfo("load: %d rounds of 64 concurrent requests in %.1f s", rounds, double(t.elapsed()) / 1000);
        qunsetenv("RUDDER_TEST_REMOTE_KEY");
    }
};

QTEST_GUILESS_MAIN(TestRemote)
#include "test_remote.moc"
