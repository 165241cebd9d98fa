// Tokenizer mechanics on small hand-written tokenizer.json files (the reference test compares
// real tokenizers with Hugging Face's implementation): BPE merge order, both merge formats,
// ignore_merges, byte fallback, added-token flags, BOS rules, invalid UTF-8, the streaming
// decoder, bad-input messages, and the prompt templates.
#include <QTemporaryDir>
#include <QtTest>

#include "byte_chars.h"

#include <fstream>

#include "rudder/error.h"
#include "rudder/templates.h"
#include "rudder/tokenizer.h"

using nlohmann::json;
using Ids = std::vector<int32_t>;

namespace {

using rudder::testing::byteChar;

// Byte-level BPE: ids 0..255 are the byte characters, then merged tokens.
json byteLevelJson(bool pairs = false)
{
    json vocab = json::object();
    for (int b = 0; b < 256; ++b) vocab[byteChar(b)] = b;
    const std::string G = byteChar(' ');  // "Ġ"
    vocab[G + "t"] = 256;
    vocab["he"] = 257;
    vocab[G + "the"] = 258;
    vocab["th"] = 259;
    json merges = json::array();
    auto merge = [&](const std::string& a, const std::string& b) {
        merges.push_back(pairs ? json::array({a, b}) : json(a + " " + b));
    };
    merge(G, "t");       // rank 0
    merge("h", "e");     // rank 1
    merge(G + "t", "he");// rank 2
    merge("t", "h");     // rank 3: loses to "h e" in "the"
    return {
        {"version", "1.0"},
        {"added_tokens", json::array({{{"id", 260}, {"content", "<|end|>"}, {"single_word", false}, {"lstrip", false},
                                       {"rstrip", false}, {"normalized", false}, {"special", true}}})},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"fuse_unk", false},
                   {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab}, {"merges", merges}}},
    };
}

