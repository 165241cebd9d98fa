// `rudder-cli serve`: Rudder's engine behind the subset of the OpenAI-compatible API that its own
// remote backend uses (and vLLM speaks), so a GUI on a laptop can drive a model on a GPU box:
//   GET  /health, /v1/models
//   POST /v1/completions    prompt as token ids (or text), n, max_tokens, temperature, top_p, top_k,
//                           seed, logprobs, return_token_ids; Rudder's rudder_seeds (one per completion)
//   POST /pooling           vLLM's pooling API for the reward: {"messages":[user, assistant]}
//   POST /rudder/v1/reward  plain JSON reward: [{"prompt","response"}, ...] -> [numbers]
//   GET  /rudder/v1/info, POST /rudder/v1/prelogit, /rudder/v1/perturbed: the pre-logit
//                           extension AISP runs through (README, "Scaling out")
// One request runs the model at a time (a lock); concurrent connections wait their turn.
#include <httplib.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/json_file.h"
#include "rudder/paths.h"
#include "rudder/workbench.h"

using nlohmann::json;

namespace rudder::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void onStopSignal(int) { g_stop = true; }

// An OpenAI-shaped error body.
void fail(httplib::Response& res, int status, const std::string& message)
{
    const char* type = status == 401 ? "AuthenticationError" : status == 404 ? "NotFoundError"
                                                           : status < 500    ? "BadRequestError"
                                                                             : "InternalServerError";
    res.status = status;
    // (The message may quote the client's own invalid UTF-8: replaced, never a failed dump.)
    res.set_content(json{{"error", {{"message", message}, {"type", type}, {"code", status}}}}.dump(
                        -1, ' ', false, json::error_handler_t::replace),
                    "application/json");
}

struct BadRequest : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What one request may ask for (issue 35: n = 4096 took 3.5 GB and held the model for minutes; a
// 10,000-word response to the reward, 8 GB).  Settings of `serve`, with defaults far above what
// Rudder's own remote backend sends.
struct ServeLimits {
    int64_t maxN = 256;                      // completions per request
    int64_t maxRequestTokens = 131072;       // n × (prompt + max_tokens)
    int64_t maxItems = 1024;                 // (prompt, response) pairs per reward request
    int64_t maxBodyBytes = 16 * 1024 * 1024;
};

// A number field: integers must be integers (n = 1.5 is refused, not truncated), floats finite.
double number(const json& b, const char* key, double fallback)
{
    if (!b.contains(key) || b[key].is_null()) return fallback;
    if (!b[key].is_number()) throw BadRequest(std::string(key) + " must be a number");
    const double v = b[key].get<double>();
    if (!std::isfinite(v)) throw BadRequest(std::string(key) + " must be a finite number");
    return v;
}

int64_t integer(const json& b, const char* key, int64_t fallback, int64_t lo, int64_t hi)
{
    if (!b.contains(key) || b[key].is_null()) return fallback;
    const json& v = b[key];
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)))
        throw BadRequest(std::string(key) + " must be an integer");
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi)
        throw BadRequest(std::string(key) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], not " +
                         std::to_string(x));
    return x;
}

