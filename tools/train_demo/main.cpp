// rudder-train-demo: builds the embedded demo models (resources/models/demo-lm, demo-rm) from the
// King James Bible (Debian bible-kjv) and the AFINN-165 lexicon.  See scripts/train-demo.sh.
//
//   1. byte-level BPE tokenizer trained on the verses            -> tokenizer.json
//   2. Llama causal LM (GQA) on <bos> verse <eos> streams          -> demo-lm
//   3. reward model initialised from the LM, regressing the gold   -> demo-rm
//      lexicon score of a verse continuation given its first words
#include "bpe.h"
#include "llama.h"

#include "rudder/reward.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;
using namespace rudder::demo;
using nlohmann::ordered_json;

namespace {

struct Options {
    std::string corpus, lexicon, out;
    int64_t vocab = 2048;
    LlamaShape shape;
    int64_t lmSteps = 1500, lmBatch = 8, lmSeq = 128;
    double lmLr = 1.5e-3, lmMinutes = 0;
    int64_t rmSteps = 600, rmBatch = 16;
    double rmLr = 5e-4, rmMinutes = 0;
    std::string dumpIn, dumpOut;   // tokenizer check: encode these lines, write the ids
    int threads = 2;
    std::string initLm;   // reuse a trained demo-lm (skip stage 2)
    // A weak proxy (Gao et al. 2022): the RM sees only this many gold-labelled examples, drawn
    // once, for all its steps (0: a fresh example every time, as demo-rm).
    int64_t rmLabels = 0;
    std::string rmName = "demo-rm";
    uint64_t seed = 20261123;
    // The reasoning demo (scripts/train-math-demo.sh): `arith-lm` trains demo-math-lm on the
    // question + worked-answer lines of --train-jsonl; `arith-rm` trains demo-math-rm from it with
    // Bradley-Terry on --rm-pairs (the LM's own correct and incorrect samples).
    std::string task = "kjv", trainJsonl, rmPairs, lmName = "demo-lm";
};

double secondsSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// `bible -f` prints "Ge1:1 In the beginning ..." one verse per line; the reference goes.
std::vector<std::string> readVerses(const std::string& file)
{
    std::ifstream in(file);
    if (!in) throw std::runtime_error(file + ": cannot open the corpus");
    std::vector<std::string> verses;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto sp = line.find(' ');
        if (sp != std::string::npos && line.find(':') < sp) line = line.substr(sp + 1);
        if (!line.empty()) verses.push_back(line);
    }
    if (verses.empty()) throw std::runtime_error(file + ": no verses");
    return verses;
}

std::vector<std::string> splitWords(const std::string& s)
{
    std::vector<std::string> w;
    std::istringstream is(s);
    std::string x;
    while (is >> x) w.push_back(x);
    return w;
}

std::string joinWords(const std::vector<std::string>& w, size_t a, size_t b)
{
    std::string s;
    for (size_t i = a; i < b; ++i) s += (i > a ? " " : "") + w[i];
    return s;
}

void writeJson(const fs::path& p, const ordered_json& j)
{
    std::ofstream out(p);
    out << j.dump(2) << "\n";
}

ordered_json llamaConfig(const LlamaShape& s, const SpecialTokens& sp, bool rm, int64_t maxPos)
{
    ordered_json c;
    c["architectures"] = {rm ? "LlamaForSequenceClassification" : "LlamaForCausalLM"};
    c["model_type"] = "llama";
    c["vocab_size"] = s.vocab;
    c["hidden_size"] = s.hidden;
    c["intermediate_size"] = s.intermediate;
    c["num_hidden_layers"] = s.layers;
    c["num_attention_heads"] = s.heads;
    c["num_key_value_heads"] = s.kvHeads;
    c["head_dim"] = s.headDim();
    c["hidden_act"] = "silu";
    c["max_position_embeddings"] = maxPos;
    c["rms_norm_eps"] = s.rmsEps;
    c["rope_theta"] = s.ropeTheta;
    c["rope_scaling"] = nullptr;
    c["attention_bias"] = false;
    c["attention_dropout"] = 0.0;
    c["mlp_bias"] = false;
    c["initializer_range"] = 0.02;
    c["tie_word_embeddings"] = false;
    c["bos_token_id"] = sp.bos_id;
    c["eos_token_id"] = sp.eos_id;
    c["pad_token_id"] = sp.pad_id;
    c["torch_dtype"] = "bfloat16";
    c["use_cache"] = true;
    if (rm) {
        c["num_labels"] = 1;
        c["id2label"] = {{"0", "LABEL_0"}};
        c["label2id"] = {{"LABEL_0", 0}};
        c["problem_type"] = "regression";
    }
    c["transformers_version"] = "4.44.0";
    return c;
}