// SentencePiece-style BPE with byte fallback (like Llama 2 / Mistral).
json sentencePieceJson()
{
    json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        vocab[name] = 3 + b;
    }
    int id = 259;
    for (const char* t : {"\xE2\x96\x81", "a", "b", "c", "\xE2\x96\x81" "a", "\xE2\x96\x81" "ab", "ab"}) vocab[t] = id++;
    json merges = {"\xE2\x96\x81 a", "\xE2\x96\x81" "a b", "a b"};
    auto added = [](int i, const char* c) {
        return json{{"id", i}, {"content", c}, {"single_word", false}, {"lstrip", false},
                    {"rstrip", false}, {"normalized", false}, {"special", true}};
    };
    return {
        {"version", "1.0"},
        {"added_tokens", json::array({added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")})},
        {"normalizer", {{"type", "Sequence"}, {"normalizers", json::array({
                            {{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                            {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}})}}},
        {"pre_tokenizer", nullptr},
        {"post_processor", {{"type", "TemplateProcessing"},
                            {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                            {"pair", json::array()},
                            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
        {"decoder", {{"type", "Sequence"}, {"decoders", json::array({
                         {{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                         {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
        {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"fuse_unk", true},
                   {"byte_fallback", true}, {"vocab", vocab}, {"merges", merges}}},
    };
}

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;

    std::string write(const std::string& name, const std::string& text)
    {
        std::string path = dir_.path().toStdString() + "/" + name;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    std::shared_ptr<rudder::Tokenizer> load(const json& tok, const json& cfg = nullptr)
    {
        static int n = 0;
        std::string t = write("tok" + std::to_string(++n) + ".json", tok.dump());
        std::string c = cfg.is_null() ? std::string() : write("cfg" + std::to_string(n) + ".json", cfg.dump());
        return rudder::Tokenizer::fromFiles(t, c);
    }
    static QString errorOf(const std::function<void()>& f)
    {
        try {
            f();
        } catch (const rudder::Error& e) {
            return QString::fromStdString(e.what());
        }
        return {};
    }

private Q_SLOTS:
    void mergesFollowRank()
    {
        auto tok = load(byteLevelJson());
        QCOMPARE(tok->type(), std::string("byte-level BPE"));
        // "the": (h,e) has rank 1 < (t,h) rank 3, so t + he; " the" merges fully to "Ġthe".
        QCOMPARE(tok->encode("the the", false), (Ids{'t', 257, 258}));
        QCOMPARE(tok->decode({'t', 257, 258}), std::string("the the"));
        QCOMPARE(tok->vocabSize(), 261);
    }

    void mergeFormatsAgree()
    {
        auto a = load(byteLevelJson(false)), b = load(byteLevelJson(true));
        for (const char* s : {"the the", " then th", "another the"}) QCOMPARE(a->encode(s), b->encode(s));
    }

    void ignoreMerges()
    {
        json j = byteLevelJson();
        j["model"]["vocab"]["xyz"] = 261;  // in the vocabulary, unreachable by merges
        QCOMPARE(load(j)->encode("xyz", false), (Ids{'x', 'y', 'z'}));
        j["model"]["ignore_merges"] = true;
        QCOMPARE(load(j)->encode("xyz", false), (Ids{261}));
    }

    void specialTokensInText()
    {
        auto tok = load(byteLevelJson());
        QCOMPARE(tok->encode("the<|end|>the", false), (Ids{'t', 257, 260, 't', 257}));
        QVERIFY(tok->isSpecial(260));
        QVERIFY(!tok->isSpecial('t'));
        QCOMPARE(tok->decode({'t', 257, 260}, false), std::string("the<|end|>"));
        QCOMPARE(tok->decode({'t', 257, 260}, true), std::string("the"));
        QCOMPARE(tok->tokenToId("<|end|>"), std::optional<int32_t>(260));
        QCOMPARE(tok->idToToken(258), byteChar(' ') + "the");
    }

    void addedTokenFlags()
    {
        json j = byteLevelJson();
        j["added_tokens"].push_back({{"id", 261}, {"content", "<m>"}, {"single_word", false}, {"lstrip", true},
                                     {"rstrip", true}, {"normalized", false}, {"special", false}});
        j["added_tokens"].push_back({{"id", 262}, {"content", "he"}, {"single_word", true}, {"lstrip", false},
                                     {"rstrip", false}, {"normalized", false}, {"special", false}});
        auto tok = load(j);
        // lstrip/rstrip swallow the spaces around <m>.
        QCOMPARE(tok->encode("a  <m>  b", false), (Ids{'a', 261, 'b'}));
        // single_word: "he" alone is the added token, inside "the" it is not.
        QCOMPARE(tok->encode("he", false), (Ids{262}));
        QCOMPARE(tok->encode("the", false), (Ids{'t', 257}));
    }

    void byteFallbackAndUnknown()
    {
        auto tok = load(sentencePieceJson());
        QCOMPARE(tok->type(), std::string("sentencepiece BPE"));
        // "ab c": ▁ab ▁ c; BOS from the TemplateProcessing post-processor.
        QCOMPARE(tok->encode("ab c", true), (Ids{1, 264, 259, 262}));
        // 'é' is not in the vocabulary: its two UTF-8 bytes as <0xC3><0xA9>.
        QCOMPARE(tok->encode("\xC3\xA9", false), (Ids{259, 3 + 0xC3, 3 + 0xA9}));
        QCOMPARE(tok->decode({259, 3 + 0xC3, 3 + 0xA9}), std::string("\xC3\xA9"));
        // Lone byte tokens that are not UTF-8 decode to one U+FFFD per byte token.
        QCOMPARE(tok->decode({3 + 0xC3, 260}), std::string("\xEF\xBF\xBD" "a"));
        QCOMPARE(tok->decode({3 + 0xE2, 3 + 0x82}), std::string("\xEF\xBF\xBD\xEF\xBF\xBD"));
    }

    void invalidUtf8IsReplaced()
    {
        auto tok = load(byteLevelJson());
        // Each maximal invalid subpart is one U+FFFD (Rust's from_utf8_lossy).
        QCOMPARE(tok->encode("a\xFF" "b", false), tok->encode("a\xEF\xBF\xBD" "b", false));
        QCOMPARE(tok->encode("\xF0\x9F\x98", false), tok->encode("\xEF\xBF\xBD", false));
        QCOMPARE(tok->encode("\xC0\x80", false), tok->encode("\xEF\xBF\xBD\xEF\xBF\xBD", false));
        QCOMPARE(tok->decode({0xC3}), std::string("\xEF\xBF\xBD"));
    }

    void bosFromConfig()
    {
        json j = byteLevelJson();
        j["added_tokens"].push_back({{"id", 261}, {"content", "<s>"}, {"single_word", false}, {"lstrip", false},
                                     {"rstrip", false}, {"normalized", false}, {"special", true}});
        QCOMPARE(load(j)->encode("he", true), (Ids{257}));
        auto tok = load(j, {{"add_bos_token", true}, {"bos_token", "<s>"}, {"eos_token", "<|end|>"}});
        QCOMPARE(tok->encode("he", true), (Ids{261, 257}));
        QCOMPARE(tok->encode("he", false), (Ids{257}));
        QCOMPARE(tok->bosId(), std::optional<int32_t>(261));
        QCOMPARE(tok->eosId(), std::optional<int32_t>(260));
        auto eos = load(j, {{"add_eos_token", true}, {"eos_token", {{"content", "<|end|>"}}}});
        QCOMPARE(eos->encode("he", true), (Ids{257, 260}));
        // add_bos_token: false removes the post-processor's BOS.
        QCOMPARE(load(sentencePieceJson(), {{"add_bos_token", false}})->encode("a", true), (Ids{263}));
    }

    void unicodeNormalizer()
    {
        json j = byteLevelJson();
        j["normalizer"] = {{"type", "NFC"}};
        auto tok = load(j);
        QCOMPARE(tok->encode("e\xCC\x81", false), tok->encode("\xC3\xA9", false));
        QCOMPARE(tok->encode("\xC3\xA9", false), (Ids{0xC3, 0xA9}));
    }

    void streamDecoderHoldsHalfCharacters()
    {
        std::shared_ptr<const rudder::Tokenizer> tok = load(sentencePieceJson());
        rudder::StreamDecoder s(tok);
        QCOMPARE(s.push(264), std::string("ab"));       // first token: leading space stripped
        QCOMPARE(s.push(3 + 0xC3), std::string());      // half of 'é' is held back
        QCOMPARE(s.push(3 + 0xA9), std::string("\xC3\xA9"));
        QCOMPARE(s.push(259), std::string(" "));
        QCOMPARE(s.push(262), std::string("c"));
        QCOMPARE(s.push(3 + 0xE2), std::string());
        QCOMPARE(s.flush(), std::string("\xEF\xBF\xBD"));  // a truncated character at the end
    }

    void streamDecoderMatchesDecode()
    {
        std::shared_ptr<const rudder::Tokenizer> tok = load(byteLevelJson());
        std::string text = "the \xF0\x9F\x98\x80 the\xC3\xA9 <|end|>th";
        Ids ids = tok->encode(text, false);
        for (bool skip : {false, true}) {
            rudder::StreamDecoder s(tok, skip);
            std::string out;
            for (int32_t id : ids) {
                std::string piece = s.push(id);
                QVERIFY(piece.find("\xEF\xBF\xBD") == std::string::npos);
                out += piece;
            }
            out += s.flush();
            QCOMPARE(out, tok->decode(ids, skip));
        }
        // A model that emits 40 lone 0xFF bytes: genuine U+FFFDs must come out eventually,
        // not be held back forever, and the whole text still equals decode().
        Ids garbage = ids;
        garbage.insert(garbage.end(), 40, 0xFF);
        Ids tail = tok->encode(" end", false);
        garbage.insert(garbage.end(), tail.begin(), tail.end());
        rudder::StreamDecoder s(tok);
        std::string out;
        size_t emittedBeforeTail = 0;
        for (size_t i = 0; i < garbage.size(); ++i) {
            out += s.push(garbage[i]);
            if (i + 1 == garbage.size() - tail.size()) emittedBeforeTail = out.size();
        }
        out += s.flush();
        QCOMPARE(out, tok->decode(garbage));
        QVERIFY(emittedBeforeTail >= tok->decode(ids).size() + 3 * 20);
    }

    void badInputNamesFileAndField()
    {
        json j = byteLevelJson();
        j["model"]["type"] = "Unigram";
        QString e = errorOf([&] { load(j); });
        QVERIFY2(e.contains("model.type") && e.contains("Unigram"), qPrintable(e));

        j = byteLevelJson();
        j["model"]["merges"][1] = "h zz";
        e = errorOf([&] { load(j); });
        QVERIFY2(e.contains("model.merges[1]") && e.contains("zz"), qPrintable(e));

        j = byteLevelJson();
        j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
        e = errorOf([&] { load(j); });
        QVERIFY2(e.contains("pre_tokenizer.type") && e.contains("BertPreTokenizer"), qPrintable(e));

        std::string broken = write("broken.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,");
        e = errorOf([&] { rudder::Tokenizer::fromFiles(broken); });
        QVERIFY2(e.contains("broken.json") && e.contains("JSON"), qPrintable(e));

        e = errorOf([&] { rudder::Tokenizer::fromDirectory(dir_.path().toStdString() + "/nowhere"); });
        QVERIFY2(e.contains("nowhere/tokenizer.json"), qPrintable(e));
    }

    void templatesRender()
    {
        QCOMPARE(rudder::renderPrompt("llama3", "Hi"),
                 std::string("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                             "<|start_header_id|>assistant<|end_header_id|>\n\n"));
        QCOMPARE(rudder::renderPrompt("chatml", "Hi", "Be brief."),
                 std::string("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                             "<|im_start|>assistant\n"));
        QCOMPARE(rudder::renderPrompt("gemma", "Hi"),
                 std::string("<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"));
        QCOMPARE(rudder::renderPrompt("mistral", "Hi"), std::string("[INST] Hi [/INST]"));
        QCOMPARE(rudder::renderPrompt("llama2", "Hi", "S"), std::string("[INST] <<SYS>>\nS\n<</SYS>>\n\nHi [/INST]"));
        QCOMPARE(rudder::renderPrompt("user-assistant", "Hi"), std::string("User: Hi\nAssistant:"));
        QCOMPARE(rudder::renderPrompt("hh", "Hi"), std::string("\n\nHuman: Hi\n\nAssistant:"));
        QCOMPARE(rudder::renderRewardInput("human-assistant", "Hi", "Hello."),
                 std::string("Human: Hi\nAssistant: Hello."));
        QCOMPARE(rudder::renderRewardInput("chatml", "Hi", "Yo"),
                 std::string("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n"));
        QCOMPARE(rudder::renderPrompt("raw", "Hi"), std::string("Hi"));
        bool threw = false;
        try {
            rudder::renderPrompt("jinja", "Hi");
        } catch (const rudder::UsageError& e) {
            threw = QString(e.what()).contains("jinja");
        }
        QVERIFY(threw);
        QCOMPARE(rudder::templateNames().size(), size_t(10));
    }

    void templatesDetected()
    {
        auto d = [](const std::string& t) { return rudder::detectTemplate(json{{"chat_template", t}}); };
        QCOMPARE(d("{{ '<|start_header_id|>' + role }}"), std::string("llama3"));
        QCOMPARE(d("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"), std::string("chatml"));
        QCOMPARE(d("{{ bos_token }}<start_of_turn>user"), std::string("gemma"));
        QCOMPARE(d("[INST] <<SYS>>\\n"), std::string("llama2"));
        QCOMPARE(d("{{ '[INST] ' + content + ' [/INST]' }}"), std::string("mistral"));
        QCOMPARE(d("{{ 'USER: ' + x + ' ASSISTANT:' }}"), std::string("vicuna"));
        QCOMPARE(rudder::detectTemplate(json::object()), std::string("raw"));
        QCOMPARE(rudder::detectTemplate(json{{"chat_template", json::array({{{"name", "default"},
                                                                            {"template", "<|im_start|>"}}})}}),
                 std::string("chatml"));
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
