// Serving engines behind the CompletionBackend and RewardFunction interfaces (rudder/remote.h).
// Wire format: vLLM's OpenAI-compatible API (what Rudder sends and reads is listed in the README,
// "Scaling out"); `rudder-cli serve` answers the same.
#include "rudder/remote.h"

#include <algorithm>
#include <cstdint>

#include "remote/http_pool.h"
#include "rudder/error.h"

using nlohmann::json;

namespace rudder {

using remote::HttpPool;

namespace {

// The API root of a base-model endpoint ("/v1" unless the path names another).
std::string apiRoot(const RemoteEndpoint& e) { return e.path.empty() ? "/v1" : e.path; }

const json& field(const json& j, const char* key, const std::string& where)
{
    if (!j.is_object() || !j.contains(key)) throw Error(where, key, "missing in the server's answer");
    return j[key];
}

// Prefill cost of a completion: the prompt tokens the server did not find in its prefix cache
// (vLLM reports them with --enable-prompt-tokens-details; without it every prompt token counts).
int64_t uncachedPromptTokens(const json& a, size_t promptLen)
{
    int64_t prompt = static_cast<int64_t>(promptLen), cached = 0;
    if (a.contains("usage") && a["usage"].is_object()) {
        const json& u = a["usage"];
        if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer()) prompt = u["prompt_tokens"].get<int64_t>();
        if (u.contains("prompt_tokens_details") && u["prompt_tokens_details"].is_object())
            cached = u["prompt_tokens_details"].value("cached_tokens", int64_t(0));
    }
    return std::max<int64_t>(0, prompt - cached);
}

// The served model's name on a request body; without one the server's default model answers.
json withModel(json body, const RemoteEndpoint& server)
{
    if (!server.model.empty()) body["model"] = server.model;
    return body;
}

// Seeds go on the wire as non-negative int64: vLLM validates `seed` against torch.long.
int64_t wireSeed(uint64_t s) { return static_cast<int64_t>(s & 0x7fffffffffffffffULL); }

class RemoteCompletions : public CompletionBackend {
public:
    RemoteCompletions(const RemoteEndpoint& server, const RemoteOptions& options, std::vector<int64_t> stop)
        : pool_(server, options), stop_(std::move(stop))
    {
    }

    std::string name() const override { return pool_.server().url() + "#" + pool_.server().model; }
    int64_t concurrency() const override { return std::max(1, pool_.options().max_in_flight); }

    Completions complete(const CompletionRequest& r, const std::atomic<bool>* cancel) override
    {
        return completeMany({r}, cancel).front();
    }

    // One HTTP request per CompletionRequest, all in flight together (QAlign: one per chain).
    // keep/reuse are hints for a local KV cache; the server's prefix cache does that job.
    std::vector<Completions> completeMany(const std::vector<CompletionRequest>& reqs,
                                          const std::atomic<bool>* cancel) override
    {
        std::vector<Completions> out(reqs.size());
        std::vector<json> bodies;
        std::vector<size_t> sent;
        for (size_t i = 0; i < reqs.size(); ++i) {
            const auto& r = reqs[i];
            if (r.seeds.empty()) {   // a priming request: nothing to generate, no state to keep
                if (r.keep) out[i].handles.push_back(-1);
                continue;
            }
            json b = {{"prompt", r.prefix},
                      {"n", r.seeds.size()},
                      {"max_tokens", r.max_new_tokens},
                      {"temperature", r.temperature},
                      {"top_p", r.top_p},
                      {"seed", wireSeed(r.seeds.front())},
                      {"stop_token_ids", stop_},
                      {"return_token_ids", true},
                      {"skip_special_tokens", false},
                      // Rudder's own: one seed per completion.  vLLM ignores it (and seeds
                      // completion i with seed + i); `rudder-cli serve` reproduces a local run.
                      {"rudder_seeds", r.seeds},
                      // Every sampling parameter, explicitly: a server fills the ones a request
                      // leaves out from the model's generation_config.json (vLLM's
                      // --generation-config auto, the default since 0.6.5: Qwen3 sets top_k 20,
                      // top_p 0.8; llama.cpp's server defaults min_p to 0.05), and QAlign's and
                      // WMV's proposals would silently stop being base-model samples.
                      {"top_k", r.top_k > 0 ? r.top_k : -1},   // -1: off, as vLLM and SGLang read it
                      {"min_p", 0.0},
                      {"repetition_penalty", 1.0},
                      {"presence_penalty", 0.0},
                      {"frequency_penalty", 0.0}};
            if (r.logprobs) b["logprobs"] = 0;   // the sampled token's own log-probability only
            bodies.push_back(withModel(std::move(b), pool_.server()));
            sent.push_back(i);
        }
        std::vector<json> answers;
        try {
            answers = pool_.postMany(apiRoot(pool_.server()) + "/completions", bodies, cancel);
        } catch (const Cancelled&) {
            for (auto& c : out) c.cancelled = true;
            return out;
        }
        for (size_t k = 0; k < sent.size(); ++k) out[sent[k]] = parse(answers[k], reqs[sent[k]]);
        return out;
    }