void writeTokenizerFiles(const fs::path& dir, const ByteBPE& bpe, int64_t maxPos)
{
    const auto& sp = bpe.specials();
    bpe.writeTokenizerJson((dir / "tokenizer.json").string());
    ordered_json added;
    for (auto [id, tok] : {std::pair{sp.bos_id, sp.bos}, {sp.eos_id, sp.eos}, {sp.pad_id, sp.pad}})
        added[std::to_string(id)] = {{"content", tok}, {"lstrip", false}, {"normalized", false},
                                     {"rstrip", false}, {"single_word", false}, {"special", true}};
    writeJson(dir / "tokenizer_config.json",
              {{"add_bos_token", true}, {"add_eos_token", false}, {"added_tokens_decoder", added},
               {"bos_token", sp.bos}, {"eos_token", sp.eos}, {"pad_token", sp.pad}, {"unk_token", nullptr},
               {"clean_up_tokenization_spaces", false}, {"model_max_length", maxPos},
               {"tokenizer_class", "PreTrainedTokenizerFast"}});
}

// Reads back a model.safetensors written by TinyLlama::saveSafetensors (to resume at stage 3).
void loadSafetensors(TinyLlama& m, const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    unsigned char le[8];
    in.read(reinterpret_cast<char*>(le), 8);
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(le[i]) << (8 * i);
    std::string h(n, ' ');
    in.read(h.data(), static_cast<std::streamsize>(n));
    auto header = nlohmann::json::parse(h);
    std::vector<char> rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    torch::NoGradGuard ng;
    for (auto& [name, t] : m.params()) {
        if (!header.contains(name)) continue;
        auto off = header[name]["data_offsets"];
        auto shape = header[name]["shape"].get<std::vector<int64_t>>();
        auto src = torch::from_blob(rest.data() + off[0].get<int64_t>(), shape, torch::kBFloat16);
        t.copy_(src.to(torch::kFloat));
    }
}

struct Sampler {
    const ByteBPE& bpe;
    const TinyLlama& lm;
    std::string continuation(const std::string& prompt, double temperature, int64_t maxNew, std::mt19937_64& rng)
    {
        torch::NoGradGuard ng;
        std::vector<int64_t> ids = {bpe.specials().bos_id};
        auto p = bpe.encode(prompt);
        ids.insert(ids.end(), p.begin(), p.end());
        std::vector<int64_t> gen;
        for (int64_t t = 0; t < maxNew; ++t) {
            auto x = torch::tensor(ids, torch::kLong).unsqueeze(0);
            auto logits = lm.head(lm.hidden(x).select(1, x.size(1) - 1)).squeeze(0);
            int64_t next;
            if (temperature <= 0) {
                next = logits.argmax().item<int64_t>();
            } else {
                auto probs = torch::softmax(logits / temperature, -1);
                std::vector<float> pv(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
                std::discrete_distribution<int64_t> d(pv.begin(), pv.end());
                next = d(rng);
            }
            if (next == bpe.specials().eos_id) break;
            ids.push_back(next);
            gen.push_back(next);
        }
        return bpe.decode(gen);
    }
};

void setLr(torch::optim::AdamW& opt, double lr)
{
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

// Linear warm-up over the first 5% then cosine decay to 10% of the peak; `progress` in [0, 1]
// is step/steps, or elapsed/budget when training for a wall-clock budget.
double schedule(double progress, double peak)
{
    const double warm = 0.05;
    if (progress < warm) return peak * std::max(progress / warm, 0.02);
    double p = std::min(1.0, (progress - warm) / (1.0 - warm));
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * p)));
}

// Step-count or wall-clock budget (the latter for a loaded machine: the report records the steps).
struct Budget {
    int64_t steps;
    double seconds;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    double progress(int64_t step) const
    {
        return seconds > 0 ? secondsSince(start) / seconds : static_cast<double>(step) / static_cast<double>(steps);
    }
    bool done(int64_t step) const { return seconds > 0 ? secondsSince(start) >= seconds : step >= steps; }
};

torch::optim::AdamW makeOptimizer(TinyLlama& m, double lr)
{
    // No weight decay on norms and the embedding (the usual Llama recipe).
    std::vector<torch::Tensor> decay, noDecay;
    for (auto& [name, t] : m.params())
        (t.dim() < 2 || name.find("embed") != std::string::npos ? noDecay : decay).push_back(t);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(0.1)));
    groups.emplace_back(noDecay, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(0.0)));
    return torch::optim::AdamW(groups, torch::optim::AdamWOptions(lr));
}

std::vector<torch::Tensor> allTensors(TinyLlama& m)
{
    std::vector<torch::Tensor> v;
    for (auto& [n, t] : m.params()) v.push_back(t);
    return v;
}

struct RmExample {
    std::vector<int64_t> ids;
    double gold;
};

