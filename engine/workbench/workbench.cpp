// The Workbench facade: model loading, reward selection and method runs behind a torch-free
// header, so the GUI (Qt) and the CLI never include libtorch.
#include "rudder/workbench.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>

#include "methods/method.h"
#include "methods/value_function.h"
#include "model/causal_lm.h"
#include "model/loader.h"
#include "model/reward_model.h"
#include "rudder/analysis.h"
#include "rudder/error.h"
#include "rudder/hf_cache.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"
#include "rudder/methods.h"
#include "rudder/remote.h"
#include "rudder/runtime_init.h"
#include "rudder/sha256.h"
#include "rudder/templates.h"
#include "rudder/tokenizer.h"

namespace fs = std::filesystem;

namespace rudder {

namespace {

std::string dtypeName(at::ScalarType t)
{
    switch (t) {
    case at::kFloat: return "fp32";
    case at::kBFloat16: return "bf16";
    case at::kHalf: return "fp16";
    case at::kDouble: return "fp64";
    default: return c10::toString(t);
    }
}

// Mean of the final-norm hidden states over a text's tokens (BOS included): the sentence
// embedding behind coherence (AISP paper, App. C.4 uses SimCSE; any loaded model can stand in).
std::vector<double> meanPooledEmbedding(CausalLM& lm, const std::vector<int32_t>& ids)
{
    if (ids.empty()) return {};
    at::NoGradGuard ng;
    std::vector<int64_t> v(ids.begin(), ids.end());
    const int64_t T = static_cast<int64_t>(v.size());
    KVCache cache = lm.newCache(1, T);
    at::Tensor tok = at::tensor(v, at::kLong).view({1, T}).to(lm.device());
    at::Tensor h = lm.forward(cache, tok).squeeze(0).to(at::kDouble).mean(0).cpu().contiguous();
    return std::vector<double>(h.data_ptr<double>(), h.data_ptr<double>() + h.numel());
}

std::string displayName(const std::string& dir)
{
    fs::path p(dir);
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

// Every id the tokenizer can produce indexes the model's embedding.  An added token past the last
// row passed loading and failed later inside libtorch ("index out of range in self", a C++ frame
// dump); it is refused here, naming the token.
void checkTokenizerFitsModel(const Tokenizer& tok, int64_t modelVocab, const std::string& dir)
{
    const int64_t n = tok.vocabSize();
    if (n <= modelVocab) return;
    const int32_t id = int32_t(n - 1);
    throw UsageError(tok.path(), "token \"" + tok.idToToken(id) + "\"",
                     "id " + std::to_string(id) + " is outside the model's vocabulary (" + std::to_string(modelVocab) +
                         " rows, vocab_size in " + (fs::path(dir) / "config.json").string() + ")");
}

// A reward-model directory as a RewardFunction: (prompt, response) is rendered in the RM's own
// conversation format, tokenized with the RM's tokenizer and scored at its last token.
class NeuralReward : public RewardFunction {
public:
    NeuralReward(const std::string& dir, const LoadOptions& opt)
        : rm_(loadRewardModel(dir, opt.device, opt.dtype)), tok_(Tokenizer::fromDirectory(dir)),
          templ_(detectTemplate(tok_->tokenizerConfig())), name_(displayName(dir))
    {
        checkTokenizerFitsModel(*tok_, rm_->config().vocab_size, dir);
        // ArmoRM gates on the hidden state at the assistant header, in its own tokenizer's ids.
        if (rm_->headKind() == "armo_gating")
            rm_->setGatingPattern(tok_->encode("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", false));
    }

    std::vector<double> score(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        return rm_->scoreIds(inputs(prompt, responses));
    }

    std::vector<double> scorePartial(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        const auto seqs = inputs(prompt, responses);
        const int64_t before = prefix_.computedTokens;
        auto out = rm_->scoreWithPrefix(prefix_, seqs);
        lastPartial_ = prefix_.computedTokens - before;
        return out;
    }
    int64_t lastPartialTokens() const override { return lastPartial_; }
    std::vector<std::vector<double>> lastObjectives() const override { return rm_->lastObjectives(); }
    std::vector<std::string> objectiveNames() const override
    {
        // ArmoRM-Llama3-8B-v0.1's attributes, in its regression layer's order (its model card);
        // the checkpoint itself does not name them.
        static const std::vector<std::string> armo19 = {
            "helpsteer-helpfulness", "helpsteer-correctness", "helpsteer-coherence", "helpsteer-complexity",
            "helpsteer-verbosity", "ultrafeedback-overall_score", "ultrafeedback-instruction_following",
            "ultrafeedback-truthfulness", "ultrafeedback-honesty", "ultrafeedback-helpfulness", "beavertails-is_safe",
            "prometheus-score", "argilla-overall_quality", "argilla-judge_lm", "code-complexity", "code-style",
            "code-explanation", "code-instruction-following", "code-readability"};
        return rm_->headKind() == "armo_gating" && rm_->objectives() == 19 ? armo19 : std::vector<std::string>();
    }

    std::string name() const override { return name_; }
    double flopsPerToken() const override { return 2.0 * double(rm_->config().num_parameters); }
    int64_t maxInputTokens() const override { return rm_->config().max_positions; }
    int64_t inputTokens(const std::string& prompt, const std::string& response) const override
    {
        return int64_t(inputs(prompt, {response}).front().size());
    }

private:
    // (prompt, response) in the RM's own format, as its token ids.
    std::vector<std::vector<int32_t>> inputs(const std::string& prompt, const std::vector<std::string>& responses) const
    {
        std::vector<std::vector<int32_t>> seqs;
        seqs.reserve(responses.size());
        for (const auto& r : responses) {
            auto ids = tok_->encode(renderRewardInput(templ_, prompt, r), true);
            if (ids.empty()) ids.push_back(tok_->eosId().value_or(0));   // scoring wants non-empty rows
            seqs.push_back(std::move(ids));
        }
        return seqs;
    }

    std::unique_ptr<RewardModel> rm_;
    std::shared_ptr<Tokenizer> tok_;
    std::string templ_, name_;
    RewardModel::PrefixState prefix_;   // ARGS's growing prefix, kept between scorePartial calls
    int64_t lastPartial_ = -1;
};

// The methods score the prompt as the LM saw it (template applied); rewards want the user's
// prompt (a reward model renders it in its own format).  This maps one onto the other for a run.
class RawPromptReward : public RewardFunction {
public:
    RawPromptReward(RewardFunction& inner, std::map<std::string, std::string> rawOf)
        : inner_(inner), rawOf_(std::move(rawOf)) {}

    std::vector<double> score(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        auto it = rawOf_.find(prompt);
        return inner_.score(it == rawOf_.end() ? prompt : it->second, responses);
    }
    std::vector<double> scorePartial(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        auto it = rawOf_.find(prompt);
        return inner_.scorePartial(it == rawOf_.end() ? prompt : it->second, responses);
    }
    int64_t lastPartialTokens() const override { return inner_.lastPartialTokens(); }
    std::vector<std::vector<double>> lastObjectives() const override { return inner_.lastObjectives(); }
    std::vector<std::string> objectiveNames() const override { return inner_.objectiveNames(); }
    std::string name() const override { return inner_.name(); }
    double flopsPerToken() const override { return inner_.flopsPerToken(); }
    int64_t maxInputTokens() const override { return inner_.maxInputTokens(); }
    int64_t inputTokens(const std::string& p, const std::string& r) const override { return inner_.inputTokens(p, r); }

private:
    RewardFunction& inner_;
    std::map<std::string, std::string> rawOf_;
};

// Stop reaches the rewards too (an external scorer may think for minutes): the cancel flag is
// theirs for the scope's lifetime.
class RewardCancelScope {
public:
    RewardCancelScope(std::initializer_list<RewardFunction*> fns, const std::atomic<bool>* cancel)
    {
        for (RewardFunction* f : fns)
            if (f) f->setCancel(cancel), fns_.push_back(f);
    }
    ~RewardCancelScope()
    {
        for (RewardFunction* f : fns_) f->setCancel(nullptr);
    }
    RewardCancelScope(const RewardCancelScope&) = delete;
    RewardCancelScope& operator=(const RewardCancelScope&) = delete;

private:
    std::vector<RewardFunction*> fns_;
};

// What a remote base model's local directory tells about it (any architecture the server runs,
// so no family table): EOS ids, positions, vocabulary, and a parameter count for the FLOPs axis
// estimated from the shapes in config.json (dense transformer; a MoE's active share is not known).
struct RemoteModelFacts {
    std::vector<int64_t> eos;
    int64_t positions = 0, vocab = 0, params = 0, hidden = 0, layers = 0;
    std::string architecture, modelType, configSha;
};

RemoteModelFacts readRemoteFacts(const std::string& dir, const Tokenizer& tok)
{
    RemoteModelFacts f;
    auto ids = [&](const nlohmann::json& j) {
        if (!j.contains("eos_token_id")) return;
        const auto& v = j["eos_token_id"];
        for (const auto& x : v.is_array() ? v : nlohmann::json::array({v}))
            if (x.is_number_integer() && std::find(f.eos.begin(), f.eos.end(), x.get<int64_t>()) == f.eos.end())
                f.eos.push_back(x.get<int64_t>());
    };
    auto num = [](const nlohmann::json& j, std::initializer_list<const char*> keys) -> int64_t {
        for (const char* k : keys)
            if (j.contains(k) && j[k].is_number_integer()) return j[k].get<int64_t>();
        return 0;
    };
    const fs::path cfgPath = fs::path(dir) / "config.json";
    if (fs::exists(cfgPath)) {
        const std::string text = readFileCapped(cfgPath.string(), kCapSmallJson, "model config");
        f.configSha = sha256Hex(text);
        const nlohmann::json root = parseJsonText(text, cfgPath.string());
        if (!root.is_object()) throw UsageError(cfgPath.string(), "", "not a JSON object");
        nlohmann::json c = root.contains("text_config") && root["text_config"].is_object() ? root["text_config"] : root;
        if (root.contains("architectures") && root["architectures"].is_array() && !root["architectures"].empty() &&
            root["architectures"][0].is_string())
            f.architecture = root["architectures"][0].get<std::string>();
        f.modelType = root.value("model_type", std::string());
        ids(root);
        ids(c);
        f.positions = num(c, {"max_position_embeddings", "n_positions", "max_seq_len"});
        f.vocab = num(c, {"vocab_size"});
        const int64_t H = num(c, {"hidden_size", "n_embd", "d_model"}), L = num(c, {"num_hidden_layers", "n_layer"});
        const int64_t heads = std::max<int64_t>(1, num(c, {"num_attention_heads", "n_head"}));
        const int64_t kv = num(c, {"num_key_value_heads"}) > 0 ? num(c, {"num_key_value_heads"}) : heads;
        const int64_t hd = num(c, {"head_dim"}) > 0 ? num(c, {"head_dim"}) : H / heads;
        const int64_t I = num(c, {"intermediate_size", "n_inner"}) > 0 ? num(c, {"intermediate_size", "n_inner"}) : 4 * H;
        const bool gated = f.modelType != "gpt2";   // SwiGLU/GeGLU: three matrices
        const bool tied = root.value("tie_word_embeddings", c.value("tie_word_embeddings", f.modelType == "gpt2"));
        f.hidden = H;
        f.layers = L;
        f.params = f.vocab * H * (tied ? 1 : 2) +
                   L * (H * heads * hd + 2 * H * kv * hd + heads * hd * H + (gated ? 3 : 2) * H * I);
    }
    const fs::path gen = fs::path(dir) / "generation_config.json";
    if (fs::exists(gen)) ids(readJsonFile(gen.string()));
    // Weights beside the config (a full local copy): count them exactly, as for a local model.
    try {
        if (const int64_t exact = inspectCheckpoint(dir).config.num_parameters; exact > 0) f.params = exact;
    } catch (const std::exception&) {
    }
    if (f.eos.empty() && tok.eosId()) f.eos.push_back(*tok.eosId());
    if (f.vocab == 0) f.vocab = tok.vocabSize();
    return f;
}

} // namespace

struct Workbench::Impl {
    ModelSummary base;
    std::optional<HubModel> baseHub;   // when loaded by repo id
    std::unique_ptr<CausalLM> lm;
    std::shared_ptr<Tokenizer> tok;
    std::string templ = "raw";       // detected chat template of the base model
    std::shared_ptr<RewardFunction> reward, gold;
    nlohmann::json rewardId, goldId = nullptr;   // identities as provenance() reports them
    // A remote base model: its server's completions, and what its local tokenizer directory says.
    std::unique_ptr<CompletionBackend> remote;
    nlohmann::json remoteId;                      // {"server", "model", "tokenizer"} as recorded
    std::unique_ptr<CompletionBackend> local;     // completions() over lm, made on first use
    int64_t positions = 0, vocab = 0, baseParams = 0;
    std::vector<int64_t> remoteStop;              // a remote base model's EOS ids
    bool remotePrelogits = false;                 // the server offers Rudder's pre-logit extension
    std::string valueStore = "rudder-values";     // RE-Control's value models