    // A one-token completion with the top-k log-probabilities, tokens named by id
    // (vLLM's return_tokens_as_token_ids writes them as "token_id:N").  vLLM reports raw
    // log-probabilities (before temperature), and may add the sampled token as a (k+1)-th entry.
    NextTokens nextTokens(const std::vector<int32_t>& prefix, int64_t k, const std::atomic<bool>* cancel) override
    {
        const json b = withModel({{"prompt", prefix}, {"n", 1}, {"max_tokens", 1}, {"temperature", 1.0}, {"seed", 0},
                                  {"logprobs", k}, {"return_tokens_as_token_ids", true}, {"return_token_ids", true},
                                  {"stop_token_ids", stop_}},
                                 pool_.server());
        NextTokens out;
        json a;
        try {
            a = pool_.post(apiRoot(pool_.server()) + "/completions", b, cancel);
        } catch (const Cancelled&) {
            out.cancelled = true;
            return out;
        }
        const std::string where = pool_.server().url() + "/completions";
        const json& choices = field(a, "choices", where);
        if (!choices.is_array() || choices.empty()) throw Error(where, "choices", "is empty");
        const json& lp = field(choices[0], "logprobs", where + " choices[0]");
        const json& top = field(lp, "top_logprobs", where + " choices[0].logprobs");
        if (!top.is_array() || top.empty() || !top[0].is_object())
            throw Error(where, "choices[0].logprobs.top_logprobs", "holds no distribution (is logprobs supported?)");
        std::vector<std::pair<double, int32_t>> cands;
        for (const auto& [key, v] : top[0].items()) {
            if (key.rfind("token_id:", 0) != 0 || !v.is_number())
                throw Error(where, "top_logprobs", "names tokens by text ('" + key.substr(0, 20) +
                                                       "'): the server must support return_tokens_as_token_ids (vLLM)");
            cands.emplace_back(v.get<double>(), static_cast<int32_t>(std::stol(key.substr(9))));
        }
        std::sort(cands.begin(), cands.end(), [](const auto& x, const auto& y) {
            return x.first != y.first ? x.first > y.first : x.second < y.second;
        });
        cands.resize(std::min<size_t>(cands.size(), static_cast<size_t>(k)));
        for (const auto& [l, id] : cands) out.ids.push_back(id), out.logprobs.push_back(l);
        out.prefill_tokens = uncachedPromptTokens(a, prefix.size());
        return out;
    }

    // Rudder's pre-logit extension (rudder-cli serve), for AISP.
    PerturbedDecodes perturbed(const PerturbedRequest& r, const std::atomic<bool>* cancel) override
    {
        json b = {{"prompt", r.prefix}, {"max_tokens", r.max_new_tokens}, {"tau", r.tau}, {"hidden_size", r.hidden},
                  {"control", r.control}, {"sigma", r.sigma}, {"rho", r.rho}, {"noise_seeds", r.noise_seeds}, {"kl", r.kl}};
        PerturbedDecodes out;
        json a;
        try {
            a = extension("/rudder/v1/perturbed", b, cancel);
        } catch (const Cancelled&) {
            out.cancelled = true;
            return out;
        }
        const std::string where = pool_.server().origin + "/rudder/v1/perturbed";
        // A server from before ρ ignores it and draws independent noise: the weights would then
        // describe noise that was never used.
        if (r.rho > 0 && !(a.contains("rho") && a["rho"].is_number() && a["rho"].get<double>() == r.rho))
            throw Error(where, "rho", "ignored by this server (it drew independent noise); update its rudder-cli serve, or run with --set rho=0");
        for (const auto& ch : field(a, "choices", where)) {
            std::vector<int32_t> toks;
            for (const auto& t : field(ch, "token_ids", where + " choices[]")) toks.push_back(t.get<int32_t>());
            out.generated_tokens += static_cast<int64_t>(toks.size());
            out.finished.push_back(ch.value("finish_reason", std::string()) == "stop");
            out.tokens.push_back(std::move(toks));
        }
        if (r.kl) out.kl = field(a, "kl", where).get<std::vector<double>>();
        out.prefill_tokens = a.contains("usage") ? a["usage"].value("prefill_tokens", int64_t(0)) : 0;
        return out;
    }

