// The embedded demo assets: the AFINN-165 lexicon (gold) reward on hand-made sentences, and
// that resources/models/demo-lm and demo-rm are well-formed Hugging Face directories whose
// safetensors headers agree with their config.json.  Torch-free: the files are read directly.
#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "rudder/error.h"
#include "rudder/paths.h"
#include "rudder/reward.h"

using namespace rudder;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json readJson(const fs::path& p)
{
    std::ifstream in(p);
    if (!in) throw std::runtime_error(p.string() + ": missing");
    return json::parse(in);
}

// Checks a model.safetensors against its config.json the way the spec and HF's Llama layout
// require.  Returns "" when valid, else what is wrong.
std::string checkSafetensors(const fs::path& file, const json& cfg, bool rewardModel)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) return "cannot open " + file.string();
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < 8) return "shorter than 8 bytes";
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    if (8 + n > bytes.size()) return "header length past the end of the file";
    json h;
    try {
        h = json::parse(std::string(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n)));
    } catch (const std::exception& e) {
        return std::string("header is not JSON: ") + e.what();
    }
    const int64_t H = cfg.at("hidden_size"), V = cfg.at("vocab_size"), I = cfg.at("intermediate_size");
    const int64_t L = cfg.at("num_hidden_layers"), nh = cfg.at("num_attention_heads");
    const int64_t nkv = cfg.at("num_key_value_heads");
    const int64_t hd = cfg.value("head_dim", H / nh);
    std::map<std::string, std::vector<int64_t>> want = {{"model.embed_tokens.weight", {V, H}},
                                                        {"model.norm.weight", {H}}};
    if (rewardModel) want["score.weight"] = {cfg.value("num_labels", 1), H};
    else if (!cfg.value("tie_word_embeddings", false)) want["lm_head.weight"] = {V, H};
    for (int64_t l = 0; l < L; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        want[p + "input_layernorm.weight"] = {H};
        want[p + "post_attention_layernorm.weight"] = {H};
        want[p + "self_attn.q_proj.weight"] = {nh * hd, H};
        want[p + "self_attn.k_proj.weight"] = {nkv * hd, H};
        want[p + "self_attn.v_proj.weight"] = {nkv * hd, H};
        want[p + "self_attn.o_proj.weight"] = {H, nh * hd};
        want[p + "mlp.gate_proj.weight"] = {I, H};
        want[p + "mlp.up_proj.weight"] = {I, H};
        want[p + "mlp.down_proj.weight"] = {H, I};
    }
    // Offsets must tile the data area exactly: sorted by start, each starts where the last ended.
    std::vector<std::pair<int64_t, int64_t>> spans;
    const uint64_t dataSize = bytes.size() - 8 - n;
    const unsigned char* data = bytes.data() + 8 + n;
    for (auto it = h.begin(); it != h.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        auto w = want.find(it.key());
        if (w == want.end()) return "unexpected tensor " + it.key();
        const std::string dtype = it.value().at("dtype");
        if (dtype != "BF16" && dtype != "F16") return it.key() + ": dtype " + dtype + " (want BF16 or F16)";
        auto shape = it.value().at("shape").get<std::vector<int64_t>>();
        if (shape != w->second) return it.key() + ": shape disagrees with config.json";
        auto off = it.value().at("data_offsets").get<std::vector<int64_t>>();
        int64_t numel = 1;
        for (auto d : shape) numel *= d;
        if (off.size() != 2 || off[1] - off[0] != numel * 2) return it.key() + ": data_offsets do not match the shape";
        if (off[1] > static_cast<int64_t>(dataSize)) return it.key() + ": data past the end of the file";
        // Every value finite (bf16: top half of a float; f16: exponent bits all ones = inf/nan).
        for (int64_t i = 0; i < numel; ++i) {
            uint16_t v;
            std::memcpy(&v, data + off[0] + 2 * i, 2);
            bool bad = dtype == "BF16" ? ((v & 0x7F80) == 0x7F80) : ((v & 0x7C00) == 0x7C00);
            if (bad) return it.key() + ": non-finite value";
        }
        spans.push_back({off[0], off[1]});
        want.erase(w);
    }
    if (!want.empty()) return "missing tensor " + want.begin()->first;
    std::sort(spans.begin(), spans.end());
    int64_t at = 0;
    for (auto [a, b] : spans) {
        if (a != at) return "data_offsets leave a gap or overlap";
        at = b;
    }
    if (at != static_cast<int64_t>(dataSize)) return "data area size differs from the tensors' total";
    return "";
}

