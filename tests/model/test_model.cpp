// Model runtime: safetensors reading/validation, every architecture's KV-cached decode against a
// full-sequence forward and an fp64 run, batching/padding, fork/truncate, samplers, the decode
// loop, reward heads, and parity with Hugging Face transformers where fixtures are committed.
// All models are tiny random-weight ones written by the test as real HF directories.
#include <QtTest>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "model/generate.h"
#include "model/loader.h"
#include "model/random_model.h"
#include "model/reward_model.h"
#include "model/safetensors.h"
#include "rudder/error.h"
#include "rudder/json_file.h"
#include "rudder/parity.h"
#include "rudder/runtime_init.h"
#include "rudder/tokenizer.h"
#include "rudder/workbench.h"

using namespace rudder;
namespace fs = std::filesystem;

namespace {

const char* kKinds[] = {"llama", "llama3", "mistral", "qwen2", "qwen3", "gpt2", "gemma2", "gemma3"};

double maxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor randomTokens(int64_t rows, int64_t T, int64_t vocab, uint64_t seed)
{
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randint(3, vocab, {rows, T}, g, at::kLong);   // avoid bos/eos ids
}

// Expect `fn` to throw a rudder::Error whose message contains every needle.
template <class F>
QString errorOf(F fn)
{
    try {
        fn();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QString("NOT A rudder::Error: ") + e.what();
    }
    return QString("NO EXCEPTION");
}

void writeRaw(const std::string& path, const std::string& header, size_t dataBytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
    out << header << std::string(dataBytes, '\0');
}

// An independent fp64 reference forward written from transformers' modeling code: no cache,
// per-head loops, explicit RoPE pairs, read straight from the HF tensor names and config.json.
// Returns the final-norm output [T, hidden] for one sequence.
at::Tensor referenceForward(const std::string& dirPath, const std::string& kind, const std::vector<int64_t>& ids)
{
    nlohmann::json c;
    std::ifstream(fs::path(dirPath) / "config.json") >> c;
    SafetensorsFile f((fs::path(dirPath) / "model.safetensors").string());
    auto W = [&](const std::string& n) { return f.tensor(n).to(at::kDouble); };
    const int64_t T = static_cast<int64_t>(ids.size());
    at::Tensor tok = at::tensor(ids, at::kLong);
    auto geluTanh = [](const at::Tensor& x) {
        return 0.5 * x * (1 + at::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    };
    // Attention of q [T,H,hd] over k,v [T,KV,hd]: head h reads kv head h / (H/KV).
    auto attend = [&](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, int64_t window,
                      double softcap) {
        const int64_t H = q.size(1), KV = k.size(1), hd = q.size(2);
        at::Tensor out = at::zeros({T, H, hd}, at::kDouble);
        for (int64_t h = 0; h < H; ++h) {
            const int64_t kvh = h / (H / KV);
            for (int64_t p = 0; p < T; ++p) {
                std::vector<double> s;
                std::vector<int64_t> js;
                for (int64_t j = 0; j <= p; ++j) {
                    if (window > 0 && p - j >= window) continue;
                    double x = (q[p][h] * k[j][kvh]).sum().item<double>() * scale;
                    if (softcap > 0) x = std::tanh(x / softcap) * softcap;
                    s.push_back(x);
                    js.push_back(j);
                }
                const double mx = *std::max_element(s.begin(), s.end());
                double z = 0;
                for (auto& x : s) z += (x = std::exp(x - mx));
                for (size_t i = 0; i < js.size(); ++i) out[p][h] += (s[i] / z) * v[js[i]][kvh];
            }
        }
        return out.reshape({T, H * hd});
    };

    if (kind == "gpt2") {
        const int64_t d = c["n_embd"], H = c["n_head"], hd = d / H;
        const double eps = c.value("layer_norm_epsilon", 1e-5);
        auto ln = [&](const at::Tensor& x, const std::string& p) {
            at::Tensor mu = x.mean(-1, true), var = (x - mu).pow(2).mean(-1, true);
            return (x - mu) / at::sqrt(var + eps) * W(p + ".weight") + W(p + ".bias");
        };
        at::Tensor x = W("transformer.wte.weight").index_select(0, tok) + W("transformer.wpe.weight").narrow(0, 0, T);
        for (int64_t i = 0; i < c["n_layer"].get<int64_t>(); ++i) {
            const std::string p = "transformer.h." + std::to_string(i) + ".";
            at::Tensor qkv = at::matmul(ln(x, p + "ln_1"), W(p + "attn.c_attn.weight")) + W(p + "attn.c_attn.bias");   // Conv1D: x @ W
            auto parts = qkv.split(d, -1);
            at::Tensor a = attend(parts[0].view({T, H, hd}), parts[1].view({T, H, hd}), parts[2].view({T, H, hd}),
                                  1 / std::sqrt(double(hd)), 0, 0);
            x = x + at::matmul(a, W(p + "attn.c_proj.weight")) + W(p + "attn.c_proj.bias");
            at::Tensor m = geluTanh(at::matmul(ln(x, p + "ln_2"), W(p + "mlp.c_fc.weight")) + W(p + "mlp.c_fc.bias"));
            x = x + at::matmul(m, W(p + "mlp.c_proj.weight")) + W(p + "mlp.c_proj.bias");
        }
        return ln(x, "transformer.ln_f");
    }

    const bool gemma = kind.rfind("gemma", 0) == 0, gemma3 = kind == "gemma3", qwen3 = kind == "qwen3";
    const int64_t d = c["hidden_size"], H = c["num_attention_heads"], KV = c["num_key_value_heads"];
    const int64_t hd = c.value("head_dim", d / H), L = c["num_hidden_layers"];
    const double eps = c["rms_norm_eps"];
    auto rms = [&](const at::Tensor& x, const std::string& n) {
        at::Tensor y = x / at::sqrt(x.pow(2).mean(-1, true) + eps);
        return gemma ? y * (1 + W(n)) : y * W(n);
    };
    // inv_freq[j] = theta^(-2j/hd), with HF's linear / llama3 scaling, in scalar code.
    auto invFreq = [&](double theta, const nlohmann::json& scaling) {
        std::vector<double> inv(hd / 2);
        for (int64_t j = 0; j < hd / 2; ++j) {
            double f = 1.0 / std::pow(theta, 2.0 * j / hd);
            if (!scaling.is_null() && scaling["rope_type"] == "linear") f /= scaling["factor"].get<double>();
            if (!scaling.is_null() && scaling["rope_type"] == "llama3") {
                const double factor = scaling["factor"], lo = scaling["low_freq_factor"], hi = scaling["high_freq_factor"];
                const double old = scaling["original_max_position_embeddings"];
                const double wavelen = 2 * M_PI / f;
                if (wavelen > old / lo) f = f / factor;          // long wavelengths: slowed
                else if (wavelen >= old / hi) {                   // between: interpolate
                    const double smooth = (old / wavelen - lo) / (hi - lo);
                    f = (1 - smooth) * f / factor + smooth * f;
                }
            }
            inv[j] = f;
        }
        return inv;
    };
    auto rope = [&](at::Tensor x, const std::vector<double>& inv) {   // x [T, heads, hd]
        at::Tensor y = x.clone();
        for (int64_t p = 0; p < T; ++p)
            for (int64_t j = 0; j < hd / 2; ++j) {
                const double cs = std::cos(p * inv[j]), sn = std::sin(p * inv[j]);
                at::Tensor a = x.select(0, p).select(1, j), b = x.select(0, p).select(1, j + hd / 2);
                y.select(0, p).select(1, j).copy_(a * cs - b * sn);
                y.select(0, p).select(1, j + hd / 2).copy_(b * cs + a * sn);
            }
        return y;
    };
    const nlohmann::json scaling = c.contains("rope_scaling") ? c["rope_scaling"] : nlohmann::json();
    const auto invGlobal = invFreq(c.value("rope_theta", 10000.0), scaling);
    const auto invLocal = gemma3 ? invFreq(c.value("rope_local_base_freq", 10000.0), nlohmann::json()) : invGlobal;
    const double scale = gemma ? 1 / std::sqrt(c["query_pre_attn_scalar"].get<double>()) : 1 / std::sqrt(double(hd));
    at::Tensor x = W("model.embed_tokens.weight").index_select(0, tok);
    if (gemma) x = x * std::sqrt(double(d));
    for (int64_t i = 0; i < L; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        bool sliding = kind == "mistral";
        if (kind == "gemma2") sliding = i % 2 == 0;
        if (gemma3) sliding = (i + 1) % c["sliding_window_pattern"].get<int64_t>() != 0;
        const int64_t window = sliding ? c["sliding_window"].get<int64_t>() : 0;
        at::Tensor h = rms(x, p + "input_layernorm.weight");
        auto proj = [&](const std::string& n) {
            at::Tensor y = at::matmul(h, W(p + "self_attn." + n + ".weight").t());
            if (f.find(p + "self_attn." + n + ".bias")) y = y + W(p + "self_attn." + n + ".bias");
            return y;
        };
        at::Tensor q = proj("q_proj").view({T, H, hd}), k = proj("k_proj").view({T, KV, hd}), v = proj("v_proj").view({T, KV, hd});
        if (qwen3 || gemma3) {
            q = rms(q, p + "self_attn.q_norm.weight");
            k = rms(k, p + "self_attn.k_norm.weight");
        }
        q = rope(q, sliding ? invLocal : invGlobal);
        k = rope(k, sliding ? invLocal : invGlobal);
        at::Tensor a = attend(q, k, v, scale, window, c.value("attn_logit_softcapping", 0.0));
        a = at::matmul(a, W(p + "self_attn.o_proj.weight").t());
        if (gemma) a = rms(a, p + "post_attention_layernorm.weight");
        x = x + a;
        h = rms(x, p + (gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"));
        at::Tensor g = at::matmul(h, W(p + "mlp.gate_proj.weight").t()), u = at::matmul(h, W(p + "mlp.up_proj.weight").t());
        at::Tensor m = at::matmul((gemma ? geluTanh(g) : g * at::sigmoid(g)) * u, W(p + "mlp.down_proj.weight").t());
        if (gemma) m = rms(m, p + "post_feedforward_layernorm.weight");
        x = x + m;
    }
    return rms(x, "model.norm.weight");
}

} // namespace

class TestModel : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    std::string dir(const std::string& name) const { return (fs::path(tmp_.path().toStdString()) / name).string(); }

    std::string tinyModel(const std::string& kind, const std::string& head = "")
    {
        const std::string d = dir(kind + (head.empty() ? "" : "-" + head));
        if (!fs::exists(fs::path(d) / "config.json")) {
            nlohmann::json cfg = tinyConfig(kind);
            if (!head.empty()) {
                const char* cls = kind == "qwen3" ? "Qwen3ForSequenceClassification"
                                  : kind == "gpt2" ? "GPT2ForSequenceClassification"
                                                   : "LlamaForSequenceClassification";
                cfg["architectures"] = {head == "score" ? cls : "LlamaRewardModel"};
                cfg["pad_token_id"] = 2;   // == EOS on purpose: must not be used as pad
            }
            writeRandomModel(d, cfg, 1234, 0.1, head);
        }
        return d;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        initTorchRuntime();
    }

    void safetensorsRoundTrip()
    {
        const std::string p = dir("rt.safetensors");
        at::Tensor a = at::randn({3, 5});
        at::Tensor b = at::randn({7}).to(at::kBFloat16);
        at::Tensor c = at::randn({2, 2, 2}).to(at::kHalf);
        writeSafetensors(p, {{"a", a}, {"b", b}, {"c", c}}, {{"format", "pt"}});
        SafetensorsFile f(p);
        QCOMPARE(f.entries().size(), size_t(3));
        QCOMPARE(f.metadata().at("format"), std::string("pt"));
        QCOMPARE(f.find("b")->dtype, std::string("BF16"));
        QVERIFY(at::equal(f.tensor("a"), a));
        QVERIFY(at::equal(f.tensor("b"), b));
        QVERIFY(at::equal(f.tensor("c"), c));
        QCOMPARE(f.find("c")->shape, (std::vector<int64_t>{2, 2, 2}));
        // The header is padded so the data section is 8-byte aligned.
        QCOMPARE(reinterpret_cast<uintptr_t>(f.tensor("a").data_ptr()) % 8, uintptr_t(0));
    }

    void badInputsGiveOneClearError()
    {
        const std::string good = tinyModel("llama");
        auto copyModel = [&](const std::string& name) {
            const std::string d = dir(name);
            fs::remove_all(d);
            fs::create_directories(d);
            for (const auto& f : fs::directory_iterator(good)) fs::copy(f.path(), fs::path(d) / f.path().filename());
            return d;
        };
        // Truncated file: the last tensor's data lies past the end.
        {
            const std::string d = copyModel("truncated");
            const auto p = fs::path(d) / "model.safetensors";
            fs::resize_file(p, fs::file_size(p) - 100);
            const QString m = errorOf([&] { loadCausalLM(d, "cpu", "fp32"); });
            QVERIFY2(m.contains("model.safetensors") && m.contains("data_offsets") && m.contains("truncated"), qPrintable(m));
            QVERIFY2(m.contains("lm_head.weight") || m.contains("model."), qPrintable(m));   // names the tensor
        }
        // Header length pointing past the end.
        {
            const std::string p = dir("hdr.safetensors");
            std::ofstream out(p, std::ios::binary);
            const uint64_t n = 1 << 20;
            for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
            out << "{}";
            out.close();
            const QString m = errorOf([&] { SafetensorsFile f(p); });
            QVERIFY2(m.contains("hdr.safetensors") && m.contains("header") && m.contains("past the end"), qPrintable(m));
        }
        // Unknown dtype, size mismatch, overlap: crafted headers.
        {
            const std::string p = dir("dtype.safetensors");
            writeRaw(p, R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8);
            QString m = errorOf([&] { SafetensorsFile f(p); });
            QVERIFY2(m.contains("dtype.safetensors: w: unknown dtype 'Q4'"), qPrintable(m));
            writeRaw(p, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
            m = errorOf([&] { SafetensorsFile f(p); });
            QVERIFY2(m.contains(": w: holds 8 bytes"), qPrintable(m));
            writeRaw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
            m = errorOf([&] { SafetensorsFile f(p); });
            QVERIFY2(m.contains("overlaps"), qPrintable(m));
            writeRaw(p, "not json at all", 0);
            m = errorOf([&] { SafetensorsFile f(p); });
            QVERIFY2(m.contains("dtype.safetensors: header: not valid JSON"), qPrintable(m));
        }
        // A tensor whose shape disagrees with config.json.
        {
            const std::string d = copyModel("wrongshape");
            nlohmann::json cfg = tinyConfig("llama");
            cfg["intermediate_size"] = 100;
            std::ofstream(fs::path(d) / "config.json") << cfg.dump();
            const QString m = errorOf([&] { loadCausalLM(d, "cpu", "fp32"); });
            QVERIFY2(m.contains("model.safetensors: model.layers.0.mlp.gate_proj.weight: shape [160,64] does not match config.json (expected [100,64])"),
                     qPrintable(m));
        }
        // Sharded checkpoint whose index names a missing shard.
        {
            const std::string d = copyModel("missingshard");
            fs::remove(fs::path(d) / "model.safetensors");
            nlohmann::json idx = {{"metadata", {}}, {"weight_map", {{"model.embed_tokens.weight", "model-00001-of-00002.safetensors"}}}};
            std::ofstream(fs::path(d) / "model.safetensors.index.json") << idx.dump();
            const QString m = errorOf([&] { loadCausalLM(d, "cpu", "fp32"); });
            QVERIFY2(m.contains("model.safetensors.index.json") && m.contains("model.embed_tokens.weight")
                         && m.contains("missing shard file") && m.contains("model-00001-of-00002.safetensors"),
                     qPrintable(m));
        }
        // Values that disable a check or make a NaN model (second fuzz round, items 4 and 10).
        for (auto [key, value] : {std::pair<const char*, double>{"max_position_embeddings", 0},
                                  {"max_position_embeddings", -1}, {"rms_norm_eps", 0}, {"rms_norm_eps", -1e-6},
                                  {"rope_theta", 0}, {"rope_theta", -10000}}) {
            const std::string d = copyModel(std::string("bad-") + key);
            nlohmann::json cfg = tinyConfig("llama");
            if (std::string(key) == "max_position_embeddings") cfg[key] = int64_t(value);
            else cfg[key] = value;
            std::ofstream(fs::path(d) / "config.json") << cfg.dump();
            const QString m = errorOf([&] { loadCausalLM(d, "cpu", "fp32"); });
            QVERIFY2(m.contains("config.json") && m.contains(key), qPrintable(m));
        }
        // Unsupported architecture: named, with the supported list.
        {
            const std::string d = copyModel("falcon");
            nlohmann::json cfg = tinyConfig("llama");
            cfg["architectures"] = {"FalconForCausalLM"};
            cfg["model_type"] = "falcon";
            std::ofstream(fs::path(d) / "config.json") << cfg.dump();
            try {
                loadCausalLM(d, "cpu", "fp32");
                QFAIL("no exception");
            } catch (const UsageError& e) {
                const QString m = e.what();
                QVERIFY2(m.contains("config.json: architectures: 'FalconForCausalLM' is not supported")
                             && m.contains("Qwen3ForCausalLM") && m.contains("GPT2LMHeadModel"),
                         qPrintable(m));
            }
        }
        // Missing config.json / bad dtype name.
        QVERIFY(errorOf([&] { loadCausalLM(dir("nowhere"), "cpu", "fp32"); }).contains("config.json: missing"));
        QVERIFY(errorOf([&] { loadCausalLM(good, "cpu", "int3"); }).contains("dtype: 'int3' is not a dtype"));
    }

    void shardedEqualsSingleFile()
    {
        const std::string good = tinyModel("qwen2");
        const std::string d = dir("sharded");
        fs::create_directories(d);
        fs::copy(fs::path(good) / "config.json", fs::path(d) / "config.json", fs::copy_options::overwrite_existing);
        SafetensorsFile f((fs::path(good) / "model.safetensors").string());
        std::vector<std::pair<std::string, at::Tensor>> s1, s2;
        nlohmann::json map;
        for (size_t i = 0; i < f.entries().size(); ++i) {
            const auto& e = f.entries()[i];
            (i % 2 ? s1 : s2).emplace_back(e.name, f.tensor(e.name));
            map[e.name] = i % 2 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
        }
        writeSafetensors(d + "/model-00001-of-00002.safetensors", s1);
        writeSafetensors(d + "/model-00002-of-00002.safetensors", s2);
        std::ofstream(fs::path(d) / "model.safetensors.index.json") << nlohmann::json{{"weight_map", map}}.dump();
        auto a = loadCausalLM(good, "cpu", "fp32"), b = loadCausalLM(d, "cpu", "fp32");
        at::Tensor tok = randomTokens(1, 6, 256, 7);
        KVCache ca = a->newCache(1, 8), cb = b->newCache(1, 8);
        QCOMPARE(maxDiff(a->forward(ca, tok), b->forward(cb, tok)), 0.0);
        QCOMPARE(readModelConfig(d).num_parameters, readModelConfig(good).num_parameters);
    }

    void incrementalEqualsFullForEveryArchitecture_data()
    {
        QTest::addColumn<QString>("kind");
        for (const char* k : kKinds) QTest::newRow(k) << QString(k);
    }
    void incrementalEqualsFullForEveryArchitecture()
    {
        QFETCH(QString, kind);
        const std::string d = tinyModel(kind.toStdString());
        auto lm = loadCausalLM(d, "cpu", "fp32");
        QCOMPARE(lm->dtype(), at::kFloat);
        const int64_t T = 12, V = lm->config().vocab_size;
        at::Tensor tok = randomTokens(2, T, V, 11);
        KVCache full = lm->newCache(2, 16);
        at::Tensor ref = lm->forward(full, tok);   // [2, T, hidden]
        QCOMPARE(full.length(0), T);
        QCOMPARE(ref.sizes().vec(), (std::vector<int64_t>{2, T, lm->config().hidden_size}));
        QVERIFY(ref.abs().max().item<double>() > 0.1);   // not a degenerate model
        // One token at a time, and in uneven chunks: the cache must reproduce the full pass.
        KVCache inc = lm->newCache(2, 16);
        std::vector<at::Tensor> steps;
        for (int64_t t = 0; t < T; ++t) steps.push_back(lm->forward(inc, tok.narrow(1, t, 1)));
        const double dInc = maxDiff(at::cat(steps, 1), ref);
        QVERIFY2(dInc <= 1e-4, qPrintable(QString("incremental vs full: %1").arg(dInc)));
        KVCache chunk = lm->newCache(2, 16);
        at::Tensor c = at::cat({lm->forward(chunk, tok.narrow(1, 0, 5)), lm->forward(chunk, tok.narrow(1, 5, 7))}, 1);
        QVERIFY(maxDiff(c, ref) <= 1e-4);
        // fp64 agrees with fp32.
        auto lm64 = loadCausalLM(d, "cpu", "fp64");
        KVCache c64 = lm64->newCache(2, 16);
        at::Tensor ref64 = lm64->forward(c64, tok);
        const double rel = maxDiff(ref, ref64) / ref64.abs().max().item<double>();
        QVERIFY2(rel <= 1e-4, qPrintable(QString("fp32 vs fp64 relative: %1").arg(rel)));
        const double dl = maxDiff(lm->lmHead(ref), lm64->lmHead(ref64)) / lm64->lmHead(ref64).abs().max().item<double>();
        QVERIFY2(dl <= 1e-4, qPrintable(QString("logits fp32 vs fp64: %1").arg(dl)));
        // Against the independent reference written from transformers' equations (row 1).
        std::vector<int64_t> ids(tok[1].data_ptr<int64_t>(), tok[1].data_ptr<int64_t>() + T);
        at::Tensor want = referenceForward(d, kind.toStdString(), ids);
        const double er = maxDiff(ref64[1], want) / want.abs().max().item<double>();
        QVERIFY2(er <= 1e-4, qPrintable(QString("vs reference forward: relative %1").arg(er)));
        // bf16 runs and stays close (loose: 8-bit mantissa).
        auto lm16 = loadCausalLM(d, "cpu", "bf16");
        KVCache c16 = lm16->newCache(2, 16);
        at::Tensor r16 = lm16->lmHead(lm16->forward(c16, tok));
        QVERIFY(r16.scalar_type() == at::kFloat);
        QVERIFY(at::isfinite(r16).all().item<bool>());
    }

    void fusedCpuKernelsMatchTheGenericPath_data() { incrementalEqualsFullForEveryArchitecture_data(); }
    void fusedCpuKernelsMatchTheGenericPath()
    {
        // fp32 on the CPU runs the fused kernels (cpu_kernels.h: norms, q/k norm, RoPE, one-row
        // gemv, decode-step attention); fp64 runs the generic tensor path.  Ragged rows at
        // different positions, steps on a reordered subset of rows, and sequences longer than
        // the tiny configs' sliding windows (4-5): the kernels' positions, windows and row mapping.
        QFETCH(QString, kind);
        const std::string d = tinyModel(kind.toStdString());
        auto lm32 = loadCausalLM(d, "cpu", "fp32");
        auto lm64 = loadCausalLM(d, "cpu", "fp64");
        const int64_t V = lm32->config().vocab_size;
        KVCache c32 = lm32->newCache(3, 24), c64 = lm64->newCache(3, 24);
        std::vector<at::Tensor> o32, o64;
        auto step = [&](const at::Tensor& tok, const std::vector<int64_t>& rows) {
            const at::Tensor ri = at::tensor(rows, at::kLong);
            o32.push_back(lm32->forwardRows(c32, tok, ri).to(at::kDouble));
            o64.push_back(lm64->forwardRows(c64, tok, ri));
        };
        const int64_t lens[] = {7, 3, 10};
        for (int64_t r = 0; r < 3; ++r) step(randomTokens(1, lens[r], V, 30 + r), {r});
        for (int s = 0; s < 8; ++s) {
            if (s % 2) step(randomTokens(2, 1, V, 40 + s), {2, 0});
            else step(randomTokens(3, 1, V, 40 + s), {0, 1, 2});
        }
        QCOMPARE(c32.lengths(), (std::vector<int64_t>{15, 7, 18}));
        double worst = 0;
        for (size_t i = 0; i < o32.size(); ++i)
            worst = std::max(worst, maxDiff(o32[i], o64[i]) / o64[i].abs().max().item<double>());
        qInfo("%s: fused fp32 vs generic fp64, max relative difference %.1e", qPrintable(kind), worst);
        QVERIFY2(worst <= 1e-5, qPrintable(QString("relative %1").arg(worst)));
        // The rows differ (a kernel mixing them up could not pass by accident).
        QVERIFY(maxDiff(o32.back()[0], o32.back()[1]) > 1e-3);
    }

    void gemma3MultimodalLoadsItsTextPart()
    {
        // Gemma3-4B's layout: Gemma3ForConditionalGeneration, text config under text_config,
        // text weights under language_model.model. (older) or model.language_model. (newer), a
        // vision tower beside them.
        const std::string src = tinyModel("gemma3");
        nlohmann::json text = tinyConfig("gemma3");
        text.erase("architectures");
        text.erase("eos_token_id");
        text.erase("bos_token_id");
        nlohmann::json cfg = {{"architectures", {"Gemma3ForConditionalGeneration"}}, {"model_type", "gemma3"},
                              {"text_config", text}, {"eos_token_id", {1, 106}}};
        SafetensorsFile f((fs::path(src) / "model.safetensors").string());
        auto lm = loadCausalLM(src, "cpu", "fp32");
        at::Tensor tok = randomTokens(1, 9, 256, 17);
        KVCache c0 = lm->newCache(1, 9);
        at::Tensor ref = lm->lmHead(lm->forward(c0, tok));
        for (const std::string prefix : {"language_model.model.", "model.language_model."}) {
            const std::string d = dir("gemma3-mm-" + std::to_string(prefix.size()));
            fs::create_directories(d);
            std::ofstream(fs::path(d) / "config.json") << cfg.dump();
            std::ofstream(fs::path(d) / "generation_config.json") << R"({"eos_token_id": [1, 106], "bos_token_id": 2})";
            std::vector<std::pair<std::string, at::Tensor>> t = {{"vision_tower.patch.weight", at::zeros({3, 3})}};
            for (const auto& e : f.entries()) t.emplace_back(prefix + e.name.substr(std::string("model.").size()), f.tensor(e.name));
            writeSafetensors(d + "/model.safetensors", t);
            auto mm = loadCausalLM(d, "cpu", "fp32");
            QCOMPARE(mm->config().eos_ids, (std::vector<int64_t>{1, 106}));
            QCOMPARE(mm->config().pad_id, int64_t(2));   // BOS: no pad given, and never an EOS
            KVCache c = mm->newCache(1, 9);
            QCOMPARE(maxDiff(mm->lmHead(mm->forward(c, tok)), ref), 0.0);
        }
    }

    void slidingWindowIsApplied()
    {
        // Mistral with window 5 over 12 tokens: the last position must not depend on token 0,
        // while the same model without a window does.
        const std::string d = tinyModel("mistral");
        auto lm = loadCausalLM(d, "cpu", "fp64");
        at::Tensor a = randomTokens(1, 12, 256, 3), b = a.clone();
        b[0][0] = (a[0][0].item<int64_t>() + 1) % 250 + 3;
        KVCache ca = lm->newCache(1, 12), cb = lm->newCache(1, 12);
        at::Tensor pa = lm->forward(ca, a), pb = lm->forward(cb, b);
        // Window 5 per layer, 2 layers: position 11 sees back to 11-2*4 = 3 > 0.
        QVERIFY(maxDiff(pa.select(1, 11), pb.select(1, 11)) < 1e-12);
        QVERIFY(maxDiff(pa.select(1, 4), pb.select(1, 4)) > 1e-6);   // inside the window: it matters
    }

    void paddedBatchEqualsRowAlone()
    {
        auto lm = loadCausalLM(tinyModel("llama3"), "cpu", "fp32");
        std::vector<std::vector<int32_t>> prompts = {{5, 9, 11, 40}, {7, 8}, {100, 101, 102, 103, 104, 105, 106}};
        KVCache batch = lm->newCache(3, 32);
        at::Tensor pre = prefillRows(*lm, batch, prompts);
        QCOMPARE(batch.length(1), int64_t(2));
        GenerateOptions opt;
        opt.max_new_tokens = 6;
        opt.sampling.greedy = true;
        opt.logprobs = true;
        std::vector<at::Generator> gens = makeRowGenerators({1, 2, 3});
        GenerateResult rb = generate(*lm, batch, pre, opt, gens);
        for (int r = 0; r < 3; ++r) {
            KVCache one = lm->newCache(1, 32);
            at::Tensor p1 = prefillShared(*lm, one, prompts[r]);
            QVERIFY(maxDiff(p1[0], pre[r]) <= 1e-4);
            std::vector<at::Generator> g1 = makeRowGenerators({1});
            GenerateResult r1 = generate(*lm, one, p1, opt, g1);
            QCOMPARE(r1.tokens[0], rb.tokens[r]);
            QCOMPARE(r1.logprobs[0].size(), r1.tokens[0].size());
            for (size_t t = 0; t < r1.logprobs[0].size(); ++t) QVERIFY(std::abs(r1.logprobs[0][t] - rb.logprobs[r][t]) <= 1e-4);
        }
        // prefillShared broadcasts one prompt to every row.
        KVCache shared = lm->newCache(4, 16);
        at::Tensor ps = prefillShared(*lm, shared, prompts[0]);
        QCOMPARE(ps.size(0), int64_t(4));
        for (int r = 0; r < 4; ++r) QCOMPARE(shared.length(r), int64_t(4));
        QVERIFY(maxDiff(ps[3], pre[0]) <= 1e-4);
        QVERIFY(at::equal(shared.k[1][3].narrow(1, 0, 4), shared.k[1][0].narrow(1, 0, 4)));
    }

    void forkAndTruncateReuseThePrefix()
    {
        auto lm = loadCausalLM(tinyModel("gemma3"), "cpu", "fp32");
        at::Tensor a = randomTokens(1, 10, 256, 5), b = randomTokens(1, 4, 256, 6);
        KVCache cache = lm->newCache(3, 16);
        cache.setLength(0, 0);
        lm->forwardRows(cache, a, at::zeros({1}, at::kLong));
        QCOMPARE(cache.length(0), int64_t(10));
        // Fork row 0's first 6 positions into row 2, continue it with b.
        cache.fork(0, 2, 6);
        QCOMPARE(cache.length(2), int64_t(6));
        QVERIFY(at::equal(cache.tokens[2].narrow(0, 0, 6), a[0].narrow(0, 0, 6)));
        at::Tensor forked = lm->forwardRows(cache, b, at::full({1}, 2, at::kLong));
        KVCache fresh = lm->newCache(1, 16);
        at::Tensor ref = lm->forward(fresh, at::cat({a.narrow(1, 0, 6), b}, 1)).narrow(1, 6, 4);
        QVERIFY2(maxDiff(forked, ref) <= 1e-4, "fork then continue == fresh computation");
        // Truncate row 0 to 3 positions (stale data beyond stays in memory, masked) and continue.
        cache.setLength(0, 3);
        at::Tensor trunc = lm->forwardRows(cache, b, at::zeros({1}, at::kLong));
        KVCache fresh2 = lm->newCache(1, 16);
        at::Tensor ref2 = lm->forward(fresh2, at::cat({a.narrow(1, 0, 3), b}, 1)).narrow(1, 3, 4);
        QVERIFY2(maxDiff(trunc, ref2) <= 1e-4, "truncate then continue == fresh computation");
        // Row 1 was never touched.
        QCOMPARE(cache.length(1), int64_t(0));
        QVERIFY(errorOf([&] { cache.fork(0, 1, 12); }).contains("exceeds"));
    }

    void samplerDistributions()
    {
        // One row, p = (0.1, 0.2, 0.3, 0.4); N draws; each count within 4.5 binomial sd.
        const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
        at::Tensor logits = at::log(at::tensor(p, at::kDouble)).to(at::kFloat).unsqueeze(0);
        const int N = 4000;
        auto counts = [&](const SamplingParams& sp, uint64_t seed) {
            std::vector<at::Generator> g = makeRowGenerators({seed});
            std::vector<int> c(4, 0);
            for (int i = 0; i < N; ++i) c[sampleNext(logits, sp, g).item<int64_t>()]++;
            return c;
        };
        auto within = [&](const std::vector<int>& c, const std::vector<double>& q) {
            for (int i = 0; i < 4; ++i)
                if (std::abs(c[i] - N * q[i]) > 4.5 * std::sqrt(N * q[i] * (1 - q[i])) + 1e-9) return false;
            return true;
        };
        SamplingParams plain;
        auto c = counts(plain, 42);
        QVERIFY(within(c, p));
        QVERIFY(!within(c, {0.25, 0.25, 0.25, 0.25}));   // negative control: the test can fail
        SamplingParams t;
        t.temperature = 0.5;   // p^2 renormalised
        QVERIFY(within(counts(t, 43), {1 / 30.0, 4 / 30.0, 9 / 30.0, 16 / 30.0}));
        SamplingParams k;
        k.top_k = 2;
        QVERIFY(within(counts(k, 44), {0, 0, 3 / 7.0, 4 / 7.0}));
        SamplingParams tp;
        tp.top_p = 0.5;   // 0.4 then 0.3 crosses 0.5: both kept
        QVERIFY(within(counts(tp, 45), {0, 0, 3 / 7.0, 4 / 7.0}));
        SamplingParams g;
        g.greedy = true;
        std::vector<at::Generator> none;
        QCOMPARE(sampleNext(logits, g, none).item<int64_t>(), int64_t(3));
        // Log-probs are under the unmodified model.
        at::Tensor lp;
        std::vector<at::Generator> g1 = makeRowGenerators({1});
        at::Tensor tok = sampleNext(logits, k, g1, &lp);
        QVERIFY(std::abs(lp.item<double>() - std::log(p[tok.item<int64_t>()])) < 1e-5);
    }

    void sameSeedSameTokensWhateverTheBatch()
    {
        auto lm = loadCausalLM(tinyModel("qwen3"), "cpu", "fp32");
        GenerateOptions opt;
        opt.max_new_tokens = 10;
        opt.sampling.temperature = 1.0;
        opt.sampling.top_p = 0.95;
        const std::vector<int32_t> prompt = {5, 6, 7};
        auto run = [&](std::vector<uint64_t> seeds) {
            KVCache cache = lm->newCache(static_cast<int64_t>(seeds.size()), 32);
            at::Tensor pre = prefillShared(*lm, cache, prompt);
            auto gens = makeRowGenerators(seeds);
            return generate(*lm, cache, pre, opt, gens);
        };
        const uint64_t s1 = rowSeed(7, 0, 0, 1), s2 = rowSeed(7, 0, 0, 2);
        QVERIFY(s1 != s2);
        GenerateResult a = run({s1, s2, rowSeed(7, 0, 0, 3)});
        GenerateResult b = run({s2});
        QCOMPARE(b.tokens[0], a.tokens[1]);
        QCOMPARE(run({s1}).tokens[0], a.tokens[0]);
        QVERIFY(a.tokens[0] != a.tokens[1]);   // different seeds differ (control)
        QCOMPARE(a.generated_tokens, int64_t(30));
        QVERIFY(a.flops > 0 && a.seconds > 0);
    }

    void decodeLoopStopsAndCancels()
    {
        auto lm = loadCausalLM(tinyModel("gpt2"), "cpu", "fp32");
        KVCache cache = lm->newCache(3, 64);
        at::Tensor pre = prefillShared(*lm, cache, {10, 11, 12});
        // The greedy continuation's 3rd token as a stop id: every row stops at step 3.
        GenerateOptions opt;
        opt.sampling.greedy = true;
        opt.max_new_tokens = 8;
        std::vector<at::Generator> gens;
        GenerateResult free = generate(*lm, cache, pre, opt, gens);
        QCOMPARE(free.tokens[0].size(), size_t(8));
        QCOMPARE(cache.length(0), int64_t(3 + 7));   // last token never fed back
        QCOMPARE(free.forward_tokens, int64_t(3 * 7));
        cache = lm->newCache(3, 64);
        pre = prefillShared(*lm, cache, {10, 11, 12});
        const int32_t stopId = free.tokens[0][2];
        const size_t stopLen = std::find(free.tokens[0].begin(), free.tokens[0].end(), stopId) - free.tokens[0].begin() + 1;
        opt.stop_ids = {stopId};
        // Row 1 stops at its 2nd token through the stop-string hook.
        opt.stop_when = [](int64_t row, const std::vector<int32_t>& g) { return row == 1 && g.size() == 2; };
        GenerateResult r = generate(*lm, cache, pre, opt, gens);
        QCOMPARE(r.tokens[0].size(), stopLen);
        QCOMPARE(r.tokens[2].size(), stopLen);
        QCOMPARE(r.tokens[0].back(), stopId);
        QVERIFY(r.finished[0] && r.finished[1] && r.finished[2]);
        QCOMPARE(r.tokens[1].size(), std::min<size_t>(2, stopLen));
        // Finished rows cost nothing: every row ran (its length - 1) forwards.
        QCOMPARE(r.forward_tokens, int64_t(2 * (stopLen - 1) + r.tokens[1].size() - 1));
        QCOMPARE(r.generated_tokens, int64_t(2 * stopLen + r.tokens[1].size()));
        // Perturbation before lm_head: a huge push towards one token forces it.
        opt.stop_ids.clear();
        opt.stop_when = nullptr;
        opt.max_new_tokens = 3;
        auto lmp = lm.get();
        opt.perturb = [&](int64_t, at::Tensor& h, const at::Tensor& rows) {
            QCOMPARE(h.size(0), rows.size(0));
            at::Tensor dir = lmp->lmHead(at::eye(h.size(1))).select(1, 77);   // = lm_head row 77: raises token 77 most
            h = h + 1000.0 * dir.to(h.dtype());
        };
        cache = lm->newCache(3, 64);
        pre = prefillShared(*lm, cache, {10, 11, 12});
        r = generate(*lm, cache, pre, opt, gens);
        QCOMPARE(r.tokens[2], (std::vector<int32_t>{77, 77, 77}));
        // Cancellation is polled before each step.
        std::atomic<bool> cancel{true};
        opt.perturb = nullptr;
        opt.cancel = &cancel;
        r = generate(*lm, cache, pre, opt, gens);
        QVERIFY(r.cancelled);
        QCOMPARE(r.generated_tokens, int64_t(0));
    }

    // The reward-model families researchers use, by their exact head tensors and classes:
    // Skywork-Reward-V2 (Llama 3.1 and Qwen3 *ForSequenceClassification: score), a GPT-2
    // sequence classifier (score, Conv1D backbone), UltraRM/Eurus (regression_head), trl
    // (v_head.summary), GRM/LLaMA-Factory (v_head.summary.0/.2).
    void rewardHeads_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("head");
        for (const char* h : {"score", "regression_head", "v_head", "v_head_mlp"})
            QTest::newRow(h) << QString("llama") << QString(h);
        QTest::newRow("skywork-v2-llama3.1") << QString("llama3") << QString("score");
        QTest::newRow("skywork-v2-qwen3") << QString("qwen3") << QString("score");
        QTest::newRow("gpt2-seq-cls") << QString("gpt2") << QString("score");
    }
    void rewardHeads()
    {
        QFETCH(QString, kind);
        QFETCH(QString, head);
        const std::string d = tinyModel(kind.toStdString(), head.toStdString());
        auto rm = loadRewardModel(d, "cpu", "fp32");
        QCOMPARE(QString::fromStdString(rm->headKind()), head);
        QCOMPARE(inspectCheckpoint(d).reward_head, head.toStdString());
        QVERIFY(rm->config().pad_id != 2);   // config's pad == EOS is replaced
        std::vector<std::vector<int32_t>> seqs = {{3, 5, 9, 30, 2}, {3, 7}, {3, 40, 41, 42, 43, 44, 45, 2}};
        std::vector<double> s = rm->scoreIds(seqs);
        QCOMPARE(s.size(), size_t(3));
        // The head reads the final-norm state at the last token: the same weights loaded as a
        // causal LM (tied head, extra tensors ignored) give that state.
        const std::string saved = readJsonFile((fs::path(d) / "config.json").string()).dump();
        nlohmann::json cfg = tinyConfig(kind.toStdString());
        cfg["tie_word_embeddings"] = true;
        std::ofstream(fs::path(d) / "config.json") << cfg.dump();
        auto lm = loadCausalLM(d, "cpu", "fp32");
        std::ofstream(fs::path(d) / "config.json") << saved;
        std::map<std::string, at::Tensor> w;
        for (const char* f : {"model.safetensors", "value_head.safetensors"})
            if (fs::exists(fs::path(d) / f)) {
                SafetensorsFile sf((fs::path(d) / f).string());
                for (const auto& e : sf.entries()) w[e.name] = sf.tensor(e.name).clone();
            }
        for (size_t i = 0; i < seqs.size(); ++i) {
            KVCache c = lm->newCache(1, 16);
            std::vector<int64_t> ids(seqs[i].begin(), seqs[i].end());
            at::Tensor h = lm->forward(c, at::tensor(ids, at::kLong).unsqueeze(0))[0][-1];
            at::Tensor x;
            if (head == "score") x = at::matmul(w["score.weight"], h);
            else if (head == "regression_head") x = at::matmul(w["regression_head.weight"], h);
            else if (head == "v_head") x = at::matmul(w["v_head.summary.weight"], h) + w["v_head.summary.bias"];
            else
                x = at::matmul(w["v_head.summary.2.weight"], at::relu(at::matmul(w["v_head.summary.0.weight"], h) + w["v_head.summary.0.bias"]))
                    + w["v_head.summary.2.bias"];
            QVERIFY2(std::abs(x.item<double>() - s[i]) <= 1e-4, qPrintable(QString("%1 vs %2").arg(x.item<double>()).arg(s[i])));
        }
        // Left and right padding give the same scores; so does scoring one at a time.
        const int64_t pad = rm->config().pad_id;
        at::Tensor left = at::full({3, 9}, pad, at::kLong), right = left.clone();
        at::Tensor mLeft = at::zeros({3, 9}, at::kLong), mRight = mLeft.clone();
        for (int64_t r = 0; r < 3; ++r) {
            const int64_t n = static_cast<int64_t>(seqs[r].size());
            for (int64_t t = 0; t < n; ++t) {
                left[r][9 - n + t] = seqs[r][t];
                right[r][t] = seqs[r][t];
                mLeft[r][9 - n + t] = 1;
                mRight[r][t] = 1;
            }
        }
        auto sl = rm->scorePadded(left, mLeft), sr = rm->scorePadded(right, mRight), sn = rm->scorePadded(left);
        for (int r = 0; r < 3; ++r) {
            QVERIFY(std::abs(sl[r] - s[r]) <= 1e-4);
            QVERIFY(std::abs(sr[r] - s[r]) <= 1e-4);
            QVERIFY(std::abs(sn[r] - s[r]) <= 1e-4);
            QVERIFY(std::abs(rm->scoreIds({seqs[r]})[0] - s[r]) <= 1e-4);
        }
        QVERIFY(std::abs(s[0] - s[1]) > 1e-6);   // scores depend on the input (control)
        rm->maxBatchTokens = 8;                    // forces one row per forward
        QVERIFY(std::abs(rm->scoreIds(seqs)[2] - s[2]) <= 1e-4);
    }

    // ArmoRM (LlamaForRewardModelWithGating): 19 objectives at the last token, mixed by a gate
    // read at the last assistant-header pattern; checked against a hand computation from the
    // same weights (the backbone's states from the causal-LM path).
    void armoRMScoresLikeAHandComputation()
    {
        const std::string d = dir("llama-armo");
        nlohmann::json cfg = tinyConfig("llama");
        cfg["architectures"] = {"LlamaForRewardModelWithGating"};
        cfg["num_objectives"] = 19;
        cfg["gating_hidden_dim"] = 24;
        cfg["gating_n_hidden"] = 3;
        cfg["gating_temperature"] = 10;
        writeRandomModel(d, cfg, 77, 0.1, "armo_gating");
        QCOMPARE(inspectCheckpoint(d).reward_head, std::string("armo_gating"));
        auto rm = loadRewardModel(d, "cpu", "fp32");
        QCOMPARE(rm->headKind(), std::string("armo_gating"));
        QCOMPARE(rm->objectives(), int64_t(19));
        const std::vector<int32_t> pattern = {50, 51, 52};
        rm->setGatingPattern(pattern);
        // Row 0 has the pattern twice: the gate reads the last one.
        std::vector<std::vector<int32_t>> seqs = {{3, 50, 51, 52, 9, 50, 51, 52, 30, 31, 2},
                                                  {3, 7, 50, 51, 52, 8},
                                                  {3, 40, 41, 50, 51, 52, 43, 44, 45, 2}};
        const std::vector<int64_t> gatePos = {5, 2, 3};
        const std::vector<double> s = rm->scoreIds(seqs);

        std::map<std::string, at::Tensor> w;
        SafetensorsFile sf((fs::path(d) / "model.safetensors").string());
        for (const auto& e : sf.entries()) w[e.name] = sf.tensor(e.name).clone().to(at::kDouble);
        nlohmann::json lmCfg = tinyConfig("llama");
        lmCfg["tie_word_embeddings"] = true;
        const std::string lmDir = dir("llama-armo-as-lm");
        fs::create_directories(lmDir);
        fs::copy_file(fs::path(d) / "model.safetensors", fs::path(lmDir) / "model.safetensors", fs::copy_options::overwrite_existing);
        std::ofstream(fs::path(lmDir) / "config.json") << lmCfg.dump();
        auto lm = loadCausalLM(lmDir, "cpu", "fp32");
        for (size_t i = 0; i < seqs.size(); ++i) {
            KVCache c = lm->newCache(1, 16);
            std::vector<int64_t> ids(seqs[i].begin(), seqs[i].end());
            at::Tensor h = lm->forward(c, at::tensor(ids, at::kLong).unsqueeze(0))[0].to(at::kDouble);
            at::Tensor r = at::matmul(w["regression_layer.weight"], h[-1]);                 // [19]
            at::Tensor g = h[gatePos[i]];
            for (int l = 0; l <= 3; ++l) {
                g = at::matmul(w["gating.layers." + std::to_string(l) + ".weight"], g) + w["gating.layers." + std::to_string(l) + ".bias"];
                if (l < 3) g = at::relu(g);
            }
            g = at::softmax(g / 10.0, 0) * w["gating.logit_scale"][0];
            const double expect = (g * at::matmul(r, w["reward_transform_matrix"])).sum().item<double>();
            QVERIFY2(std::abs(expect - s[i]) <= 1e-4 * (1 + std::abs(expect)),
                     qPrintable(QString("row %1: %2 vs %3").arg(i).arg(expect).arg(s[i])));
        }
        // The gate position matters (control): the pattern moved changes the score.
        const std::vector<int32_t> moved = {3, 50, 51, 52, 7, 8};   // row 1's tokens, pattern at 1
        QVERIFY(std::abs(rm->scoreIds({moved})[0] - s[1]) > 1e-6);
        // ARGS's prefix path gives the same scores (it re-reads whole rows for this head).
        RewardModel::PrefixState st;
        const auto viaPrefix = rm->scoreWithPrefix(st, seqs);
        for (size_t i = 0; i < s.size(); ++i) QVERIFY(std::abs(viaPrefix[i] - s[i]) <= 1e-5 * (1 + std::abs(s[i])));
        // No assistant header: refused with a message, not a score from a wrong position.
        QVERIFY_THROWS_EXCEPTION(rudder::UsageError, rm->scoreIds({{3, 4, 5, 6}}));
        // A config that disagrees with the tensors is named.
        cfg["gating_n_hidden"] = 2;
        std::ofstream(fs::path(d) / "config.json") << cfg.dump();
        try {
            loadRewardModel(d, "cpu", "fp32");
            QFAIL("loaded with gating_n_hidden 2");
        } catch (const rudder::Error& e) {
            QVERIFY2(QString(e.what()).contains("gating.layers.2.weight"), e.what());
        }
    }

    // ARGS's path: scoring with the shared prefix kept in the KV cache gives the scores of a
    // full re-read, as the prefix grows, when it is rewound (a re-tokenised boundary) and when
    // the prompt changes, while computing far fewer tokens.
    void rewardPrefixReuseMatchesFullScoring()
    {
        const std::string d = tinyModel("llama", "score");
        auto rm = loadRewardModel(d, "cpu", "fp32");
        RewardModel::PrefixState st;
        std::vector<int32_t> prefix = {3, 11, 12, 13, 14, 15, 16, 17};
        auto check = [&](const std::vector<std::vector<int32_t>>& seqs) {
            const auto full = rm->scoreIds(seqs);
            const auto reused = rm->scoreWithPrefix(st, seqs);
            QCOMPARE(reused.size(), full.size());
            for (size_t i = 0; i < full.size(); ++i)
                QVERIFY2(std::abs(full[i] - reused[i]) <= 1e-5 * (1 + std::abs(full[i])),
                         qPrintable(QString("row %1: %2 vs %3").arg(i).arg(reused[i]).arg(full[i])));
        };
        int64_t fullTokens = 0;
        for (int step = 0; step < 12; ++step) {
            std::vector<std::vector<int32_t>> cands;
            for (int32_t c = 20; c < 26; ++c) {
                auto s = prefix;
                s.push_back(c);
                if (c % 3 == 0) s.push_back(2);   // some candidates end with a template suffix
                cands.push_back(s);
                fullTokens += static_cast<int64_t>(s.size());
            }
            check(cands);
            prefix.push_back(20 + step % 6);
            if (step == 6) prefix[prefix.size() - 3] = 40;   // the boundary re-tokenised: a rewind
        }
        QVERIFY2(st.computedTokens < fullTokens / 2,
                 qPrintable(QString("computed %1 of %2 tokens").arg(st.computedTokens).arg(fullTokens)));
        // A different prompt: nothing shared, still exact.
        check({{3, 50, 51, 52}, {3, 50, 53}, {4}});
        // Negative control: the same rows with one prefix token changed must score differently,
        // or the comparison above could not see a stale cache.
        auto a = rm->scoreWithPrefix(st, {{3, 50, 51, 52}, {3, 50, 53}});
        auto b = rm->scoreIds({{3, 49, 51, 52}, {3, 49, 53}});
        QVERIFY(std::abs(a[0] - b[0]) > 1e-6 || std::abs(a[1] - b[1]) > 1e-6);
    }

    void noRewardHeadIsAClearError()
    {
        const QString m = errorOf([&] { loadRewardModel(tinyModel("llama"), "cpu", "fp32"); });
        QVERIFY2(m.contains("model.safetensors") && m.contains("no reward head found"), qPrintable(m));
    }

    // Inputs that crashed or were silently accepted.  Each must end in one rudder::Error
    // naming the file and the field, never a crash (a crash fails this whole executable).
    void badInputIsAClearError()
    {
        const fs::path demo = fs::path(RUDDER_TEST_DATA).parent_path() / "resources" / "models" / "demo-lm";
        const std::string d = dir("bad-demo");
        fs::create_directories(d);
        for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
            fs::copy_file(demo / f, fs::path(d) / f, fs::copy_options::overwrite_existing);
        std::ifstream in((demo / "tokenizer.json").string());
        const nlohmann::json tok = nlohmann::json::parse(in);
        auto withTokenizer = [&](const nlohmann::json& t) { std::ofstream(fs::path(d) / "tokenizer.json") << t.dump(); };
        auto tokError = [&] { return errorOf([&] { Tokenizer::fromDirectory(d); }); };
        // Added-token ids: 2^31 and 2^32−1 wrapped to negative int32 (out-of-bounds writes); −5
        // and 2^24 are no ids either.  The message names the entry.
        for (const char* id : {"2147483648", "4294967295", "-5", "16777216", "18446744073709551615"}) {
            nlohmann::json t = tok;
            t["added_tokens"][1]["id"] = nlohmann::json::parse(id);
            withTokenizer(t);
            const QString m = tokError();
            QVERIFY2(m.contains("tokenizer.json") && m.contains("added_tokens[1].id"), qPrintable(QString(id) + ": " + m));
        }
        {   // a vocabulary id that would size the id table at 2^31 entries
            nlohmann::json t = tok;
            t["model"]["vocab"]["zzz"] = 2147483000;
            withTokenizer(t);
            const QString m = tokError();
            QVERIFY2(m.contains("model.vocab.zzz"), qPrintable(m));
        }
        {   // a pre_tokenizer Sequence nested 50,000 deep (was a stack overflow)
            std::string deep = tok.dump();
            std::string nest;
            for (int i = 0; i < 50000; ++i) nest += R"({"type":"Sequence","pretokenizers":[)";
            nest += R"({"type":"ByteLevel"})";
            for (int i = 0; i < 50000; ++i) nest += "]}";
            nlohmann::json t = tok;
            t["pre_tokenizer"] = "@@";
            std::string text = t.dump();
            text.replace(text.find("\"@@\""), 4, nest);
            std::ofstream(fs::path(d) / "tokenizer.json") << text;
            const QString m = tokError();
            QVERIFY2(m.contains("tokenizer.json") && m.contains("nested deeper"), qPrintable(m));
        }
        withTokenizer(tok);
        QVERIFY(Tokenizer::fromDirectory(d) != nullptr);   // the unmutated copy still loads
        {   // config.json of 200,000 nested arrays
            std::ofstream(fs::path(d) / "config.json") << std::string(200000, '[') << std::string(200000, ']');
            const QString m = errorOf([&] { inspectModel(d); });
            QVERIFY2(m.contains("config.json") && m.contains("nested deeper"), qPrintable(m));
            fs::copy_file(demo / "config.json", fs::path(d) / "config.json", fs::copy_options::overwrite_existing);
        }

        // Reward heads: a bias of the wrong dtype or shape, and a value head with a gap in its
        // Linear layers (0 and 3: not the Linear–ReLU–Linear of the known heads).
        auto rewrite = [&](const std::string& rm, const std::string& file,
                           const std::function<void(std::map<std::string, at::Tensor>&)>& edit) {
            std::map<std::string, at::Tensor> t;
            {
                SafetensorsFile sf((fs::path(rm) / file).string());
                for (const auto& e : sf.entries()) t[e.name] = sf.tensor(e.name).clone();
            }
            edit(t);
            std::vector<std::pair<std::string, at::Tensor>> v(t.begin(), t.end());
            writeSafetensors((fs::path(rm) / file).string(), v, {{"format", "pt"}});
        };
        {
            const std::string rm = dir("bad-score");
            fs::create_directories(rm);
            fs::copy(tinyModel("llama", "v_head"), rm, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
            rewrite(rm, "value_head.safetensors", [](auto& t) { t["v_head.summary.bias"] = at::zeros({1}, at::kInt); });
            QString m = errorOf([&] { loadRewardModel(rm, "cpu", "fp32"); });
            QVERIFY2(m.contains("v_head.summary.bias") && m.contains("dtype"), qPrintable(m));
            rewrite(rm, "value_head.safetensors", [](auto& t) { t["v_head.summary.bias"] = at::zeros({2}); });
            m = errorOf([&] { loadRewardModel(rm, "cpu", "fp32"); });
            QVERIFY2(m.contains("v_head.summary.bias") && m.contains("expected [1]"), qPrintable(m));
        }
        {
            const std::string rm = dir("bad-mlp");
            fs::create_directories(rm);
            fs::copy(tinyModel("llama", "v_head_mlp"), rm, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
            rewrite(rm, "value_head.safetensors", [](auto& t) {
                t["v_head.summary.3.weight"] = t["v_head.summary.2.weight"];
                t["v_head.summary.3.bias"] = t["v_head.summary.2.bias"];
                t.erase("v_head.summary.2.weight");
                t.erase("v_head.summary.2.bias");
            });
            const QString m = errorOf([&] { loadRewardModel(rm, "cpu", "fp32"); });
            QVERIFY2(m.contains("v_head.summary.3.weight") && m.contains("layer 2 was expected"), qPrintable(m));
        }
    }

    // A seeded mutation fuzzer over the JSON files a model directory holds: every mutant either
    // loads (inspect + tokenizer) or is refused with a rudder::Error that names the file.  Any
    // crash, hang or other exception type fails the test.  200 mutants, ~1 s.
    void fuzzedModelFilesNeverCrash()
    {
        const fs::path demo = fs::path(RUDDER_TEST_DATA).parent_path() / "resources" / "models" / "demo-lm";
        const std::string d = dir("fuzz-demo");
        fs::create_directories(d);
        std::map<std::string, nlohmann::json> orig;
        for (const char* f : {"config.json", "tokenizer_config.json", "generation_config.json", "tokenizer.json"}) {
            std::ifstream in((demo / f).string());
            orig[f] = nlohmann::json::parse(in);
        }
        fs::copy_file(demo / "model.safetensors", fs::path(d) / "model.safetensors", fs::copy_options::overwrite_existing);
        // RUDDER_FUZZ_MUTANTS / RUDDER_FUZZ_SEED widen the search by hand; CI runs the fixed 200.
        const int mutants = qEnvironmentVariableIsSet("RUDDER_FUZZ_MUTANTS") ? qEnvironmentVariableIntValue("RUDDER_FUZZ_MUTANTS") : 200;
        std::mt19937_64 rng(qEnvironmentVariableIsSet("RUDDER_FUZZ_SEED") ? qEnvironmentVariableIntValue("RUDDER_FUZZ_SEED") : 17);
        const std::vector<nlohmann::json> odd = {nullptr, -1, 0, 2147483648LL, -2147483649LL, 1e300, -0.5, "x", "",
                                                 nlohmann::json::array(), nlohmann::json::object(), true,
                                                 nlohmann::json::array({1, 2}), 18446744073709551615ULL};
        int refused = 0, loaded = 0;
        QStringList failures;
        for (int it = 0; it < mutants; ++it) {
            for (auto& [f, j] : orig) std::ofstream(fs::path(d) / f) << j.dump();
            // Mutate one field of one file (a top-level key, or a key of one of its objects).
            auto fileIt = std::next(orig.begin(), long(rng() % orig.size()));
            nlohmann::json j = fileIt->second;
            nlohmann::json* target = &j;
            std::vector<std::string> keys;
            for (auto& [k, v] : j.items()) keys.push_back(k);
            std::string key = keys[rng() % keys.size()];
            if (j[key].is_object() && !j[key].empty() && j[key].size() < 64 && rng() % 2) {
                target = &j[key];
                keys.clear();
                for (auto& [k, v] : target->items()) keys.push_back(k);
                key = keys[rng() % keys.size()];
            } else if (key == "added_tokens" && rng() % 2) {
                target = &j["added_tokens"][rng() % j["added_tokens"].size()];
                key = rng() % 2 ? "id" : "content";
            }
            (*target)[key] = odd[rng() % odd.size()];
            std::ofstream(fs::path(d) / fileIt->first) << j.dump();
            try {
                inspectModel(d);
                Tokenizer::fromDirectory(d)->encode("In the beginning God created", true);
                ++loaded;
            } catch (const Error& e) {
                ++refused;
                const std::string m = e.what();
                QVERIFY2(m.find(".json") != std::string::npos,
                         qPrintable(QString("mutant %1 (%2: %3): message names no file: %4")
                                        .arg(it).arg(QString::fromStdString(fileIt->first))
                                        .arg(QString::fromStdString(key)).arg(QString::fromStdString(m))));
            } catch (const std::exception& e) {
                failures << QString("mutant %1 (%2: %3 = %4): %5 instead of a rudder::Error")
                                .arg(it).arg(QString::fromStdString(fileIt->first)).arg(QString::fromStdString(key))
                                .arg(QString::fromStdString((*target)[key].dump())).arg(e.what());
            }
        }
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
        qInfo("fuzz: %d mutants loaded, %d refused with a message", loaded, refused);
        QVERIFY(refused > 20 && loaded > 20);   // both outcomes exercised
    }

    // Issue 35 item 9: a header length one byte short still parses (the header ends in padding
    // spaces) but shifted every tensor by one byte, and the run went on with garbage weights.
    // Every byte of the data section must belong to exactly one tensor.
    void safetensorsBytesAreAllAccountedFor()
    {
        const fs::path demo = fs::path(RUDDER_TEST_DATA).parent_path() / "resources" / "models" / "demo-lm";
        std::string bytes;
        {
            std::ifstream in((demo / "model.safetensors").string(), std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | uint8_t(bytes[size_t(i)]);
        QVERIFY(bytes[8 + hlen - 1] == ' ');   // the premise: a padded header
        const std::string d = dir("st-exact");
        fs::create_directories(d);
        auto load = [&](const std::string& file) {
            std::ofstream(d + "/model.safetensors", std::ios::binary | std::ios::trunc) << file;
            return errorOf([&] { SafetensorsFile f(d + "/model.safetensors"); });
        };
        QCOMPARE(load(bytes), QString("NO EXCEPTION"));   // the negative control: the file as shipped loads
        std::string shorter = bytes;
        shorter[0] = char(uint8_t(bytes[0]) - 1);   // (the low byte is not 0 for this file)
        QVERIFY(uint8_t(bytes[0]) != 0);
        QString m = load(shorter);
        QVERIFY2(m.contains("model.safetensors") && m.contains("header length is wrong"), qPrintable(m));
        m = load(bytes + "x");
        QVERIFY2(m.contains("trailing bytes"), qPrintable(m));
        // A hole between two tensors: the first one declared a byte shorter at both ends.
        nlohmann::json h = nlohmann::json::parse(bytes.substr(8, hlen));
        std::string first;
        for (auto& [k, v] : h.items())
            if (k != "__metadata__" && v["data_offsets"][0] == 0) first = k;
        QVERIFY(!first.empty());
        h[first]["data_offsets"][0] = 1;
        h[first]["shape"] = nlohmann::json::array();   // keep dtype x shape consistent: 1 element
        h[first]["dtype"] = "U8";
        h[first]["data_offsets"][1] = 2;
        std::string hs = h.dump();
        hs.resize((hs.size() + 7) / 8 * 8, ' ');
        std::string file(8, '\0');
        for (int i = 0; i < 8; ++i) file[size_t(i)] = char((uint64_t(hs.size()) >> (8 * i)) & 0xff);
        m = load(file + hs + bytes.substr(8 + hlen));
        QVERIFY2(m.contains("unaccounted for"), qPrintable(m));
    }

    // The weights file: header-length, JSON, offsets, shapes, dtypes and truncation mutated; every
    // mutant either loads (a harmless change) or is refused with a rudder::Error naming the file.
    void fuzzedSafetensorsNeverCrash()
    {
        const fs::path demo = fs::path(RUDDER_TEST_DATA).parent_path() / "resources" / "models" / "demo-lm";
        const std::string d = dir("fuzz-st");
        fs::create_directories(d);
        for (const char* f : {"config.json", "tokenizer_config.json", "generation_config.json", "tokenizer.json"})
            fs::copy_file(demo / f, fs::path(d) / f, fs::copy_options::overwrite_existing);
        std::string bytes;
        {
            std::ifstream in((demo / "model.safetensors").string(), std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | uint8_t(bytes[size_t(i)]);
        const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, hlen));
        const std::string data = bytes.substr(8 + hlen);
        std::vector<std::string> names;
        for (auto& [k, v] : header.items())
            if (k != "__metadata__") names.push_back(k);
        auto assemble = [&](const std::string& h, const std::string& body) {
            std::string out(8, '\0');
            for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(h.size()) >> (8 * i)) & 0xff);
            return out + h + body;
        };
        const std::vector<nlohmann::json> odd = {nullptr, -1, 2147483648LL, 1e300, "x", nlohmann::json::array(),
                                                 nlohmann::json::array({0}), nlohmann::json::array({4611686018427387904LL, 4}),
                                                 nlohmann::json::array({1, 2, 3}), 18446744073709551615ULL, "F8", "I32"};
        std::mt19937_64 rng(23);
        int refused = 0, loaded = 0;
        QStringList failures;
        const int mutants = qEnvironmentVariableIsSet("RUDDER_FUZZ_MUTANTS") ? qEnvironmentVariableIntValue("RUDDER_FUZZ_MUTANTS") : 120;
        for (int it = 0; it < mutants; ++it) {
            std::string file, what;
            switch (it % 5) {
            case 0: {   // truncated anywhere
                const size_t cut = rng() % bytes.size();
                file = bytes.substr(0, cut);
                what = "truncated at " + std::to_string(cut);
                break;
            }
            case 1: {   // one byte of the header flipped
                std::string h = bytes.substr(8, hlen);
                const size_t at = rng() % h.size();
                h[at] = char(h[at] ^ (1 << (rng() % 8)));
                file = assemble(h, data);
                what = "header byte " + std::to_string(at) + " flipped";
                break;
            }
            case 2: {   // the header-length word itself
                file = bytes;
                const int at = int(rng() % 8);
                file[size_t(at)] = char(rng() % 256);
                what = "header length byte " + std::to_string(at);
                break;
            }
            default: {  // one field of one tensor entry
                nlohmann::json h = header;
                const std::string& n = names[rng() % names.size()];
                const char* fields[] = {"dtype", "shape", "data_offsets"};
                const std::string f = fields[rng() % 3];
                h[n][f] = odd[rng() % odd.size()];
                file = assemble(h.dump(), data);
                what = n + "." + f + " = " + h[n][f].dump();
                break;
            }
            }
            std::ofstream(fs::path(d) / "model.safetensors", std::ios::binary | std::ios::trunc) << file;
            try {
                loadCausalLM(d, "cpu", "fp32");
                ++loaded;
            } catch (const Error& e) {
                ++refused;
                if (std::string(e.what()).find("model.safetensors") == std::string::npos)
                    failures << QString("mutant %1 (%2): message names no file: %3").arg(it).arg(QString::fromStdString(what)).arg(e.what());
            } catch (const std::exception& e) {
                failures << QString("mutant %1 (%2): %3 instead of a rudder::Error").arg(it).arg(QString::fromStdString(what)).arg(e.what());
            }
        }
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("\n")));
        qInfo("safetensors fuzz: %d mutants loaded, %d refused with a message", loaded, refused);
        QVERIFY(refused > mutants / 2);
        // The wrap-around case by itself: [2^62, 4] F32 "holds" 0 bytes modulo 2^64.
        nlohmann::json h = header;
        h[names[0]]["shape"] = {4611686018427387904LL, 4};
        h[names[0]]["data_offsets"] = {0, 0};
        std::ofstream(fs::path(d) / "model.safetensors", std::ios::binary | std::ios::trunc) << assemble(h.dump(), data);
        try {
            loadCausalLM(d, "cpu", "fp32");
            QFAIL("a shape whose size wraps around 2^64 was accepted");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("2^64") != std::string::npos, e.what());
        }
    }

    // Parity with Hugging Face transformers: tests/reference/hf/<name>/ holds a tiny HF model
    // written by tests/reference/make_hf_fixtures.py and expected.safetensors (input_ids,
    // attention_mask, prelogits, logits or scores computed by transformers in fp32).  The checks
    // themselves live in the engine (rudder/parity.h) so `rudder-cli parity` runs them on a GPU box.
    void hfParityFixtures()
    {
        const std::vector<std::string> dirs = findHfFixtures((fs::path(RUDDER_TEST_DATA) / "reference" / "hf").string());
        if (dirs.empty())
            QFAIL("no parity fixtures under tests/reference/hf/ (they are committed: is the checkout complete?)");
        int checkedLMs = 0;
        for (const auto& d : dirs) {
            const ParityResult r = checkHfFixture(d, "cpu", "fp32");
            QStringList bad;
            for (const auto& c : r.checks)
                if (!c.pass()) bad << QString("%1: %2 > %3").arg(QString::fromStdString(c.what)).arg(c.relError).arg(c.tolerance);
            QVERIFY2(r.pass(), qPrintable(QString::fromStdString(r.fixture) + ": " + bad.join("; ")));
            qInfo("%s: max relative error %.1e over %d checks", r.fixture.c_str(), r.worst(), int(r.checks.size()));
            if (r.kind == "causal-lm") {
                QCOMPARE(int(r.checks.size()), 8);   // prefill x2, ragged, incremental, padded x4
                ++checkedLMs;
            }
        }
        // Every family the runtime supports has a fixture (a missing directory must not pass quietly).
        QVERIFY2(checkedLMs >= 8, qPrintable(QString("only %1 causal-LM fixtures").arg(checkedLMs)));
    }

    // bf16 against the same fp32 references: every check within the blanket bf16 tolerance, and the
    // prefill within twice transformers' own bf16 error (bf16_logits in the fixture).  Negative
    // control: Gemma 3 with a wrong local RoPE base (it moves the fp32 logits by 2.7e-2) fails the
    // second bound (2x transformers' 3.0e-3).
    void hfParityBf16()
    {
        const fs::path root = fs::path(RUDDER_TEST_DATA) / "reference" / "hf";
        int sharp = 0;
        for (const auto& d : findHfFixtures(root.string())) {
            const ParityResult r = checkHfFixture(d, "cpu", "bf16");
            QStringList bad;
            for (const auto& c : r.checks)
                if (!c.pass()) bad << QString("%1: %2 > %3").arg(QString::fromStdString(c.what)).arg(c.relError).arg(c.tolerance);
            QVERIFY2(r.pass(), qPrintable(QString::fromStdString(r.fixture) + ": " + bad.join("; ")));
            if (r.kind == "causal-lm") {
                QVERIFY2(r.referenceBf16Error > 0, qPrintable(QString::fromStdString(r.fixture) + " lacks bf16_logits"));
                QCOMPARE(int(r.checks.size()), 9);
                ++sharp;
            }
        }
        QVERIFY(sharp >= 8);
        const std::string broken = dir("bf16-gemma3-broken");
        fs::create_directories(broken);
        for (const auto& e : fs::directory_iterator(root / "gemma3")) fs::copy_file(e.path(), fs::path(broken) / e.path().filename());
        nlohmann::json cfg = readJsonFile((fs::path(broken) / "config.json").string());
        cfg["rope_local_base_freq"] = 1e6;
        std::ofstream(fs::path(broken) / "config.json", std::ios::trunc) << cfg.dump(2);
        const ParityResult r = checkHfFixture(broken, "cpu", "bf16");
        QVERIFY2(!r.pass(), "bf16: a wrong local RoPE base went unnoticed");
        const auto sharpCheck = std::find_if(r.checks.begin(), r.checks.end(), [](const ParityCheck& c) {
            return c.what.find("transformers' own bf16") != std::string::npos;
        });
        QVERIFY(sharpCheck != r.checks.end());
        QVERIFY2(!sharpCheck->pass(), qPrintable(QString("prefill %1 within %2").arg(sharpCheck->relError).arg(sharpCheck->tolerance)));
        qInfo("broken gemma3 in bf16: prefill %.1e against a bound of %.1e, worst check %.1e", sharpCheck->relError,
              sharpCheck->tolerance, r.worst());
    }

    // Transformers 5 saves RoPE as `rope_parameters` (per layer type for Gemma 3) instead of
    // rope_theta / rope_scaling / rope_local_base_freq.  The same fixtures rewritten in that form
    // must load to the same logits; a wrong local base in the new form must show (negative control).
    void transformers5RopeParameters()
    {
        const fs::path root = fs::path(RUDDER_TEST_DATA) / "reference" / "hf";
        auto rewrite = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
            static int serial = 0;
            const std::string d = dir("v5-" + name + "-" + std::to_string(serial++));
            fs::create_directories(d);
            for (const auto& e : fs::directory_iterator(root / name)) fs::copy_file(e.path(), fs::path(d) / e.path().filename());
            nlohmann::json cfg = readJsonFile((fs::path(d) / "config.json").string());
            edit(cfg);
            std::ofstream(fs::path(d) / "config.json", std::ios::trunc) << cfg.dump(2);
            return d;
        };
        const std::string llama3 = rewrite("llama3", [](nlohmann::json& c) {
            nlohmann::json rp = c["rope_scaling"];
            rp["rope_theta"] = c["rope_theta"];
            c["rope_parameters"] = rp;
            c.erase("rope_scaling");
            c.erase("rope_theta");
        });
        QVERIFY(checkHfFixture(llama3).pass());
        auto gemma3v5 = [](double localTheta) {
            return [localTheta](nlohmann::json& c) {
                nlohmann::json full = c["rope_scaling"];
                full["rope_theta"] = c["rope_theta"];
                c["rope_parameters"] = {{"full_attention", full},
                                        {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", localTheta}}}};
                for (const char* k : {"rope_scaling", "rope_theta", "rope_local_base_freq"}) c.erase(k);
            };
        };
        const double local = readJsonFile((root / "gemma3" / "config.json").string())["rope_local_base_freq"].get<double>();
        QVERIFY(checkHfFixture(rewrite("gemma3", gemma3v5(local))).pass());
        const ParityResult wrong = checkHfFixture(rewrite("gemma3", gemma3v5(local * 100)));
        QVERIFY2(!wrong.pass(), "a wrong local RoPE base in rope_parameters.sliding_attention went unnoticed");
    }
};

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