class Server {
public:
    // The request's prompt as token ids: a list of ids (checked against the vocabulary) or text.
    std::vector<int32_t> ids(const json& b)
    {
        if (!b.contains("prompt")) throw BadRequest("prompt is missing");
        const json& p = b["prompt"];
        std::vector<int32_t> out;
        if (p.is_string()) {
            std::lock_guard<std::mutex> lock(model_);
            out = wb_.encode(p.get<std::string>(), true);
        } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
            for (const auto& t : p) {
                if (!t.is_number_integer()) throw BadRequest("prompt mixes token ids with other values");
                const int64_t id = t.get<int64_t>();
                if (id < 0 || id >= wb_.base().vocab_size)
                    throw BadRequest("prompt token id " + std::to_string(id) + " is outside the vocabulary");
                out.push_back(static_cast<int32_t>(id));
            }
        } else {
            throw BadRequest("prompt must be a string or one list of token ids (one prompt per request)");
        }
        if (out.empty()) throw BadRequest("prompt is empty");
        return out;
    }

    // maxNew is already bounded by max_tokens' range, so the sum cannot overflow.
    void checkLength(const std::vector<int32_t>& prefix, int64_t maxNew, int64_t rows) const
    {
        const int64_t ctx = wb_.contextLength();
        if (ctx > 0 && static_cast<int64_t>(prefix.size()) + maxNew > ctx)
            throw BadRequest("prompt (" + std::to_string(prefix.size()) + " tokens) + max_tokens " + std::to_string(maxNew) +
                             " exceed the model's " + std::to_string(ctx) + " positions");
        const int64_t total = rows * (static_cast<int64_t>(prefix.size()) + maxNew);
        if (total > limits_.maxRequestTokens)
            throw BadRequest("n × (prompt + max_tokens) = " + std::to_string(total) + " tokens is more than this server's " +
                             std::to_string(limits_.maxRequestTokens) + " per request (--max-request-tokens); split it");
    }
    int64_t maxTokensCap() const { return wb_.contextLength() > 0 ? wb_.contextLength() : (int64_t(1) << 24); }

    Server(Workbench& wb, std::string baseName, std::string rewardName, ServeLimits limits)
        : wb_(wb), baseName_(std::move(baseName)), rewardName_(std::move(rewardName)), limits_(limits)
    {
    }

    // A request naming a model this server does not serve is answered 404, as vLLM does.
    static void requireModel(const json& b, const std::string& served, const char* role)
    {
        if (b.contains("model") && b["model"].is_string() && b["model"].get<std::string>() != served)
            throw std::out_of_range("The model `" + b["model"].get<std::string>() + "` does not exist (" + role + ": " +
                                    served + ")");
    }

    json models() const
    {
        json data = json::array();
        data.push_back({{"id", baseName_}, {"object", "model"}, {"created", 0}, {"owned_by", "rudder"},
                        {"max_model_len", wb_.contextLength()}});
        if (!rewardName_.empty())
            data.push_back({{"id", rewardName_}, {"object", "model"}, {"created", 0}, {"owned_by", "rudder"}});
        return {{"object", "list"}, {"data", data}};
    }

    json completions(const json& b)
    {
        requireModel(b, baseName_, "this server");
        CompletionRequest r;
        r.prefix = ids(b);
        const int64_t n = integer(b, "n", 1, 1, INT64_MAX);
        if (n > limits_.maxN)
            throw BadRequest("n = " + std::to_string(n) + " is more than this server's " + std::to_string(limits_.maxN) +
                             " (--max-n); split the request");
        r.max_new_tokens = integer(b, "max_tokens", 16, 1, maxTokensCap());
        checkLength(r.prefix, r.max_new_tokens, n);
        r.temperature = number(b, "temperature", 1.0);
        r.top_p = number(b, "top_p", 1.0);
        r.top_k = std::max<int64_t>(0, integer(b, "top_k", 0, -1, wb_.base().vocab_size));   // -1 and 0 both mean off
        if (r.temperature < 0 || r.top_p <= 0 || r.top_p > 1) throw BadRequest("temperature >= 0 and 0 < top_p <= 1");
        // vLLM's rule (_SAMPLING_EPS): below 1e-5 is greedy.  1e-320 would divide the logits into inf.
        if (r.temperature < 1e-5) r.temperature = 0;
        r.logprobs = b.contains("logprobs") && !b["logprobs"].is_null();
        const int64_t topK = r.logprobs ? integer(b, "logprobs", 0, 0, 256) : 0;   // top_logprobs per position
        const bool idsAsTokens = b.value("return_tokens_as_token_ids", false);
        // Seeds: Rudder's one-per-completion list reproduces a local run exactly; else vLLM's rule
        // (completion i of a seeded request uses seed + i); else fresh randomness.
        if (b.contains("rudder_seeds") && b["rudder_seeds"].is_array() && b["rudder_seeds"].size() == size_t(n)) {
            for (const auto& s : b["rudder_seeds"]) {
                if (!s.is_number_unsigned()) throw BadRequest("rudder_seeds must hold non-negative integers");
                r.seeds.push_back(s.get<uint64_t>());
            }
        } else {
            std::random_device rd;
            const uint64_t s0 = b.contains("seed") && b["seed"].is_number_integer()
                                    ? static_cast<uint64_t>(b["seed"].get<int64_t>())
                                    : (uint64_t(rd()) << 32) ^ rd();
            for (int64_t i = 0; i < n; ++i) r.seeds.push_back(s0 + uint64_t(i));
        }
        const bool skipSpecial = b.value("skip_special_tokens", true);
        Completions c;
        json choices = json::array();
        {
            std::lock_guard<std::mutex> lock(model_);
            c = wb_.completions().complete(r, nullptr);
            for (size_t i = 0; i < c.tokens.size(); ++i) {
                json ch = {{"index", i},
                           {"text", wb_.decode(c.tokens[i], skipSpecial)},
                           {"logprobs", nullptr},
                           {"finish_reason", c.finished[i] ? "stop" : "length"},
                           {"stop_reason", nullptr},
                           {"token_ids", b.value("return_token_ids", false) ? json(c.tokens[i]) : json(nullptr)}};
                if (r.logprobs) {
                    auto tokenName = [&](int32_t t) {
                        return idsAsTokens ? "token_id:" + std::to_string(t) : wb_.decode({t}, false);
                    };
                    json toks = json::array(), top = topK > 0 ? json::array() : json(nullptr);
                    std::vector<int32_t> prefix = r.prefix;
                    for (int32_t t : c.tokens[i]) {
                        toks.push_back(tokenName(t));
                        if (topK > 0) {   // the k most likely tokens at this position (ARGS reads them)
                            const NextTokens nt = wb_.completions().nextTokens(prefix, topK, nullptr);
                            json d = json::object();
                            for (size_t j = 0; j < nt.ids.size(); ++j) d[tokenName(nt.ids[j])] = nt.logprobs[j];
                            top.push_back(std::move(d));
                        }
                        prefix.push_back(t);
                    }
                    ch["logprobs"] = {{"tokens", toks}, {"token_logprobs", c.logprobs[i]}, {"top_logprobs", top},
                                      {"text_offset", json::array()}};
                }
                choices.push_back(std::move(ch));
            }
        }
        const int64_t L = static_cast<int64_t>(r.prefix.size());
        json out = {{"id", "cmpl-rudder-" + std::to_string(++counter_)},
                    {"object", "text_completion"},
                    {"created", static_cast<int64_t>(std::time(nullptr))},
                    {"model", baseName_},
                    {"choices", choices},
                    {"usage",
                     {{"prompt_tokens", L},
                      {"completion_tokens", c.generated_tokens},
                      {"total_tokens", L + c.generated_tokens},
                      {"prompt_tokens_details", {{"cached_tokens", L - std::min(L, c.prefill_tokens)}}}}}};
        if (b.value("return_token_ids", false)) out["prompt_token_ids"] = r.prefix;
        return out;
    }

    // Rudder's pre-logit extension (AISP): the control U and the noise seeds in, greedy decodes out.
    json perturbed(const json& b)
    {
        PerturbedRequest r;
        r.prefix = ids(b);
        r.max_new_tokens = integer(b, "max_tokens", 16, 1, maxTokensCap());
        r.tau = integer(b, "tau", r.max_new_tokens, 1, r.max_new_tokens);
        const int64_t d = wb_.base().hidden_size;
        r.hidden = integer(b, "hidden_size", d, 1, INT64_MAX);
        if (r.hidden != d) throw BadRequest("hidden_size must be this model's " + std::to_string(d) + ", not " + std::to_string(r.hidden));
        r.sigma = number(b, "sigma", 0.0);
        if (r.sigma < 0) throw BadRequest("sigma must be >= 0");
        r.rho = number(b, "rho", 0.0);
        if (!(r.rho >= 0 && r.rho < 1)) throw BadRequest("rho must be in [0, 1)");
        r.kl = b.value("kl", false);
        if (b.contains("control") && !b["control"].is_null()) {
            if (!b["control"].is_array() || int64_t(b["control"].size()) != r.tau * d)
                throw BadRequest("control must be a list of tau × hidden_size = " + std::to_string(r.tau * d) + " numbers");
            for (const auto& x : b["control"])
                if (!x.is_number() || !std::isfinite(x.get<double>())) throw BadRequest("control must hold finite numbers");
            r.control = b["control"].get<std::vector<float>>();
        }
        if (b.contains("noise_seeds")) {
            if (!b["noise_seeds"].is_array() || int64_t(b["noise_seeds"].size()) > limits_.maxN)
                throw BadRequest("noise_seeds must be a list of at most " + std::to_string(limits_.maxN) + " seeds (--max-n)");
            for (const auto& x : b["noise_seeds"])
                if (!x.is_number_unsigned()) throw BadRequest("noise_seeds must hold non-negative integers");
            r.noise_seeds = b["noise_seeds"].get<std::vector<uint64_t>>();
        }
        checkLength(r.prefix, r.max_new_tokens, std::max<int64_t>(1, int64_t(r.noise_seeds.size())));
        PerturbedDecodes pd;
        {
            std::lock_guard<std::mutex> lock(model_);
            pd = wb_.completions().perturbed(r, nullptr);
        }
        json choices = json::array();
        for (size_t i = 0; i < pd.tokens.size(); ++i)
            choices.push_back({{"index", i}, {"token_ids", pd.tokens[i]}, {"finish_reason", pd.finished[i] ? "stop" : "length"}});
        return {{"choices", choices},
                {"rho", r.rho},   // echoed: a client can tell a server that ignored ρ (drew other noise)
                {"kl", r.kl ? json(pd.kl) : json(nullptr)},
                {"usage", {{"prefill_tokens", pd.prefill_tokens}, {"completion_tokens", pd.generated_tokens}}}};
    }

    json prelogit(const json& b)
    {
        const std::vector<int32_t> p = ids(b);
        checkLength(p, 0, 1);
        std::lock_guard<std::mutex> lock(model_);
        const PrelogitInfo info = wb_.completions().prelogitInfo(p, nullptr);
        return {{"rms", info.rms}, {"hidden_size", info.hidden}};
    }

    json info() const
    {
        return {{"extensions", {"perturbed", "prelogit"}}, {"model", baseName_}, {"hidden_size", wb_.base().hidden_size}};
    }

    // Scores (prompt, response) items in order; a run of items with the same prompt (a client
    // sending one prompt's responses) is one batch for the reward model.
    std::vector<double> scoreMany(const std::vector<std::pair<std::string, std::string>>& items)
    {
        if (int64_t(items.size()) > limits_.maxItems)
            throw BadRequest(std::to_string(items.size()) + " items is more than this server's " +
                             std::to_string(limits_.maxItems) + " per request (--max-items); split it");
        // Each item must fit the reward model before any is scored: a 10,000-word response was
        // run through attention at full length.
        const int64_t cap = wb_.reward()->maxInputTokens();
        if (cap > 0)
            for (size_t i = 0; i < items.size(); ++i) {
                const int64_t n = wb_.reward()->inputTokens(items[i].first, items[i].second);
                if (n > cap)
                    throw BadRequest("item " + std::to_string(i) + ": prompt + response is " + std::to_string(n) +
                                     " tokens for the reward model, more than its " + std::to_string(cap) + " positions");
            }
        std::vector<double> out;
        std::lock_guard<std::mutex> lock(model_);
        for (size_t i = 0; i < items.size();) {
            std::vector<std::string> responses;
            size_t j = i;
            for (; j < items.size() && items[j].first == items[i].first; ++j) responses.push_back(items[j].second);
            const std::vector<double> s = wb_.reward()->score(items[i].first, responses);
            if (s.size() != responses.size()) throw std::runtime_error("the reward returned the wrong number of scores");
            out.insert(out.end(), s.begin(), s.end());
            i = j;
        }
        return out;
    }

    json pooling(const json& b)
    {
        if (!wb_.reward()) throw BadRequest("this server has no reward model (start it with --reward)");
        requireModel(b, rewardName_, "reward");
        std::vector<std::pair<std::string, std::string>> items;
        if (b.contains("messages")) {
            // The conversation's last user turn is the prompt, its last assistant turn the response.
            std::string prompt, response;
            if (!b["messages"].is_array()) throw BadRequest("messages must be a list");
            for (const auto& m : b["messages"]) {
                if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["content"].is_string())
                    throw BadRequest("each message needs a role and a string content");
                if (m["role"] == "user") prompt = m["content"].get<std::string>();
                if (m["role"] == "assistant") response = m["content"].get<std::string>();
            }
            items.emplace_back(prompt, response);
        } else if (b.contains("input")) {
            // Plain text input has no prompt/response split: scored as a response to an empty prompt.
            const json& in = b["input"];
            if (in.is_string()) items.emplace_back("", in.get<std::string>());
            else if (in.is_array())
                for (const auto& x : in) {
                    if (!x.is_string()) throw BadRequest("input must be a string or a list of strings");
                    items.emplace_back("", x.get<std::string>());
                }
            else throw BadRequest("input must be a string or a list of strings");
        } else {
            throw BadRequest("give messages (a user and an assistant turn) or input");
        }
        const auto scores = scoreMany(items);
        json data = json::array();
        for (size_t i = 0; i < scores.size(); ++i)
            data.push_back({{"index", i}, {"object", "pooling"}, {"data", json::array({scores[i]})}});
        return {{"id", "pool-rudder-" + std::to_string(++counter_)},
                {"object", "list"},
                {"created", static_cast<int64_t>(std::time(nullptr))},
                {"model", rewardName_},
                {"data", data},
                {"usage", {{"prompt_tokens", 0}, {"total_tokens", 0}}}};
    }

    json plainReward(const json& b)
    {
        if (!wb_.reward()) throw BadRequest("this server has no reward model (start it with --reward)");
        if (!b.is_array()) throw BadRequest("the body must be a JSON array of {\"prompt\", \"response\"} objects");
        std::vector<std::pair<std::string, std::string>> items;
        for (const auto& x : b) {
            if (!x.is_object() || !x.contains("prompt") || !x.contains("response") || !x["prompt"].is_string() ||
                !x["response"].is_string())
                throw BadRequest("each item needs string fields prompt and response");
            items.emplace_back(x["prompt"].get<std::string>(), x["response"].get<std::string>());
        }
        return scoreMany(items);
    }