// A verse split after its first k words: the prompt a user would type and the model's continuation
// (sometimes cut short, as when generation stops at max_new_tokens); the gold score is the
// lexicon's score of the continuation alone.  EOS is appended half the time.
RmExample makeRmExample(const std::string& verse, const ByteBPE& bpe, rudder::RewardFunction& gold,
                        std::mt19937_64& rng)
{
    auto w = splitWords(verse);
    RmExample ex;
    ex.ids = {bpe.specials().bos_id};
    if (w.size() < 3) {
        auto p = bpe.encode(verse);
        ex.ids.insert(ex.ids.end(), p.begin(), p.end());
        ex.gold = 0.0;
        return ex;
    }
    size_t kmax = std::min<size_t>(8, w.size() - 1);
    size_t k = std::uniform_int_distribution<size_t>(2, std::max<size_t>(2, kmax))(rng);
    size_t end = w.size();
    if (std::uniform_real_distribution<double>(0, 1)(rng) < 0.3)
        end = std::uniform_int_distribution<size_t>(k + 1, w.size())(rng);
    std::string prompt = joinWords(w, 0, k), cont = " " + joinWords(w, k, end);
    auto p = bpe.encode(prompt + cont);
    ex.ids.insert(ex.ids.end(), p.begin(), p.end());
    if (ex.ids.size() > 200) ex.ids.resize(200);
    if (std::uniform_real_distribution<double>(0, 1)(rng) < 0.5) ex.ids.push_back(bpe.specials().eos_id);
    ex.gold = gold.score(prompt, {cont})[0];
    return ex;
}

// Right-padded batch; returns the RM score at each row's last real token.
torch::Tensor rmForward(const TinyLlama& rm, const std::vector<RmExample>& batch, int64_t pad)
{
    int64_t T = 0;
    for (const auto& e : batch) T = std::max<int64_t>(T, static_cast<int64_t>(e.ids.size()));
    auto ids = torch::full({static_cast<int64_t>(batch.size()), T}, pad, torch::kLong);
    std::vector<int64_t> last;
    for (size_t r = 0; r < batch.size(); ++r) {
        for (size_t t = 0; t < batch[r].ids.size(); ++t) ids[r][t] = batch[r].ids[t];
        last.push_back(static_cast<int64_t>(batch[r].ids.size()) - 1);
    }
    auto scores = rm.head(rm.hidden(ids));   // [B, T]
    return scores.gather(1, torch::tensor(last, torch::kLong).unsqueeze(1)).squeeze(1);
}

double pearson(const std::vector<double>& a, const std::vector<double>& b)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < a.size(); ++i) { ma += a[i]; mb += b[i]; }
    ma /= a.size(); mb /= b.size();
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb + 1e-30);
}

// The LM's training stream: <bos> doc <eos> <bos> doc <eos> ...
std::vector<int64_t> tokenStream(const ByteBPE& bpe, const std::vector<std::string>& docs)
{
    std::vector<int64_t> s;
    for (const auto& v : docs) {
        s.push_back(bpe.specials().bos_id);
        auto ids = bpe.encode(v);
        s.insert(s.end(), ids.begin(), ids.end());
        s.push_back(bpe.specials().eos_id);
    }
    return s;
}

// The LM's objective on a token stream (<bos> doc <eos> ...): random windows of T+1 tokens,
// next-token cross-entropy; the held-out loss on 8 fixed batches.  Shared by both demos.
struct LmTrainer {
    TinyLlama& lm;
    const LlamaShape& shape;
    int64_t T;

    torch::Tensor batchFrom(const std::vector<int64_t>& s, int64_t B, std::mt19937_64& r) const
    {
        std::uniform_int_distribution<size_t> start(0, s.size() - static_cast<size_t>(T) - 2);
        auto x = torch::empty({B, T + 1}, torch::kLong);
        auto* p = x.data_ptr<int64_t>();
        for (int64_t b = 0; b < B; ++b) {
            size_t s0 = start(r);
            for (int64_t t = 0; t <= T; ++t) p[b * (T + 1) + t] = s[s0 + t];
        }
        return x;
    }
    torch::Tensor loss(const torch::Tensor& x) const
    {
        auto in = x.narrow(1, 0, T), target = x.narrow(1, 1, T);
        auto logits = lm.head(lm.hidden(in));
        return torch::cross_entropy_loss(logits.reshape({-1, shape.vocab}), target.reshape({-1}));
    }
    double heldLoss(const std::vector<int64_t>& held) const
    {
        torch::NoGradGuard ng;
        std::mt19937_64 r(7);
        double sum = 0;
        for (int i = 0; i < 8; ++i) sum += loss(batchFrom(held, 16, r)).item<double>();
        return sum / 8;
    }
    struct Result {
        int64_t steps = 0;
        double trainLoss = 0, heldLoss = 0, seconds = 0;
    };
    // AdamW with the warm-up + cosine schedule for o.lmSteps steps or o.lmMinutes of wall clock.
    Result train(const std::vector<int64_t>& trainIds, const std::vector<int64_t>& held, const Options& o,
                 std::mt19937_64& rng, std::chrono::steady_clock::time_point t0, int logEvery, int heldEvery) const
    {
        auto tl = std::chrono::steady_clock::now();
        auto opt = makeOptimizer(lm, o.lmLr);
        double ema = 0;
        Budget budget{o.lmSteps, o.lmMinutes * 60};
        int64_t step = 0;
        for (; !budget.done(step); ++step) {
            setLr(opt, schedule(budget.progress(step), o.lmLr));
            auto l_ = loss(batchFrom(trainIds, o.lmBatch, rng));
            opt.zero_grad();
            l_.backward();
            torch::nn::utils::clip_grad_norm_(allTensors(lm), 1.0);
            opt.step();
            double l = l_.item<double>();
            ema = step == 0 ? l : 0.98 * ema + 0.02 * l;
            if (step % logEvery == 0)
                std::cout << "[" << secondsSince(t0) << " s] lm step " << step << " loss " << l << " (ema " << ema
                          << ")" << std::endl;
            if (step % heldEvery == heldEvery - 1) std::cout << "  held-out loss " << heldLoss(held) << std::endl;
        }
        Result r;
        r.steps = step;
        r.trainLoss = ema;
        r.heldLoss = heldLoss(held);
        r.seconds = secondsSince(tl);
        return r;
    }
};

