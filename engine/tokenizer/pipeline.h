// Internals of rudder::Tokenizer, laid out like Hugging Face's `tokenizers` pipeline:
// added tokens -> normalizer -> pre-tokenizer -> model (BPE) -> post-processor, and
// ids -> tokens -> decoder chain.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "text.h"

namespace rudder::tok {

// Token ids are checked against this where they enter (vocab, added_tokens): tables are sized by
// the largest id, so an id of 2^31 would wrap negative or ask for gigabytes.  The largest
// vocabularies in use are ~262k (Gemma 3).
constexpr int64_t kMaxTokenId = int64_t(1) << 24;

// A piece of text on its way to the model.  atStart: it begins at offset 0 of the original
// input (Metaspace's prepend_scheme "first" looks at that).
struct Word {
    std::string text;
    bool atStart = false;
};

struct Normalizer {
    virtual ~Normalizer() = default;
    virtual void normalize(std::string& s) const = 0;
};

struct PreTokenizer {
    virtual ~PreTokenizer() = default;
    virtual void split(std::vector<Word>& words) const = 0;
};

struct Decoder {
    virtual ~Decoder() = default;
    virtual void decodeChain(std::vector<std::string>& tokens) const = 0;
};

// Where a component comes from, for error messages: file name and JSON path.
struct Origin {
    std::string file;
    std::string field;
    Origin at(const std::string& sub) const { return {file, field + "." + sub}; }
};

std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j, const Origin& o);
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j, const Origin& o);
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j, const Origin& o);

// Hash map from strings to ids, looked up by string_view without allocating.
class StringIdMap {
public:
    void reserve(size_t n);
    void set(std::string key, int32_t id);  // overwrites
    const int32_t* find(std::string_view key) const;
    size_t size() const { return keys_.size(); }
    template <class F> void forEach(F f) const
    {
        for (size_t i = 0; i < keys_.size(); ++i) f(keys_[i], ids_[i]);
    }

private:
    void grow();
    std::vector<std::string> keys_;
    std::vector<int32_t> ids_;
    std::vector<uint32_t> hashes_;
    std::vector<int32_t> slots_;  // index into keys_, -1 empty
    size_t mask_ = 0;
};

// model.vocab and model.merges, streamed out of tokenizer.json without building a DOM for them
// (a Gemma tokenizer holds 262k tokens and 515k merges).
struct RawModel {
    std::vector<std::pair<std::string, int64_t>> vocab;
    bool haveVocab = false;
    struct Merge {
        std::string a, b;
        bool ok = true;  // false: neither "a b" nor ["a", "b"]
    };
    std::vector<Merge> merges;
    bool haveMerges = false;
    std::string badVocabKey;  // first vocab entry whose id is not an integer
};

// Byte-pair encoding (models/bpe in Hugging Face's tokenizers).
class Bpe {
public:
    // model: the "model" object (vocab/merges may be in raw instead).
    void load(const nlohmann::json& model, RawModel& raw, const Origin& o);
    // Appends the ids of one pre-tokenized word.
    void tokenize(std::string_view word, std::vector<int32_t>& out) const;
    const StringIdMap& vocab() const { return vocab_; }
    const std::vector<std::string>& tokens() const { return idToToken_; }
    bool byteFallback() const { return byteFallback_; }

private:
    struct MergeSlot {
        uint64_t key;
        int32_t rank;
        int32_t newId;
    };
    const MergeSlot* findMerge(int32_t a, int32_t b) const;
    void addMerge(int32_t a, int32_t b, int32_t rank, int32_t newId);
    void mergeWord(std::string_view w, std::vector<int32_t>& out) const;

    StringIdMap vocab_;
    std::vector<std::string> idToToken_;
    std::vector<MergeSlot> merges_;  // open addressing, key 0 = empty
    size_t mergeMask_ = 0;
    size_t mergeCount_ = 0;
    std::optional<int32_t> unkId_;
    std::string prefix_, suffix_;  // continuing_subword_prefix, end_of_word_suffix
    bool fuseUnk_ = false, byteFallback_ = false, ignoreMerges_ = false;
    int32_t byteIds_[256];  // <0xNN> tokens, -1 if absent

    // Word cache, like the library's (words shorter than 256 bytes, bounded size).
    mutable std::mutex cacheMutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool singleWord = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// Finds added tokens in text, leftmost-longest (like aho-corasick's LeftmostLongest).
class AddedMatcher {
public:
    void add(const std::string& s, int32_t tokenIndex);
    bool empty() const { return nodes_.size() <= 1; }
    // Longest token starting at s[pos], or -1; len receives its byte length.
    int32_t longestAt(std::string_view s, size_t pos, size_t& len) const;
    bool canStart(unsigned char b) const { return first_[b]; }

private:
    struct Node {
        std::vector<std::pair<unsigned char, int32_t>> next;
        int32_t token = -1;
    };
    std::vector<Node> nodes_ = std::vector<Node>(1);
    bool first_[256] = {};
};

// A piece after splitting on added tokens: either text or a matched token id.
struct Piece {
    size_t begin = 0, end = 0;
    int32_t id = -1;
};

struct Pipeline {
    std::string path;
    nlohmann::json config = nlohmann::json::object();
    std::string kind;  // "byte-level BPE" | "sentencepiece BPE"

    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> preTokenizer;
    std::unique_ptr<Decoder> decoder;
    Bpe model;

    std::vector<AddedToken> added;
    StringIdMap addedIds;                 // content -> id
    std::vector<std::string> idToToken;   // model tokens overridden by added tokens
    std::vector<char> special;            // by id
    AddedMatcher rawMatcher, normMatcher; // normalized=false / normalized=true tokens

    std::vector<int32_t> prefixIds, suffixIds;  // added around a sequence when addSpecial
    std::optional<int32_t> bos, eos;

    void splitAdded(std::string_view s, const AddedMatcher& m, std::vector<Piece>& out) const;
    std::vector<int32_t> encode(const std::string& text, bool addSpecial) const;
    std::vector<std::string> tokenStrings(const std::vector<int32_t>& ids) const;
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecial) const;
};

std::unique_ptr<Pipeline> loadPipeline(const std::string& tokenizerJson, const std::string& configJson);

} // namespace rudder::tok
