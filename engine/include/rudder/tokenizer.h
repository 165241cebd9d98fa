// Tokenizers loaded from a model's Hugging Face `tokenizer.json` (+ `tokenizer_config.json`).
// Ids and decoded text match Hugging Face's `tokenizers` library exactly (tested against it):
// byte-level BPE (GPT-2, Llama 3, Qwen) and SentencePiece-style BPE with byte fallback
// (Llama 2, Mistral, Gemma).  Torch-free; thread-safe for concurrent encode/decode.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rudder {

namespace tok { struct Pipeline; }

class Tokenizer {
public:
    // tokenizer.json (+ tokenizer_config.json if present).  Throws rudder::Error naming the
    // file and field on bad input, e.g. an unsupported `model.type` (Unigram, WordPiece).
    static std::shared_ptr<Tokenizer> fromDirectory(const std::string& dir);
    static std::shared_ptr<Tokenizer> fromFiles(const std::string& tokenizerJson,
                                                const std::string& tokenizerConfigJson = {});
    ~Tokenizer();

    // addSpecial: the post-processor's tokens (e.g. BOS).  `add_bos_token`/`add_eos_token` in
    // tokenizer_config.json, when present, decide instead.  Invalid UTF-8 is replaced by U+FFFD.
    std::vector<int32_t> encode(const std::string& text, bool addSpecial = true) const;
    // Unknown ids are skipped (as Hugging Face does).
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecial = true) const;

    int32_t vocabSize() const;  // including added tokens: largest id + 1
    std::optional<int32_t> tokenToId(const std::string& token) const;
    std::string idToToken(int32_t id) const;  // "" for an unknown id
    std::optional<int32_t> bosId() const;
    std::optional<int32_t> eosId() const;
    bool isSpecial(int32_t id) const;
    std::string type() const;  // "byte-level BPE" | "sentencepiece BPE"
    const nlohmann::json& tokenizerConfig() const;  // empty object if absent
    const std::string& path() const;                 // the tokenizer.json it came from

    // Token strings of encode(text, false), e.g. "Ġworld" (for inspection and tests).
    std::vector<std::string> tokenize(const std::string& text) const;

private:
    Tokenizer();
    std::unique_ptr<tok::Pipeline> p_;
};

// Incremental decoding for live text: push ids as they are sampled, get only newly completed
// text.  Never emits half a UTF-8 character; the concatenation of everything pushed and flushed
// equals decode() of all ids (Hugging Face's DecodeStream algorithm).
class StreamDecoder {
public:
    explicit StreamDecoder(std::shared_ptr<const Tokenizer> tok, bool skipSpecial = true);
    std::string push(int32_t id);  // newly completed text (may be empty)
    std::string flush();           // whatever is still held back (e.g. a truncated character)
    void reset();

private:
    std::shared_ptr<const Tokenizer> tok_;
    bool skipSpecial_;
    std::vector<int32_t> ids_;
    std::string prefix_;
    size_t prefixIndex_ = 0;
};

} // namespace rudder
