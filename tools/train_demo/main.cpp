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

    auto stream = [&](const std::vector<std::string>& vs) {
        std::vector<int64_t> s;
        for (const auto& v : vs) {
            s.push_back(sp.bos_id);
            auto ids = bpe.encode(v);
            s.insert(s.end(), ids.begin(), ids.end());
            s.push_back(sp.eos_id);
        }
        return s;
    };
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

    auto batchFrom = [&](const std::vector<int64_t>& s, int64_t B, std::mt19937_64& r) {
        std::uniform_int_distribution<size_t> start(0, s.size() - static_cast<size_t>(T) - 2);
        auto x = torch::empty({B, T + 1}, torch::kLong);
        auto* p = x.data_ptr<int64_t>();
        for (int64_t b = 0; b < B; ++b) {
            size_t s0 = start(r);
            for (int64_t t = 0; t <= T; ++t) p[b * (T + 1) + t] = s[s0 + t];
        }
        return x;
    };
    auto lmLoss = [&](const torch::Tensor& x) {
        auto in = x.narrow(1, 0, T), target = x.narrow(1, 1, T);
        auto logits = lm.head(lm.hidden(in));
        return torch::cross_entropy_loss(logits.reshape({-1, shape.vocab}), target.reshape({-1}));
    };
    auto heldLoss = [&] {
        torch::NoGradGuard ng;
        std::mt19937_64 r(7);
        double sum = 0;
        for (int i = 0; i < 8; ++i) sum += lmLoss(batchFrom(heldIds, 16, r)).item<double>();
        return sum / 8;
    };

    // 2. Language model.
    double lmTrainLoss = 0, lmHeldLoss = 0, lmSeconds = 0;
    int64_t lmStepsDone = 0;
    if (!o.initLm.empty()) {
        loadSafetensors(lm, (fs::path(o.initLm) / "model.safetensors").string());
        lmHeldLoss = heldLoss();
        std::cout << "LM loaded from " << o.initLm << ", held-out loss " << lmHeldLoss << std::endl;
    } else {
        auto tl = std::chrono::steady_clock::now();
        auto opt = makeOptimizer(lm, o.lmLr);
        double ema = 0;
        Budget budget{o.lmSteps, o.lmMinutes * 60};
        int64_t step = 0;
        for (; !budget.done(step); ++step) {
            setLr(opt, schedule(budget.progress(step), o.lmLr));
            auto loss = lmLoss(batchFrom(trainIds, o.lmBatch, rng));
            opt.zero_grad();
            loss.backward();
            torch::nn::utils::clip_grad_norm_(allTensors(lm), 1.0);
            opt.step();
            double l = loss.item<double>();
            ema = step == 0 ? l : 0.98 * ema + 0.02 * l;
            if (step % 25 == 0)
                std::cout << "[" << secondsSince(t0) << " s] lm step " << step << " loss " << l << " (ema " << ema
                          << ")" << std::endl;
            if (step % 250 == 249) std::cout << "  held-out loss " << heldLoss() << std::endl;
        }
        lmStepsDone = step;
        lmTrainLoss = ema;
        lmHeldLoss = heldLoss();
        lmSeconds = secondsSince(tl);
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

} // namespace

int main(int argc, char** argv)
{
    Options o;
    CLI::App app{"Trains Rudder's embedded demo models (tokenizer, Llama LM, reward model)"};
    app.add_option("--corpus", o.corpus, "verses, one per line (`bible -f gen1:1-rev22:21`)")->required()->check(CLI::ExistingFile);
    app.add_option("--lexicon", o.lexicon, "AFINN-165 JSON (the gold reward)")->required()->check(CLI::ExistingFile);
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
        return run(o);
    } catch (const std::exception& e) {
        std::cerr << "rudder-train-demo: " << e.what() << std::endl;
        return 1;
    }
}