    // What a session records to load a model again: a repo id pinned to the commit it resolved
    // to (so a resume never picks up a newer download), else the path as given.
    static std::string reloadSpec(const std::string& spec, const std::optional<HubModel>& hub)
    {
        return hub ? hub->repo + "@" + hub->commit : spec;
    }

    // A reward and its identity as a session records it: the spec (so a resume can load it
    // again), its display name, and for a model directory its identity (fingerprints, checked on
    // resume) and objective names.  The directory is resolved and inspected once.
    struct LoadedReward {
        std::shared_ptr<RewardFunction> fn;
        nlohmann::json identity;
    };
    static LoadedReward loadReward(const std::string& spec, const LoadOptions& opt)
    {
        LoadedReward r;
        if (spec == "lexicon" || spec.rfind("cmd:", 0) == 0) {
            if (spec == "lexicon") r.fn = makeLexiconReward();
            else if (spec.size() == 4) throw UsageError("reward", spec, "cmd: needs a command after the colon");
            else r.fn = makeCommandReward(spec.substr(4));
            r.identity = {{"spec", spec}, {"name", r.fn->name()}};
            return r;
        }
        if (isRemoteSpec(spec)) {
            const RemoteEndpoint ep = parseRemoteSpec(spec);   // no #MODEL: the server's default model
            r.fn = makeRemoteReward(ep, opt.remote);
            r.identity = {{"spec", spec}, {"name", r.fn->name()}, {"remote", {{"server", ep.url()}, {"model", ep.model}}}};
            return r;
        }
        std::optional<HubModel> hub;
        const std::string dir = resolveModelSpec(spec, &hub);   // a repo id in the HF cache, or as is
        if (!fs::is_directory(dir))
            throw UsageError(spec, "", "is neither a reward-model directory, a Hugging Face repo id (ORG/NAME), "
                                       "a server (http://HOST:PORT/pooling), 'lexicon' nor 'cmd:COMMAND'");
        // Said plainly: a causal LM given as the reward is a common slip.
        const ModelSummary s = inspectModel(dir);
        if (s.reward_head.empty() && modelKind(s.architecture) != "reward model")
            throw UsageError(spec, "", "is a causal LM (" + s.architecture +
                                           ") with no reward head: use it as the base model, not as a reward");
        r.fn = std::make_shared<NeuralReward>(dir, opt);
        r.identity = s.toJson();
        r.identity["spec"] = reloadSpec(spec, hub);
        if (hub) r.identity["hub"] = hub->toJson();
        r.identity["name"] = r.fn->name();
        if (const auto names = r.fn->objectiveNames(); !names.empty()) r.identity["objectives"] = names;
        return r;
    }