private:
    Workbench& wb_;
    std::string baseName_, rewardName_;
    ServeLimits limits_;
    std::mutex model_;
    std::atomic<int64_t> counter_{0};
};

std::string lastPathPart(std::string s)
{
    while (!s.empty() && s.back() == '/') s.pop_back();
    const auto slash = s.find_last_of('/');
    return slash == std::string::npos ? s : s.substr(slash + 1);
}

} // namespace

void addServeCommand(CLI::App& app)
{
    struct Opts {
        std::string model, reward, name, host = "127.0.0.1", apiKey, apiKeyEnv;
        LoadOptions load;
        int port = 8000, threads = 64;
        ServeLimits limits;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "serve", "Serve a model (and a reward) over the OpenAI-compatible API that Rudder's remote backend and vLLM "
                 "speak, so the GUI or CLI elsewhere can drive it (--model http://HOST:PORT/v1).\nPrints "
                 "'listening on http://HOST:PORT' on stderr once ready; Ctrl-C stops it.");
    cmd->add_option("--model", o->model, "Base model: a directory or cached repo id (default: the embedded demo LM)");
    cmd->add_option("--reward", o->reward,
                    "Reward served at /pooling and /rudder/v1/reward: a reward-model directory, repo id, 'lexicon' or "
                    "demo-rm (default: the demo RM with the demo LM, else none)");
    cmd->add_option("--served-model-name", o->name, "Name the base model is served under (default: its directory name)");
    cmd->add_option("--host", o->host, "Address to listen on (loopback unless told otherwise)")->capture_default_str();
    cmd->add_option("--port", o->port, "Port (0 = any free port, printed at start)")->capture_default_str()
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--api-key", o->apiKey, "Refuse requests without 'Authorization: Bearer KEY'");
    cmd->add_option("--api-key-env", o->apiKeyEnv, "Read that key from this environment variable instead");
    cmd->add_option("--threads", o->threads, "Connections served at once (requests still run the model one by one)")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    cmd->add_option("--max-n", o->limits.maxN, "Most completions (n) or noise rows one request may ask for")
        ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--max-request-tokens", o->limits.maxRequestTokens,
                    "Most tokens one request may decode: n × (prompt + max_tokens)")
        ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 40));
    cmd->add_option("--max-items", o->limits.maxItems, "Most (prompt, response) pairs one reward request may score")
        ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 30));
    cmd->add_option("--max-body", o->limits.maxBodyBytes, "Largest request body in bytes (larger: 413)")
        ->capture_default_str()->check(CLI::Range(int64_t(1024), int64_t(1) << 34));
    cmd->add_option("--device", o->load.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    cmd->add_option("--dtype", o->load.dtype, "auto | fp32 | bf16 | fp16")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "float32", "bfloat16", "float16"}));
    cmd->callback([o] {
        std::string key = o->apiKey;
        if (!o->apiKeyEnv.empty()) {
            const char* k = std::getenv(o->apiKeyEnv.c_str());
            if (!k || !*k) throw UsageError("--api-key-env", o->apiKeyEnv, "is not set in the environment");
            key = k;
        }
        const bool demo = o->model.empty();
        if (demo) o->model = demoModelDir();
        if (o->reward.empty() && demo) o->reward = demoRewardDir();
        if (isRemoteSpec(o->model)) throw UsageError("--model", o->model, "serve runs a local model (a directory or repo id)");
        Workbench wb;
        try {
            wb.loadBase(o->model, o->load);
            if (!o->reward.empty()) wb.setReward(resolveDemoReward(o->reward), o->load);
        } catch (const Error& e) {
            throw UsageError(std::string("serve: ") + e.what());
        }
        const std::string name = o->name.empty() ? lastPathPart(o->model) : o->name;
        const std::string rewardName = wb.reward() ? wb.reward()->name() : "";
        Server server(wb, name, rewardName, o->limits);

        httplib::Server svr;
        const int threads = o->threads;
        svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
        svr.set_keep_alive_max_count(100000);
        svr.set_keep_alive_timeout(5);
        svr.set_payload_max_length(size_t(o->limits.maxBodyBytes));   // larger: 413
        svr.set_pre_routing_handler([key](const httplib::Request& req, httplib::Response& res) {
            if (key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
            if (req.get_header_value("Authorization") == "Bearer " + key) return httplib::Server::HandlerResponse::Unhandled;
            fail(res, 401, "missing or wrong API key (send 'Authorization: Bearer KEY')");
            return httplib::Server::HandlerResponse::Handled;
        });
        // Every JSON endpoint: parse, answer, map errors onto HTTP statuses with a message.
        auto jsonRoute = [&svr](const char* path, std::function<json(const json&)> f) {
            svr.Post(path, [f](const httplib::Request& req, httplib::Response& res) {
                json body;
                try {
                    body = json::parse(req.body);   // (1e999999 is an out_of_range, not a parse_error)
                } catch (const json::exception& e) {
                    return fail(res, 400, "the body is not valid JSON: " + jsonErrorText(e));
                }
                try {
                    res.set_content(f(body).dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
                } catch (const BadRequest& e) {
                    fail(res, 400, e.what());
                } catch (const std::out_of_range& e) {
                    fail(res, 404, e.what());
                } catch (const json::exception& e) {
                    fail(res, 400, "bad field: " + jsonErrorText(e));
                } catch (const UsageError& e) {
                    fail(res, 400, e.what());
                } catch (const std::exception& e) {
                    // Internals (a libtorch message carries a C++ stack trace) go to the log only.
                    std::cerr << "rudder-cli serve: " << req.path << ": " << e.what() << "\n";
                    fail(res, 500, "the server failed on this request; its log has the details");
                }
            });
        };
        jsonRoute("/v1/completions", [&server](const json& b) { return server.completions(b); });
        jsonRoute("/pooling", [&server](const json& b) { return server.pooling(b); });
        jsonRoute("/rudder/v1/reward", [&server](const json& b) { return server.plainReward(b); });
        jsonRoute("/rudder/v1/perturbed", [&server](const json& b) { return server.perturbed(b); });
        jsonRoute("/rudder/v1/prelogit", [&server](const json& b) { return server.prelogit(b); });
        svr.Get("/rudder/v1/info", [&server](const httplib::Request&, httplib::Response& res) {
            res.set_content(server.info().dump(), "application/json");
        });
        svr.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
        svr.Get("/v1/models", [&server](const httplib::Request&, httplib::Response& res) {
            res.set_content(server.models().dump(), "application/json");
        });

        int port = o->port;
        if (port == 0) port = svr.bind_to_any_port(o->host);
        else if (!svr.bind_to_port(o->host.c_str(), port)) port = -1;
        if (port <= 0)
            throw UsageError("--port", std::to_string(o->port), "cannot listen on " + o->host + " (in use, or not allowed)");
        struct sigaction sa {};
        sa.sa_handler = onStopSignal;
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        std::atomic<bool> returned{false};
        std::thread watcher([&svr, &returned] {
            while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            svr.stop();
            // listen() joins its workers, and a worker holding an idle keep-alive connection waits
            // for that connection's timeout: Ctrl-C should not.  The model holds nothing to save.
            for (int i = 0; i < 20 && !returned.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            if (!returned.load()) {
                std::cerr << "rudder-cli serve: stopped\n";
                std::_Exit(0);
            }
        });
        std::cerr << "rudder-cli serve: listening on http://" << o->host << ":" << port << " (model " << name
                  << (rewardName.empty() ? "" : ", reward " + rewardName) << (key.empty() ? "" : ", API key required")
                  << ")" << std::endl;
        svr.listen_after_bind();
        returned = true;
        g_stop = true;
        watcher.join();
        std::cerr << "rudder-cli serve: stopped\n";
    });
}

} // namespace rudder::cli