int run(const Options& o)
{
    at::set_num_threads(o.threads);
    auto t0 = std::chrono::steady_clock::now();
    const fs::path lmDir = fs::path(o.out) / "demo-lm", rmDir = fs::path(o.out) / o.rmName;
    fs::create_directories(lmDir);
    fs::create_directories(rmDir);
    auto gold = rudder::makeLexiconReward(o.lexicon);

    // Held out: every 50th verse (LM validation loss, RM correlation).
    auto verses = readVerses(o.corpus);
    std::vector<std::string> train, held;
    for (size_t i = 0; i < verses.size(); ++i) (i % 50 == 49 ? held : train).push_back(verses[i]);
    std::cout << "corpus: " << verses.size() << " verses (" << train.size() << " train, " << held.size()
              << " held out)" << std::endl;

    // 1. Tokenizer.
    auto bpe = ByteBPE::train(train, o.vocab);
    const auto& sp = bpe.specials();
    const int64_t maxPos = 256;
    std::cout << "[" << secondsSince(t0) << " s] tokenizer: vocab " << bpe.vocabSize() << std::endl;
    for (const auto& dir : {lmDir, rmDir}) writeTokenizerFiles(dir, bpe, maxPos);

    auto stream = [&](const std::vector<std::string>& vs) { return tokenStream(bpe, vs); };
    auto trainIds = stream(train), heldIds = stream(held);
    std::cout << "tokens: " << trainIds.size() << " train, " << heldIds.size() << " held out ("
              << static_cast<double>(trainIds.size() - 2 * train.size()) / train.size() << " per verse)" << std::endl;

    if (!o.dumpIn.empty()) {
        std::ifstream in(o.dumpIn);
        std::ofstream out(o.dumpOut);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            out << sp.bos_id;
            for (auto id : bpe.encode(line)) out << ' ' << id;
            out << '\n';
        }
    }

    LlamaShape shape = o.shape;
    shape.vocab = bpe.vocabSize();
    TinyLlama lm(shape, "lm_head", o.seed);
    std::cout << "LM: " << lm.numParameters() << " parameters" << std::endl;
    std::mt19937_64 rng(o.seed);
    const int64_t T = o.lmSeq;

    const LmTrainer trainer{lm, shape, T};
    auto heldLoss = [&] { return trainer.heldLoss(heldIds); };

    // 2. Language model.
    double lmTrainLoss = 0, lmHeldLoss = 0, lmSeconds = 0;
    int64_t lmStepsDone = 0;
    if (!o.initLm.empty()) {
        loadSafetensors(lm, (fs::path(o.initLm) / "model.safetensors").string());
        lmHeldLoss = heldLoss();
        std::cout << "LM loaded from " << o.initLm << ", held-out loss " << lmHeldLoss << std::endl;
    } else {
        const auto r = trainer.train(trainIds, heldIds, o, rng, t0, 25, 250);
        lmStepsDone = r.steps;
        lmTrainLoss = r.trainLoss;
        lmHeldLoss = r.heldLoss;
        lmSeconds = r.seconds;
        const int64_t step = r.steps;
        std::cout << "LM done in " << lmSeconds << " s, " << step << " steps: train loss (ema) " << lmTrainLoss << ", held-out loss "
                  << lmHeldLoss << std::endl;
        lm.saveSafetensors((lmDir / "model.safetensors").string());
        writeJson(lmDir / "config.json", llamaConfig(shape, sp, false, maxPos));
        writeJson(lmDir / "generation_config.json",
                  {{"bos_token_id", sp.bos_id}, {"eos_token_id", sp.eos_id}, {"pad_token_id", sp.pad_id},
                   {"do_sample", true}, {"temperature", 1.0}, {"max_new_tokens", 64},
                   {"transformers_version", "4.44.0"}});
    }

    Sampler sampler{bpe, lm};
    std::mt19937_64 srng(1);
    for (const char* prompt : {"And God said,", "The LORD is my shepherd;", "Blessed are they", "And the king"}) {
        std::cout << "  greedy: " << prompt << " |" << sampler.continuation(prompt, 0, 48, srng) << std::endl;
        std::cout << "  t=0.8 : " << prompt << " |" << sampler.continuation(prompt, 0.8, 48, srng) << std::endl;
    }

    // 3. Reward model: the LM's body plus a zero-initialised score head, regressing the gold score
    // (standardised while training; the head is rescaled afterwards so it outputs gold units).
    TinyLlama rm(shape, "score", o.seed + 1);
    {
        torch::NoGradGuard ng;
        for (auto& [name, t] : rm.params())
            if (name != "score.weight") t.copy_(lm.param(name));
    }
    std::vector<RmExample> heldEx;
    std::mt19937_64 hr(11);
    for (const auto& v : held) heldEx.push_back(makeRmExample(v, bpe, *gold, hr));
    double sd = 0;
    {
        std::mt19937_64 r(12);
        double s1 = 0, s2 = 0;
        const int n = 4000;
        for (int i = 0; i < n; ++i) {
            double g = makeRmExample(train[r() % train.size()], bpe, *gold, r).gold;
            s1 += g;
            s2 += g * g;
        }
        sd = std::sqrt(s2 / n - (s1 / n) * (s1 / n));
        std::cout << "gold on training continuations: mean " << s1 / n << ", sd " << sd << std::endl;
    }
    auto evalRm = [&] {
        torch::NoGradGuard ng;
        std::vector<double> pred, g;
        for (size_t i = 0; i < heldEx.size(); i += 64) {
            std::vector<RmExample> b(heldEx.begin() + i, heldEx.begin() + std::min(heldEx.size(), i + 64));
            auto s = rmForward(rm, b, sp.pad_id);
            for (int64_t k = 0; k < s.size(0); ++k) {
                pred.push_back(s[k].item<double>() * sd);
                g.push_back(b[k].gold);
            }
        }
        double mse = 0;
        for (size_t i = 0; i < g.size(); ++i) mse += (pred[i] - g[i]) * (pred[i] - g[i]);
        return std::pair{pearson(pred, g), mse / g.size()};
    };
    std::vector<RmExample> pool;   // the fixed label set of a weak proxy
    {
        std::mt19937_64 pr(o.seed + 7);
        for (int64_t i = 0; i < o.rmLabels; ++i) pool.push_back(makeRmExample(train[pr() % train.size()], bpe, *gold, pr));
    }
    auto tr = std::chrono::steady_clock::now();
    auto opt = makeOptimizer(rm, o.rmLr);
    double ema = 0;
    Budget budget{o.rmSteps, o.rmMinutes * 60};
    int64_t rmStepsDone = 0;
    for (int64_t step = 0; !budget.done(step); ++step, ++rmStepsDone) {
        setLr(opt, schedule(budget.progress(step), o.rmLr));
        std::vector<RmExample> b;
        for (int64_t i = 0; i < o.rmBatch; ++i)
            b.push_back(pool.empty() ? makeRmExample(train[rng() % train.size()], bpe, *gold, rng) : pool[rng() % pool.size()]);
        std::vector<double> y;
        for (const auto& e : b) y.push_back(e.gold / sd);
        auto loss = torch::mse_loss(rmForward(rm, b, sp.pad_id), torch::tensor(y, torch::kFloat));
        opt.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(allTensors(rm), 1.0);
        opt.step();
        double l = loss.item<double>();
        ema = step == 0 ? l : 0.98 * ema + 0.02 * l;
        if (step % 25 == 0)
            std::cout << "[" << secondsSince(t0) << " s] rm step " << step << " loss " << l << " (ema " << ema << ")"
                      << std::endl;
        if (step % 200 == 199) {
            auto [r, mse] = evalRm();
            std::cout << "  held-out pearson " << r << ", mse " << mse << std::endl;
        }
    }
    auto [rmR, rmMse] = evalRm();
    const double rmSeconds = secondsSince(tr);
    std::cout << "RM done in " << rmSeconds << " s, " << rmStepsDone << " steps: train loss (ema, standardised) " << ema
              << "; held-out pearson " << rmR << ", mse " << rmMse << " (gold variance " << sd * sd << ")"
              << std::endl;
    {
        torch::NoGradGuard ng;
        rm.param("score.weight").mul_(sd);
    }
    rm.saveSafetensors((rmDir / "model.safetensors").string());
    writeJson(rmDir / "config.json", llamaConfig(shape, sp, true, maxPos));
    writeJson(rmDir / "generation_config.json",
              {{"bos_token_id", sp.bos_id}, {"eos_token_id", sp.eos_id}, {"pad_token_id", sp.pad_id},
               {"transformers_version", "4.44.0"}});

    ordered_json report = {{"verses", verses.size()},
                           {"vocab", bpe.vocabSize()},
                           {"lm_parameters", lm.numParameters()},
                           {"lm_shape", {{"hidden", shape.hidden}, {"intermediate", shape.intermediate},
                                         {"layers", shape.layers}, {"heads", shape.heads}, {"kv_heads", shape.kvHeads}}},
                           {"lm_steps", lmStepsDone},
                           {"lm_batch", o.lmBatch},
                           {"lm_seq", o.lmSeq},
                           {"lm_train_loss", lmTrainLoss},
                           {"lm_heldout_loss", lmHeldLoss},
                           {"lm_seconds", lmSeconds},
                           {"rm_parameters", rm.numParameters()},
                           {"rm_steps", rmStepsDone},
                           {"rm_batch", o.rmBatch},
                           {"rm_labels", o.rmLabels},
                           {"rm_train_loss_standardised", ema},
                           {"rm_heldout_pearson", rmR},
                           {"rm_heldout_mse", rmMse},
                           {"gold_sd", sd},
                           {"rm_seconds", rmSeconds},
                           {"total_seconds", secondsSince(t0)}};
    writeJson(fs::path(o.out) / (o.rmName == "demo-rm" ? std::string("training-report.json") : o.rmName + "-training-report.json"),
              report);
    std::cout << report.dump(2) << std::endl;
    return 0;
}