    // A method's context over the loaded model and tokenizer, optimising `reward`.
    MethodContext context(RewardFunction& reward, const std::atomic<bool>* cancel, uint64_t seed) const
    {
        auto t = tok;
        MethodContext ctx{lm.get(), [t](const std::string& s) { return t->encode(s, true); },
                          [t](const std::vector<int32_t>& ids) { return t->decode(ids, true); }, reward};
        ctx.cancel = cancel;
        ctx.seed = seed;
        ctx.completions = remote.get();
        ctx.baseParameters = baseParams;
        ctx.baseStopIds = remoteStop;
        return ctx;
    }

    // The prompts as the model sees them, and each rendered prompt's raw text (what rewards score).
    static void render(const std::vector<std::string>& prompts, const std::string& templ, std::vector<std::string>& rendered,
                       std::map<std::string, std::string>& rawOf)
    {
        for (const auto& p : prompts) {
            rendered.push_back(rudder::renderPrompt(templ, p));
            rawOf[rendered.back()] = p;
        }
    }

    std::string templateFor(const std::string& requested) const
    {
        if (requested.empty() || requested == "auto") return templ;
        if (requested == "none") return "raw";
        return requested;
    }
};

Workbench::Workbench() : d(std::make_unique<Impl>()) {}
Workbench::~Workbench() = default;

ModelSummary Workbench::loadBase(const std::string& spec, const LoadOptions& opt)
{
    if (isRemoteSpec(spec)) return loadRemoteBase(spec, opt);
    std::optional<HubModel> hub;
    const std::string dir = resolveModelSpec(spec, &hub);   // a repo id in the HF cache, or a path
    ModelSummary s = inspectModel(dir);
    // (A causal LM that also carries a value head, as trl saves them, is still a causal LM.)
    if (modelKind(s.architecture) == "reward model")
        throw UsageError(spec, "", "is a reward model (" + s.architecture +
                                       (s.reward_head.empty() ? "" : ", head " + s.reward_head) +
                                       "): use it as the reward, not as the base model");
    auto tok = Tokenizer::fromDirectory(dir);
    checkTokenizerFitsModel(*tok, s.vocab_size, dir);   // before the weights are loaded
    auto lm = loadCausalLM(dir, opt.device, opt.dtype);
    s.device = lm->device().str();
    s.dtype = dtypeName(lm->dtype());
    s.tokenizer_type = tok->type();
    d->templ = detectTemplate(tok->tokenizerConfig());
    s.chat_template = d->templ;
    d->positions = lm->config().max_positions;
    d->vocab = lm->config().vocab_size;
    d->baseParams = lm->config().num_parameters;
    d->local.reset();
    d->remote.reset();
    d->remoteId = nullptr;
    d->lm = std::move(lm);
    d->tok = std::move(tok);
    d->base = s;
    d->baseHub = hub;
    return s;
}

// A serving engine as the base model: generation happens there; the tokenizer, the chat template
// and the text metrics stay here (opt.tokenizer), so ids and prompts are exactly as for a local run.
ModelSummary Workbench::loadRemoteBase(const std::string& spec, const LoadOptions& opt)
{
    RemoteEndpoint ep = parseRemoteSpec(spec);
    if (opt.tokenizer.empty())
        throw UsageError(spec, "tokenizer",
                         "a remote base model needs its tokenizer here (--tokenizer DIR or ORG/NAME: the model's "
                         "directory with config.json and tokenizer files; no weights needed)");
    std::optional<HubModel> hub;
    const std::string dir = resolveModelSpec(opt.tokenizer, &hub);
    if (!fs::is_directory(dir))
        throw UsageError(opt.tokenizer, "", "is not a directory or a cached repo id (the remote model's tokenizer)");
    auto tok = Tokenizer::fromDirectory(dir);
    const RemoteModelFacts f = readRemoteFacts(dir, *tok);
    // Reachable, and serving what was asked for: said now, not after the first prompt.
    const auto ids = remoteModelIds(ep, opt.remote);
    if (ep.model.empty()) {
        if (ids.empty()) throw UsageError(spec, "model", "the server lists no model (GET /v1/models)");
        ep.model = ids.front();
    } else if (std::find(ids.begin(), ids.end(), ep.model) == ids.end()) {
        std::string list;
        for (const auto& i : ids) list += (list.empty() ? "" : ", ") + i;
        throw UsageError(spec, "model", "'" + ep.model + "' is not served there (it serves: " + list + ")");
    }
    ModelSummary s;
    s.directory = ep.origin + ep.path + "#" + ep.model;
    s.architecture = f.architecture.empty() ? "remote" : f.architecture;
    s.model_type = f.modelType;
    s.parameters = f.params;
    s.hidden_size = f.hidden;
    s.vocab_size = f.vocab;
    s.layers = f.layers;
    s.device = "remote " + ep.origin;
    s.dtype = "server";
    s.tokenizer_type = tok->type();
    s.config_sha256 = f.configSha;
    d->templ = detectTemplate(tok->tokenizerConfig());
    s.chat_template = d->templ;
    d->remote = makeRemoteCompletions(ep, opt.remote, f.eos);
    d->remoteStop = f.eos;
    d->remotePrelogits = remoteOffersPrelogits(ep, opt.remote);
    d->remoteId = {{"server", ep.url()}, {"model", ep.model},
                   {"tokenizer", hub ? hub->repo + "@" + hub->commit : opt.tokenizer}};
    d->local.reset();
    d->lm.reset();
    d->tok = std::move(tok);
    d->positions = f.positions;
    d->vocab = f.vocab;
    d->baseParams = f.params;
    d->base = s;
    d->baseHub.reset();
    return s;
}

bool Workbench::baseIsRemote() const { return d->remote != nullptr; }
int64_t Workbench::contextLength() const { return d->positions; }

CompletionBackend& Workbench::completions()
{
    if (d->remote) return *d->remote;
    if (!d->lm) throw UsageError("model", "", "no base model loaded");
    if (!d->local) d->local = localCompletions(*d->lm);
    return *d->local;
}

std::vector<int32_t> Workbench::encode(const std::string& text, bool addSpecial) const
{
    if (!d->tok) throw UsageError("model", "", "no base model loaded");
    return d->tok->encode(text, addSpecial);
}

std::string Workbench::decode(const std::vector<int32_t>& ids, bool skipSpecial) const
{
    if (!d->tok) throw UsageError("model", "", "no base model loaded");
    return d->tok->decode(ids, skipSpecial);
}

bool Workbench::hasBase() const { return d->lm != nullptr || d->remote != nullptr; }
const ModelSummary& Workbench::base() const { return d->base; }

std::string Workbench::setReward(const std::string& spec, const LoadOptions& opt)
{
    auto r = Impl::loadReward(spec, opt);
    d->reward = std::move(r.fn);
    d->rewardId = std::move(r.identity);
    return d->reward->name();
}

std::string Workbench::setGold(const std::string& spec, const LoadOptions& opt)
{
    if (spec.empty()) {
        d->gold.reset();
        d->goldId = nullptr;
        return "";
    }
    auto r = Impl::loadReward(spec, opt);
    d->gold = std::move(r.fn);
    d->goldId = std::move(r.identity);
    return d->gold->name();
}

void Workbench::setGoldFunction(std::shared_ptr<RewardFunction> fn, const std::string& spec)
{
    d->gold = std::move(fn);
    d->goldId = d->gold ? nlohmann::json{{"spec", spec}, {"name", d->gold->name()}} : nlohmann::json(nullptr);
}

std::shared_ptr<RewardFunction> Workbench::reward() const { return d->reward; }
std::shared_ptr<RewardFunction> Workbench::gold() const { return d->gold; }

nlohmann::json Workbench::provenance() const
{
    nlohmann::json base = nlohmann::json::object();
    if (hasBase()) {
        base = d->base.toJson();
        base["spec"] = Impl::reloadSpec(d->base.directory, d->baseHub);
        if (d->baseHub) base["hub"] = d->baseHub->toJson();
        if (d->remote) {
            base["remote"] = d->remoteId;
            base["tokenizer"] = d->remoteId["tokenizer"];   // what a resume loads again with the spec
        }
    }
    return {{"base_model", base},
            {"reward_model", d->reward ? d->rewardId : nlohmann::json::object()},
            {"gold", d->gold ? d->goldId : nlohmann::json(nullptr)},
            {"device", d->base.device},
            {"dtype", d->base.dtype},
            {"versions", {{"rudder", RUDDER_VERSION}, {"torch", torchVersionString()}}}};
}

std::string Workbench::renderPrompt(const std::string& prompt, const std::string& templ) const
{
    return rudder::renderPrompt(d->templateFor(templ), prompt);
}

int64_t Workbench::countTokens(const std::string& text) const
{
    if (!d->tok) return 0;
    return static_cast<int64_t>(d->tok->encode(text, true).size());
}

nlohmann::json Workbench::checkRun(const RunRequest& request, const ResumeState* resume) const
{
    const nlohmann::json config =
        validateConfig(request.method, resume ? storedConfig(request.method, request.config) : request.config);
    // Model loaded, prompts given, each prompt within the model's positions.
    checkPrompts(request.prompts, request.prompt_template, config.value("max_new_tokens", int64_t(0)));
    if (!d->reward) throw UsageError("reward", "", "no reward chosen");
    // ARGS reads top-k log-probabilities, which servers return; pre-logits only rudder-cli serve does.
    if (d->remote && methodInfo(request.method).needsPrelogits && !d->remotePrelogits)
        throw UsageError(request.method, d->base.directory,
                         "needs the base model's pre-logits, which an OpenAI-compatible server does not return; "
                         "run the model here (--model DIR), serve it with rudder-cli serve, or use bon, wmv, qalign "
                         "or args with this server");
    // A value model trained on another base model's pre-logits would steer blindly.
    if (config.contains("value_model") && config["value_model"].is_string()) {
        const ValueModelInfo vm = methods::readValueModelInfo(config["value_model"].get<std::string>());
        const std::string fp = vm.base.value("weights_fingerprint", std::string());
        if (!fp.empty() && !d->base.weights_fingerprint.empty() && fp != d->base.weights_fingerprint &&
            fp != d->base.weights_fingerprint_mtime)
            throw UsageError(vm.path, "base.weights_fingerprint",
                             "the value model was trained on the pre-logits of another base model (" +
                                 vm.base.value("directory", std::string("?")) + "); train one for " + d->base.directory);
    }
    // A resumed run feeds its stored tokens back into the model: an id outside the vocabulary
    // (a damaged session) is refused here, not left to an embedding lookup.
    if (resume) {
        const int64_t vocab = d->vocab;
        for (const auto& e : resume->completed)
            for (const auto& s : e.samples)
                for (int32_t id : s.token_ids)
                    if (id < 0 || id >= vocab)
                        throw UsageError(resume->source, "samples.token_ids",
                                         "token id " + std::to_string(id) + " (prompt " + std::to_string(s.prompt_index) +
                                             ", iteration " + std::to_string(s.iteration) +
                                             ") is outside the base model's vocabulary of " + std::to_string(vocab) +
                                             "; the session is damaged");
    }
    return config;
}

RunResult Workbench::run(const RunRequest& request, const EventSink& onEvent, const std::atomic<bool>* cancel,
                         const ResumeState* resume)
{
    const nlohmann::json config = checkRun(request, resume);
    const std::string templ = d->templateFor(request.prompt_template);
    std::vector<std::string> rendered;
    std::map<std::string, std::string> rawOf;
    d->render(request.prompts, templ, rendered, rawOf);
    RawPromptReward reward(*d->reward, rawOf);
    std::unique_ptr<RawPromptReward> gold;
    if (d->gold) gold = std::make_unique<RawPromptReward>(*d->gold, rawOf);

    MethodContext ctx = d->context(reward, cancel, request.seed);
    ctx.gold = gold.get();
    Budget spent = resume && !resume->completed.empty() ? resume->completed.back().budget : Budget{};
    ctx.onEvent = [&](const IterationEvent& e) {
        spent = e.budget;
        if (onEvent) onEvent(e);
    };
    ctx.resume = resume;
    const RewardCancelScope scope({d->reward.get(), d->gold.get()}, cancel);
    RunResult result;
    try {
        result = runMethod(request.method, ctx, config, rendered);
    } catch (const Cancelled& e) {
        // Stopped inside an iteration's scoring: every completed iteration is in the event stream
        // (and the session), as with a Stop between decode steps; a resume continues from there.
        result = RunResult{};
        result.status = RunStatus::Cancelled;
        result.message = e.what();
        result.budget = spent;
        return result;
    }
    addTextMetrics(result, request.prompts);
    return result;
}

double Workbench::tuneQAlignBeta(const RunRequest& request, double target, int pilotSteps,
                                 const std::atomic<bool>* cancel)
{
    if (!(target > 0 && target < 1)) throw UsageError("target acceptance", std::to_string(target), "must be in (0, 1)");
    const nlohmann::json config = validateConfig("qalign", request.config);
    checkPrompts(request.prompts, request.prompt_template, config.value("max_new_tokens", int64_t(0)));
    if (!d->reward) throw UsageError("reward", "", "no reward chosen");
    const std::string rendered = rudder::renderPrompt(d->templateFor(request.prompt_template), request.prompts[0]);
    RawPromptReward reward(*d->reward, {{rendered, request.prompts[0]}});
    const MethodContext ctx = d->context(reward, cancel, request.seed);
    const RewardCancelScope scope({d->reward.get()}, cancel);
    return rudder::tuneQAlignBeta(ctx, QAlignOptions::fromConfig(config), rendered, target, pilotSteps);
}

void Workbench::setValueStore(const std::string& dir) { d->valueStore = dir.empty() ? "rudder-values" : dir; }
const std::string& Workbench::valueStore() const { return d->valueStore; }

// The whole file is read, weights included: a user's choice of file is checked once, in full.
ValueModelInfo Workbench::readValueModel(const std::string& path) { return methods::loadValueModel(path).info; }

ValueModelInfo Workbench::trainValue(const ValueTrainRequest& request,
                                     const std::function<void(const ValueTrainProgress&)>& progress,
                                     const std::atomic<bool>* cancel, bool* reused)
{
    if (reused) *reused = false;
    if (d->remote || !d->lm)
        throw UsageError("recontrol", d->base.directory,
                         "training a value function reads the base model's pre-logits: load the model here (--model DIR)");
    checkPrompts(request.prompts, request.prompt_template, request.options.max_new_tokens);
    if (!d->reward) throw UsageError("reward", "", "no reward chosen");
    const std::string templ = d->templateFor(request.prompt_template);
    std::vector<std::string> rendered;
    std::map<std::string, std::string> rawOf;
    d->render(request.prompts, templ, rendered, rawOf);
    // The training key: what the value function depends on.  Paths are left out (the same
    // weights elsewhere give the same model); fingerprints and options are in.
    ValueModelInfo info;
    const nlohmann::json prov = provenance();
    info.base = prov["base_model"];
    info.reward = prov["reward_model"];
    info.prompt_template = templ;
    nlohmann::json keyDoc = {
        {"base", {{"config_sha256", d->base.config_sha256}, {"weights", d->base.weights_fingerprint}, {"dtype", d->base.dtype}}},
        {"reward", info.reward.contains("weights_fingerprint") ? info.reward["weights_fingerprint"] : info.reward.value("name", nlohmann::json(""))},
        {"template", templ},
        {"prompts", rendered},
        {"options", request.options.toJson()}};
    info.key = sha256Hex(keyDoc.dump());
    const std::string out = request.out.empty()
                                ? (std::filesystem::path(d->valueStore) / ("value-" + info.key.substr(0, 16) + ".safetensors")).string()
                                : request.out;
    if (!request.force && std::filesystem::exists(out)) {
        try {
            ValueModelInfo have = methods::readValueModelInfo(out);
            if (have.key == info.key) {
                if (reused) *reused = true;
                return have;
            }
        } catch (const Error&) {
            // Not ours or damaged: trained again below, the file replaced.
        }
    }
    RawPromptReward reward(*d->reward, rawOf);
    const MethodContext ctx = d->context(reward, cancel, request.options.seed);
    const RewardCancelScope scope({d->reward.get()}, cancel);
    return methods::trainValueModel(ctx, request.options, rendered, info, out, progress);
}

std::optional<ValueModelInfo> Workbench::prepareValueModel(RunRequest& request,
                                                           const std::function<void(const ValueTrainProgress&)>& progress,
                                                           const std::atomic<bool>* cancel, bool* reused)
{
    if (!methodInfo(request.method).needsValueModel) return std::nullopt;
    if (request.config.is_object() && request.config.contains("value_model") && request.config["value_model"].is_string() &&
        !request.config["value_model"].get<std::string>().empty())
        return std::nullopt;
    const nlohmann::json c = validateConfig(request.method, request.config);
    ValueTrainRequest t;
    t.prompts = request.prompts;
    t.prompt_template = request.prompt_template;
    t.options = ValueTrainOptions::fromRunConfig(c);
    t.options.seed = request.seed;
    ValueModelInfo info = trainValue(t, progress, cancel, reused);
    request.config = c;
    request.config["value_model"] = std::filesystem::absolute(info.path).string();
    return info;
}

void Workbench::checkPrompts(const std::vector<std::string>& prompts, const std::string& promptTemplate,
                             int64_t maxNew) const
{
    if (!hasBase()) throw UsageError("model", "", "no base model loaded");
    if (prompts.empty()) throw UsageError("prompts", "", "no prompt given");
    // A prompt the model cannot hold is refused before anything runs: past its positions a RoPE
    // model degrades silently and a learned-position one cannot go at all, and a prompt pasted
    // from a 10 MB dataset line would otherwise end in an out-of-memory KV cache.
    const std::string templ = d->templateFor(promptTemplate);
    const int64_t context = d->positions;
    for (size_t i = 0; i < prompts.size() && context > 0; ++i) {
        const int64_t n = static_cast<int64_t>(d->tok->encode(rudder::renderPrompt(templ, prompts[i]), true).size());
        if (n + maxNew > context) {
            std::string head = prompts[i].substr(0, 40);
            for (char& c : head)
                if (c == '\n' || c == '\r' || c == '\t') c = ' ';
            throw UsageError("prompt " + std::to_string(i + 1), "\"" + head + (prompts[i].size() > 40 ? "..." : "") + "\"",
                             std::to_string(n) + " prompt tokens + max_new_tokens " + std::to_string(maxNew) +
                                 " exceed the base model's " + std::to_string(context) +
                                 " positions (config.json max_position_embeddings)");
        }
    }
}

// Diversity and coherence of the final answers (AISP paper, App. C.4), into result.summary.
void Workbench::addTextMetrics(RunResult& result, const std::vector<std::string>& prompts) const
{
    if (result.final.empty() || !d->tok) return;
    nlohmann::json per = nlohmann::json::array();
    double sd = 0, sc = 0;
    int nc = 0;
    for (const auto& f : result.final) {
        nlohmann::json m = {{"prompt_index", f.prompt_index}, {"diversity", analysis::diversity(f.token_ids)}};
        sd += m["diversity"].get<double>();
        // Coherence needs hidden states: a remote base model reports diversity only.
        if (d->lm && f.prompt_index >= 0 && f.prompt_index < static_cast<int>(prompts.size()) && !f.token_ids.empty()) {
            const auto p = meanPooledEmbedding(*d->lm, d->tok->encode(prompts[f.prompt_index], true));
            const auto r = meanPooledEmbedding(*d->lm, d->tok->encode(f.text, true));
            m["coherence"] = analysis::cosineSimilarity(p, r);
            sc += m["coherence"].get<double>();
            ++nc;
        }
        per.push_back(m);
    }
    result.summary["text_metrics"] = {
        {"per_prompt", per},
        {"mean_diversity", sd / static_cast<double>(result.final.size())},
        {"mean_coherence", nc ? nlohmann::json(sc / nc) : nlohmann::json(nullptr)},
        {"coherence_encoder", d->lm ? "base LM (" + d->base.architecture + "), mean-pooled final hidden state"
                                    : "none (the base model is remote)"}};
}

} // namespace rudder