    PrelogitInfo prelogitInfo(const std::vector<int32_t>& prefix, const std::atomic<bool>* cancel) override
    {
        const json a = extension("/rudder/v1/prelogit", {{"prompt", prefix}}, cancel);
        const std::string where = pool_.server().origin + "/rudder/v1/prelogit";
        return {field(a, "rms", where).get<double>(), field(a, "hidden_size", where).get<int64_t>()};
    }

private:
    // A call to Rudder's own endpoints: a server without them (vLLM) answers 404, said plainly.
    json extension(const std::string& path, const json& body, const std::atomic<bool>* cancel)
    {
        try {
            return pool_.post(path, body, cancel);
        } catch (const remote::HttpError& e) {
            if (e.status != 404) throw;
            throw UsageError(pool_.server().origin, "", "does not offer Rudder's pre-logit extension (" + path +
                                                            "): AISP needs the model here (--model DIR) or rudder-cli serve");
        }
    }

    Completions parse(const json& a, const CompletionRequest& r) const
    {
        const std::string where = pool_.server().url() + "/completions";
        Completions c;
        const json& choices = field(a, "choices", where);
        if (!choices.is_array() || choices.size() != r.seeds.size())
            throw Error(where, "choices", "has " + std::to_string(choices.is_array() ? choices.size() : 0) +
                                              " entries for n = " + std::to_string(r.seeds.size()));
        std::vector<const json*> byIndex(choices.size(), nullptr);
        for (size_t i = 0; i < choices.size(); ++i) {
            const json& ch = choices[i];
            const size_t idx = ch.is_object() && ch.contains("index") && ch["index"].is_number_unsigned()
                                   ? ch["index"].get<size_t>()
                                   : i;
            if (idx >= byIndex.size() || byIndex[idx])
                throw Error(where, "choices[" + std::to_string(i) + "].index", "is out of range or repeated");
            byIndex[idx] = &ch;
        }
        for (const json* ch : byIndex) {
            if (!ch->is_object() || !ch->contains("token_ids") || !(*ch)["token_ids"].is_array())
                throw Error(where, "choices[].token_ids",
                            "missing: the server must return token ids (vLLM >= 0.10.2 with return_token_ids, "
                            "or rudder-cli serve)");
            const json& ids = (*ch)["token_ids"];
            std::vector<int32_t> toks;
            for (const auto& t : ids) {
                if (!t.is_number_integer()) throw Error(where, "choices[].token_ids", "holds a non-integer");
                toks.push_back(t.get<int32_t>());
            }
            const std::string reason = ch->value("finish_reason", std::string());
            const bool stopped = reason == "stop";
            // An EOS stop keeps its token (as the local backend does); add it if a server left it out.
            if (stopped && !stop_.empty() &&
                (toks.empty() || std::find(stop_.begin(), stop_.end(), int64_t(toks.back())) == stop_.end())) {
                const json sr = ch->value("stop_reason", json());
                toks.push_back(sr.is_number_integer() ? sr.get<int32_t>() : static_cast<int32_t>(stop_.front()));
            }
            if (static_cast<int64_t>(toks.size()) > r.max_new_tokens)
                throw Error(where, "choices[].token_ids", "is longer than max_tokens");
            if (r.logprobs) {
                const json& lp = field(*ch, "logprobs", where + " choices[]");
                const json& tl = field(lp, "token_logprobs", where + " choices[].logprobs");
                std::vector<float> v;
                for (const auto& x : tl) v.push_back(x.is_number() ? x.get<float>() : 0.0f);
                v.resize(toks.size(), 0.0f);
                c.logprobs.push_back(std::move(v));
            }
            c.generated_tokens += static_cast<int64_t>(toks.size());
            c.tokens.push_back(std::move(toks));
            c.finished.push_back(stopped);
            if (r.keep) c.handles.push_back(-1);
        }
        c.prefill_tokens = uncachedPromptTokens(a, r.prefix.size());
        return c;
    }

    mutable HttpPool pool_;
    std::vector<int64_t> stop_;
};

class RemoteReward : public RewardFunction {
public:
    RemoteReward(const RemoteEndpoint& server, const RemoteOptions& options) : pool_(server, options)
    {
        const std::string& p = server.path;
        vllm_ = p.size() >= 8 && p.compare(p.size() - 8, 8, "/pooling") == 0;
    }