// ---------------------------------------------------------------------------------------------
// The reasoning demo: arithmetic word problems (tools/train_demo/make_arith.py)
// ---------------------------------------------------------------------------------------------

std::vector<nlohmann::json> readJsonl(const std::string& file)
{
    std::ifstream in(file);
    if (!in) throw std::runtime_error(file + ": cannot open");
    std::vector<nlohmann::json> rows;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
    if (rows.empty()) throw std::runtime_error(file + ": no lines");
    return rows;
}

// The documents the LM learns: the question, a newline, the worked answer (the LM's response to a
// question prompt starts with that newline).
std::vector<std::string> arithDocuments(const std::string& file)
{
    std::vector<std::string> docs;
    for (const auto& r : readJsonl(file)) docs.push_back(r.at("question").get<std::string>() + "\n" + r.at("answer").get<std::string>());
    return docs;
}

// The same tokenizer for both stages: BPE training is deterministic, so the RM stage relearns it and
// checks it against the LM's file.
ByteBPE arithTokenizer(const Options& o, const std::vector<std::string>& docs)
{
    std::vector<std::string> train;
    for (size_t i = 0; i < docs.size(); ++i)
        if (i % 50 != 49) train.push_back(docs[i]);
    return ByteBPE::train(train, o.vocab);
}

