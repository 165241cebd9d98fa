// Byte-level BPE (GPT-2 style) for the demo tokenizer: training, encoding, and writing a
// Hugging Face tokenizer.json.  Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rudder::demo {

// GPT-2's pre-tokenizer regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// for ASCII text (bytes >= 0x80 are treated as letters).  This is what HF's ByteLevel
// pre-tokenizer with use_regex=true applies, so our training split equals the loader's.
std::vector<std::string> preTokenize(const std::string& text);

// GPT-2's bytes_to_unicode(): byte -> the UTF-8 string of its printable stand-in ('Ġ' for ' ').
const std::vector<std::string>& byteToUnicode();

struct SpecialTokens {
    std::string bos = "<|bos|>", eos = "<|eos|>", pad = "<|pad|>";
    int64_t bos_id = 0, eos_id = 1, pad_id = 2;
};

class ByteBPE {
public:
    // Learns merges until the vocabulary (3 specials + 256 bytes + merges) reaches vocabSize.
    static ByteBPE train(const std::vector<std::string>& texts, int64_t vocabSize);

    std::vector<int64_t> encode(const std::string& text) const;   // no specials added
    std::string decode(const std::vector<int64_t>& ids) const;    // specials skipped
    int64_t vocabSize() const { return static_cast<int64_t>(tokens_.size()); }
    const SpecialTokens& specials() const { return sp_; }

    // tokenizer.json (HF format: BPE model, ByteLevel pre-tokenizer/decoder, BOS template).
    void writeTokenizerJson(const std::string& path) const;

private:
    SpecialTokens sp_;
    std::vector<std::string> tokens_;                          // id -> byte string (raw bytes)
    std::unordered_map<std::string, int64_t> ids_;             // byte string -> id
    std::vector<std::pair<int64_t, int64_t>> merges_;          // rank -> (left, right)
    std::unordered_map<uint64_t, int64_t> mergeRank_;          // (left<<32|right) -> rank
    mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;

    std::vector<int64_t> encodeWord(const std::string& word) const;
};

} // namespace rudder::demo