std::string checkConfig(const json& c, bool rewardModel)
{
    for (const char* k : {"architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "num_key_value_heads", "vocab_size", "rms_norm_eps", "rope_theta",
                          "max_position_embeddings", "bos_token_id", "eos_token_id", "pad_token_id"})
        if (!c.contains(k)) return std::string("missing ") + k;
    const std::string arch = c["architectures"][0];
    if (arch != (rewardModel ? "LlamaForSequenceClassification" : "LlamaForCausalLM")) return "architecture " + arch;
    if (c["model_type"] != "llama") return "model_type";
    if (!(c["num_key_value_heads"].get<int>() < c["num_attention_heads"].get<int>())) return "GQA is off";
    if (c["num_attention_heads"].get<int>() % c["num_key_value_heads"].get<int>() != 0) return "heads % kv heads";
    if (c["pad_token_id"] == c["eos_token_id"]) return "pad equals eos";
    for (const char* k : {"bos_token_id", "eos_token_id", "pad_token_id"})
        if (c[k].get<int64_t>() < 0 || c[k].get<int64_t>() >= c["vocab_size"].get<int64_t>()) return k;
    if (rewardModel && c.value("num_labels", 0) != 1) return "num_labels must be 1";
    return "";
}

} // namespace

class TestDemo : public QObject {
    Q_OBJECT
private slots:
    // AFINN-165: good +3, bad -3, love +3, hate -3, happy +3, evil -3, god +1, "does not work" -3,
    // "not good" -2 (a listed phrase).  Score = sum of valences / number of words.
    void lexiconScoresHandMadeSentences()
    {
        auto r = makeLexiconReward();
        QCOMPARE(QString::fromStdString(r->name()), QString("lexicon:afinn-165"));
        QCOMPARE(r->flopsPerToken(), 0.0);
        auto s = r->score("ignored prompt", {"It is good.", "love and hate", "", "...", "GOOD", "Bad, bad, BAD!",
                                             "evil men of the city", "It does not work", "not happy",
                                             "not good", "God is love"});
        QCOMPARE(s.size(), size_t(11));
        QCOMPARE(s[0], 1.0);              // 3 / 3 words
        QCOMPARE(s[1], 0.0);              // (3 - 3) / 3
        QCOMPARE(s[2], 0.0);              // no words
        QCOMPARE(s[3], 0.0);
        QCOMPARE(s[4], 3.0);              // case-insensitive
        QCOMPARE(s[5], -3.0);             // punctuation splits words
        QCOMPARE(s[6], -3.0 / 5.0);
        QCOMPARE(s[7], -3.0 / 4.0);       // the phrase, not "work" alone
        QCOMPARE(s[8], 3.0 / 2.0);        // negation is NOT handled (documented)
        QCOMPARE(s[9], -2.0 / 2.0);       // ... unless the lexicon lists the phrase
        QCOMPARE(s[10], (1.0 + 3.0) / 3.0);
    }

    void lexiconDoesNotRewardLength()
    {
        auto r = makeLexiconReward();
        auto s = r->score("", {"good", "good and the", "good and the people of the land"});
        QVERIFY(s[0] > s[1] && s[1] > s[2]);
        // Repeating a sentence leaves the score unchanged.
        auto t = r->score("", {"The joy of the LORD.", "The joy of the LORD. The joy of the LORD."});
        QCOMPARE(t[0], t[1]);
        QVERIFY(t[0] > 0);
    }

    void lexiconBadFilesNameTheFile()
    {
        QTemporaryDir dir;
        const std::string missing = (fs::path(dir.path().toStdString()) / "none.json").string();
        try {
            makeLexiconReward(missing);
            QFAIL("no exception for a missing file");
        } catch (const Error& e) {
            QVERIFY(QString(e.what()).contains("none.json"));
        }
        auto write = [&](const char* name, const char* text) {
            std::string p = (fs::path(dir.path().toStdString()) / name).string();
            std::ofstream(p) << text;
            return p;
        };
        try {
            makeLexiconReward(write("broken.json", "{\"good\": 3,"));
            QFAIL("no exception for malformed JSON");
        } catch (const Error& e) {
            QVERIFY(QString(e.what()).contains("broken.json"));
        }
        try {
            makeLexiconReward(write("typed.json", "{\"good\": 3, \"bad\": \"minus three\"}"));
            QFAIL("no exception for a non-number valence");
        } catch (const Error& e) {
            QVERIFY(QString(e.what()).contains("typed.json: bad"));
        }
        auto own = makeLexiconReward(write("mine.json", "{\"amen\": 2}"));
        QCOMPARE(QString::fromStdString(own->name()), QString("lexicon:mine"));
        QCOMPARE(own->score("", {"Amen amen"})[0], 2.0);
    }