int runArithLm(const Options& o)
{
    at::set_num_threads(o.threads);
    const auto t0 = std::chrono::steady_clock::now();
    const fs::path dir = fs::path(o.out) / o.lmName;
    fs::create_directories(dir);
    const auto docs = arithDocuments(o.trainJsonl);
    std::vector<std::string> train, held;
    for (size_t i = 0; i < docs.size(); ++i) (i % 50 == 49 ? held : train).push_back(docs[i]);
    const ByteBPE bpe = arithTokenizer(o, docs);
    const auto& sp = bpe.specials();
    const int64_t maxPos = 256;
    writeTokenizerFiles(dir, bpe, maxPos);
    auto stream = [&](const std::vector<std::string>& vs) { return tokenStream(bpe, vs); };
    const auto trainIds = stream(train), heldIds = stream(held);
    std::cout << "arith: " << docs.size() << " problems, " << trainIds.size() << " training tokens ("
              << double(trainIds.size()) / double(train.size()) << " per problem), vocab " << bpe.vocabSize() << std::endl;
    LlamaShape shape = o.shape;
    shape.vocab = bpe.vocabSize();
    TinyLlama lm(shape, "lm_head", o.seed);
    std::mt19937_64 rng(o.seed);
    const LmTrainer trainer{lm, shape, o.lmSeq};
    const auto r = trainer.train(trainIds, heldIds, o, rng, t0, 100, 1000);
    const int64_t step = r.steps;
    const double ema = r.trainLoss;
    const double held_ = r.heldLoss;
    lm.saveSafetensors((dir / "model.safetensors").string());
    writeJson(dir / "config.json", llamaConfig(shape, sp, false, maxPos));
    writeJson(dir / "generation_config.json",
              {{"bos_token_id", sp.bos_id}, {"eos_token_id", sp.eos_id}, {"pad_token_id", sp.pad_id},
               {"do_sample", true}, {"temperature", 1.0}, {"max_new_tokens", 128}, {"transformers_version", "4.44.0"}});
    Sampler sampler{bpe, lm};
    std::mt19937_64 srng(1);
    for (size_t i = 0; i < 2; ++i) {
        const std::string q = held[i].substr(0, held[i].find('\n'));
        std::cout << "  greedy: " << q << " |" << sampler.continuation(q, 0, 128, srng) << std::endl;
    }
    ordered_json report = {{"task", "arith-lm"},           {"problems", docs.size()},     {"vocab", bpe.vocabSize()},
                           {"lm_parameters", lm.numParameters()}, {"lm_steps", step},     {"lm_batch", o.lmBatch},
                           {"lm_seq", o.lmSeq},             {"lm_train_loss", ema},       {"lm_heldout_loss", held_},
                           {"seconds", secondsSince(t0)}};
    writeJson(fs::path(o.out) / (o.lmName + "-training-report.json"), report);
    std::cout << report.dump(2) << std::endl;
    return 0;
}