    std::string name() const override
    {
        return pool_.server().model.empty() ? pool_.server().url() : pool_.server().model;
    }

    std::vector<double> score(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        if (responses.empty()) return {};
        try {
            return vllm_ ? pooling(prompt, responses) : plain(prompt, responses);
        } catch (const Cancelled&) {
            throw Cancelled(pool_.server().url(), "", "reward stopped");
        }
    }

private:
    // vLLM's pooling API, one conversation per response: the server applies the reward model's
    // own chat template, and use_activation=false returns the head's raw score (a softmax or
    // sigmoid would squash the reward scale the methods' temperatures work on).
    std::vector<double> pooling(const std::string& prompt, const std::vector<std::string>& responses)
    {
        std::vector<json> bodies;
        for (const auto& r : responses)
            bodies.push_back(withModel({{"messages", json::array({{{"role", "user"}, {"content", prompt}},
                                                                  {{"role", "assistant"}, {"content", r}}})},
                                        {"use_activation", false}},
                                       pool_.server()));
        const auto answers = pool_.postMany(pool_.server().path, bodies, cancel_);
        std::vector<double> out;
        const std::string where = pool_.server().url();
        for (const auto& a : answers) {
            const json& data = field(a, "data", where);
            if (!data.is_array() || data.empty()) throw Error(where, "data", "is empty");
            const json* x = &field(data[0], "data", where + " data[0]");
            while (x->is_array() && !x->empty()) x = &(*x)[0];   // [score] or [[score]]
            if (!x->is_number()) throw Error(where, "data[0].data", "holds no number");
            out.push_back(x->get<double>());
        }
        return out;
    }

    std::vector<double> plain(const std::string& prompt, const std::vector<std::string>& responses)
    {
        json items = json::array();
        for (const auto& r : responses) items.push_back({{"prompt", prompt}, {"response", r}});
        const json a = pool_.post(pool_.server().path.empty() ? "/" : pool_.server().path, items, cancel_);
        const std::string where = pool_.server().url();
        const json& list = a.is_object() && a.contains("rewards") ? a["rewards"] : a;
        if (!list.is_array() || list.size() != responses.size())
            throw Error(where, "response", "must be a JSON array of " + std::to_string(responses.size()) +
                                               " numbers (or {\"rewards\": [...]})");
        std::vector<double> out;
        for (const auto& x : list) {
            if (!x.is_number()) throw Error(where, "response", "holds a non-number: " + x.dump().substr(0, 60));
            out.push_back(x.get<double>());
        }
        return out;
    }

    HttpPool pool_;
    bool vllm_ = false;
};

} // namespace

std::vector<std::string> remoteModelIds(const RemoteEndpoint& server, const RemoteOptions& options)
{
    RemoteOptions quick = options;
    quick.timeout_s = std::min(options.timeout_s, 30.0);
    quick.retries = std::min(options.retries, 1);
    HttpPool pool(server, quick);
    const std::string root = apiRoot(server);
    const json a = pool.get(root + "/models", nullptr);
    std::vector<std::string> ids;
    const json& data = field(a, "data", server.origin + root + "/models");
    if (data.is_array())
        for (const auto& m : data)
            if (m.is_object() && m.contains("id") && m["id"].is_string()) ids.push_back(m["id"].get<std::string>());
    return ids;
}

bool remoteOffersPrelogits(const RemoteEndpoint& server, const RemoteOptions& options)
{
    RemoteOptions quick = options;
    quick.timeout_s = std::min(options.timeout_s, 10.0);
    quick.retries = 0;
    try {
        HttpPool pool(server, quick);
        const json a = pool.get("/rudder/v1/info", nullptr);
        return a.is_object() && a.contains("extensions") && a["extensions"].is_array() &&
               std::find(a["extensions"].begin(), a["extensions"].end(), json("perturbed")) != a["extensions"].end();
    } catch (const std::exception&) {
        return false;
    }
}

std::unique_ptr<CompletionBackend> makeRemoteCompletions(const RemoteEndpoint& server, const RemoteOptions& options,
                                                         std::vector<int64_t> stopIds)
{
    return std::make_unique<RemoteCompletions>(server, options, std::move(stopIds));
}

std::unique_ptr<RewardFunction> makeRemoteReward(const RemoteEndpoint& server, const RemoteOptions& options)
{
    return std::make_unique<RemoteReward>(server, options);
}

} // namespace rudder