    void demoDirectoriesAreHuggingFaceFormat()
    {
        for (bool rm : {false, true}) {
            const fs::path dir = rm ? demoRewardDir() : demoModelDir();
            for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                                  "generation_config.json"})
                QVERIFY2(fs::exists(dir / f), (dir / f).string().c_str());
            const json cfg = readJson(dir / "config.json");
            const std::string bad = checkConfig(cfg, rm);
            QVERIFY2(bad.empty(), (dir.string() + ": " + bad).c_str());
            const std::string st = checkSafetensors(dir / "model.safetensors", cfg, rm);
            QVERIFY2(st.empty(), (dir.string() + ": " + st).c_str());

            const json tok = readJson(dir / "tokenizer.json");
            QCOMPARE(tok["model"]["type"].get<std::string>(), std::string("BPE"));
            QCOMPARE(tok["pre_tokenizer"]["type"].get<std::string>(), std::string("ByteLevel"));
            QCOMPARE(tok["decoder"]["type"].get<std::string>(), std::string("ByteLevel"));
            QCOMPARE(tok["model"]["vocab"].size(), cfg["vocab_size"].get<size_t>());
            QVERIFY(tok["model"]["merges"].size() > 1000);
            const json tc = readJson(dir / "tokenizer_config.json");
            for (auto [key, id] : {std::pair{"bos_token", "bos_token_id"}, {"eos_token", "eos_token_id"},
                                   {"pad_token", "pad_token_id"}}) {
                const std::string token = tc.at(key);
                QCOMPARE(tok["model"]["vocab"].at(token).get<int64_t>(), cfg[id].get<int64_t>());
                bool listed = false;
                for (const auto& a : tok["added_tokens"])
                    listed |= a["content"] == token && a["id"] == cfg[id] && a["special"] == true;
                QVERIFY2(listed, key);
            }
        }
        // The pair shares one tokenizer (the RM scores the LM's tokens).
        QCOMPARE(readJson(fs::path(demoModelDir()) / "tokenizer.json"), readJson(fs::path(demoRewardDir()) / "tokenizer.json"));
    }

    // Negative control for the checker above: a corrupted header must be caught.
    void safetensorsCheckerRejectsCorruption()
    {
        const fs::path src = fs::path(demoModelDir()) / "model.safetensors";
        const json cfg = readJson(fs::path(demoModelDir()) / "config.json");
        std::ifstream in(src, std::ios::binary);
        std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        uint64_t n = 0;
        for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
        std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
        QTemporaryDir dir;
        auto variant = [&](const std::string& from, const std::string& to) {
            std::string h = header;
            auto pos = h.find(from);
            if (pos == std::string::npos) return std::string("pattern not found: ") + from;
            h.replace(pos, from.size(), to);
            const fs::path p = fs::path(dir.path().toStdString()) / "bad.safetensors";
            std::ofstream out(p, std::ios::binary);
            uint64_t m = h.size();
            for (int i = 0; i < 8; ++i) out.put(static_cast<char>(m >> (8 * i)));
            out << h;
            out.write(bytes.data() + 8 + n, static_cast<std::streamsize>(bytes.size() - 8 - n));
            out.close();
            return checkSafetensors(p, cfg, false);
        };
        QVERIFY(variant("\"", "\"").empty());   // unchanged copy passes
        QVERIFY(!variant("\"BF16\"", "\"F32\"").empty());
        QVERIFY(!variant("model.norm.weight", "model.norm.weights").empty());
        QVERIFY(!variant("[" + std::to_string(cfg["vocab_size"].get<int64_t>()),
                         "[" + std::to_string(cfg["vocab_size"].get<int64_t>() + 1)).empty());
    }
};

QTEST_GUILESS_MAIN(TestDemo)
#include "test_demo.moc"