// Bradley-Terry on pairs {"prompt", "chosen", "rejected"}: -log σ(r(chosen) - r(rejected)), as the
// QAlign paper trains its task-specific RM (App. B: one correct and one incorrect response of the
// LM per question).  Input as Rudder scores it: <bos> prompt response.
int runArithRm(const Options& o)
{
    at::set_num_threads(o.threads);
    const auto t0 = std::chrono::steady_clock::now();
    const fs::path lmDir = fs::path(o.initLm), dir = fs::path(o.out) / o.rmName;
    fs::create_directories(dir);
    const auto docs = arithDocuments(o.trainJsonl);
    const ByteBPE bpe = arithTokenizer(o, docs);
    const auto& sp = bpe.specials();
    const int64_t maxPos = 256;
    writeTokenizerFiles(dir, bpe, maxPos);
    {
        std::ifstream a(lmDir / "tokenizer.json"), b(dir / "tokenizer.json");
        std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
        if (sa != sb) throw std::runtime_error("the relearned tokenizer differs from " + (lmDir / "tokenizer.json").string());
    }
    LlamaShape shape = o.shape;
    shape.vocab = bpe.vocabSize();
    TinyLlama lm(shape, "lm_head", o.seed);
    loadSafetensors(lm, (lmDir / "model.safetensors").string());
    TinyLlama rm(shape, "score", o.seed + 1);
    {
        torch::NoGradGuard ng;
        for (auto& [name, t] : rm.params())
            if (name != "score.weight") t.copy_(lm.param(name));
            else t.zero_();
    }
    struct Pair {
        std::vector<int64_t> chosen, rejected;
    };
    auto ids = [&](const std::string& prompt, const std::string& response) {
        std::vector<int64_t> v = {sp.bos_id};
        auto e = bpe.encode(prompt + response);
        v.insert(v.end(), e.begin(), e.end());
        if (v.size() > size_t(maxPos)) v.resize(size_t(maxPos));
        return v;
    };
    // Held out by question (a tenth of the questions), so no held-out response was trained on.
    std::vector<Pair> train, held;
    std::map<std::string, size_t> questionIndex;
    for (const auto& r : readJsonl(o.rmPairs)) {
        const std::string q = r.at("prompt");
        const size_t qi = questionIndex.emplace(q, questionIndex.size()).first->second;
        (qi % 10 == 9 ? held : train).push_back({ids(q, r.at("chosen")), ids(q, r.at("rejected"))});
    }
    std::cout << "arith-rm: " << train.size() << " training pairs, " << held.size() << " held out" << std::endl;
    auto margins = [&](const std::vector<Pair>& b) {
        std::vector<RmExample> rows;
        for (const auto& p : b) rows.push_back({p.chosen, 0.0});
        for (const auto& p : b) rows.push_back({p.rejected, 0.0});
        auto s = rmForward(rm, rows, sp.pad_id);
        const int64_t n = int64_t(b.size());
        return s.narrow(0, 0, n) - s.narrow(0, n, n);
    };
    auto heldAccuracy = [&] {
        torch::NoGradGuard ng;
        double right = 0;
        for (size_t i = 0; i < held.size(); i += 32) {
            std::vector<Pair> b(held.begin() + i, held.begin() + std::min(held.size(), i + 32));
            right += (margins(b) > 0).sum().item<double>();
        }
        return right / double(held.size());
    };
    std::mt19937_64 rng(o.seed + 3);
    auto opt = makeOptimizer(rm, o.rmLr);
    double ema = 0, bestAcc = -1;
    int64_t bestStep = 0;
    std::map<std::string, torch::Tensor> best;
    Budget budget{o.rmSteps, o.rmMinutes * 60};
    int64_t step = 0;
    for (; !budget.done(step); ++step) {
        setLr(opt, schedule(budget.progress(step), o.rmLr));
        std::vector<Pair> b;
        for (int64_t i = 0; i < o.rmBatch; ++i) b.push_back(train[rng() % train.size()]);
        auto loss = -torch::log_sigmoid(margins(b)).mean();
        opt.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(allTensors(rm), 1.0);
        opt.step();
        const double l = loss.item<double>();
        ema = step == 0 ? l : 0.98 * ema + 0.02 * l;
        if (step % 50 == 0)
            std::cout << "[" << secondsSince(t0) << " s] rm step " << step << " loss " << l << " (ema " << ema << ")" << std::endl;
        // Few pairs and a strong body overfit fast: keep the weights of the best held-out accuracy.
        if (step % 100 == 99) {
            const double a = heldAccuracy();
            std::cout << "  held-out pair accuracy " << a << std::endl;
            if (a > bestAcc) {
                bestAcc = a;
                bestStep = step + 1;
                torch::NoGradGuard ng;
                best.clear();
                for (auto& [name, t] : rm.params()) best[name] = t.clone();
            }
        }
    }
    if (!best.empty() && bestAcc >= heldAccuracy()) {
        torch::NoGradGuard ng;
        for (auto& [name, t] : rm.params()) t.copy_(best[name]);
    }
    const double acc = heldAccuracy();
    rm.saveSafetensors((dir / "model.safetensors").string());
    writeJson(dir / "config.json", llamaConfig(shape, sp, true, maxPos));
    writeJson(dir / "generation_config.json",
              {{"bos_token_id", sp.bos_id}, {"eos_token_id", sp.eos_id}, {"pad_token_id", sp.pad_id},
               {"transformers_version", "4.44.0"}});
    ordered_json report = {{"task", "arith-rm"},         {"pairs_train", train.size()}, {"pairs_heldout", held.size()},
                           {"rm_steps", step},           {"rm_batch_pairs", o.rmBatch}, {"rm_train_loss", ema},
                           {"rm_heldout_pair_accuracy", acc}, {"rm_kept_step", bestStep},
                           {"seconds", secondsSince(t0)}};
    writeJson(fs::path(o.out) / (o.rmName + "-training-report.json"), report);
    std::cout << report.dump(2) << std::endl;
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    Options o;
    CLI::App app{"Trains Rudder's embedded demo models (tokenizer, Llama LM, reward model)"};
    app.add_option("--task", o.task, "kjv (demo-lm, demo-rm) | arith-lm (demo-math-lm) | arith-rm (demo-math-rm)")
        ->capture_default_str();
    app.add_option("--corpus", o.corpus, "kjv: verses, one per line (`bible -f gen1:1-rev22:21`)")->check(CLI::ExistingFile);
    app.add_option("--lexicon", o.lexicon, "kjv: AFINN-165 JSON (the gold reward)")->check(CLI::ExistingFile);
    app.add_option("--train-jsonl", o.trainJsonl, "arith: question/answer lines (resources/prompts/arith-train.jsonl)")
        ->check(CLI::ExistingFile);
    app.add_option("--rm-pairs", o.rmPairs, "arith-rm: {prompt, chosen, rejected} lines")->check(CLI::ExistingFile);
    app.add_option("--lm-name", o.lmName, "folder name of the LM under --out");
    app.add_option("--out", o.out, "output folder (resources/models)")->required();
    app.add_option("--vocab", o.vocab, "tokenizer vocabulary size");
    app.add_option("--hidden", o.shape.hidden);
    app.add_option("--intermediate", o.shape.intermediate);
    app.add_option("--layers", o.shape.layers);
    app.add_option("--heads", o.shape.heads);
    app.add_option("--kv-heads", o.shape.kvHeads);
    app.add_option("--lm-steps", o.lmSteps);
    app.add_option("--lm-minutes", o.lmMinutes, "train the LM for this wall-clock time instead of --lm-steps");
    app.add_option("--rm-minutes", o.rmMinutes, "train the RM for this wall-clock time instead of --rm-steps");
    app.add_option("--dump-ids", o.dumpIn, "encode each line of this file (tokenizer check)");
    app.add_option("--dump-ids-out", o.dumpOut);
    app.add_option("--lm-batch", o.lmBatch);
    app.add_option("--lm-lr", o.lmLr);
    app.add_option("--rm-steps", o.rmSteps);
    app.add_option("--rm-batch", o.rmBatch);
    app.add_option("--rm-lr", o.rmLr);
    app.add_option("--threads", o.threads);
    app.add_option("--init-lm", o.initLm, "reuse this trained demo-lm folder instead of training the LM");
    app.add_option("--seed", o.seed);
    app.add_option("--rm-labels", o.rmLabels, "train the RM on this many gold labels only (a weak proxy; 0 = unlimited)");
    app.add_option("--rm-name", o.rmName, "folder name of the RM under --out");
    CLI11_PARSE(app, argc, argv);
    try {
        if (o.task == "arith-lm" || o.task == "arith-rm") {
            if (o.trainJsonl.empty()) throw std::runtime_error("--train-jsonl is required for " + o.task);
            if (o.task == "arith-rm" && (o.rmPairs.empty() || o.initLm.empty()))
                throw std::runtime_error("arith-rm needs --rm-pairs and --init-lm (the trained demo-math-lm)");
            return o.task == "arith-lm" ? runArithLm(o) : runArithRm(o);
        }
        if (o.task != "kjv") throw std::runtime_error("--task: expected kjv, arith-lm or arith-rm");
        if (o.corpus.empty() || o.lexicon.empty()) throw std::runtime_error("--corpus and --lexicon are required for kjv");
        return run(o);
    } catch (const std::exception& e) {
        std::cerr << "rudder-train-demo: " << e.what() << std::endl;
        return 1;
    }
}
