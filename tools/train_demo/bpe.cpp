#include "bpe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <stdexcept>

namespace rudder::demo {
namespace {

bool isLetter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool isOther(unsigned char c) { return !isLetter(c) && !isDigit(c) && !isSpace(c); }

std::string utf8(uint32_t cp)
{
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

uint64_t pairKey(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }

} // namespace

std::vector<std::string> preTokenize(const std::string& t)
{
    std::vector<std::string> out;
    const size_t n = t.size();
    auto at = [&](size_t i) { return static_cast<unsigned char>(t[i]); };
    size_t i = 0;
    while (i < n) {
        // 's|'t|'re|'ve|'m|'ll|'d
        if (t[i] == '\'' && i + 1 < n) {
            static const char* kContractions[] = {"s", "t", "re", "ve", "m", "ll", "d"};
            size_t len = 0;
            for (const char* c : kContractions) {
                size_t l = std::char_traits<char>::length(c);
                if (t.compare(i + 1, l, c) == 0) { len = l + 1; break; }
            }
            if (len) { out.push_back(t.substr(i, len)); i += len; continue; }
        }
        // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
        size_t s = i + (t[i] == ' ' && i + 1 < n ? 1 : 0);
        bool (*cls)(unsigned char) = nullptr;
        if (isLetter(at(s))) cls = isLetter;
        else if (isDigit(at(s))) cls = isDigit;
        else if (isOther(at(s))) cls = isOther;
        if (cls) {
            size_t j = s;
            while (j < n && cls(at(j))) ++j;
            out.push_back(t.substr(i, j - i));
            i = j;
            continue;
        }
        // '\s+(?!\S)' then '\s+': a whitespace run leaves its last char to the next token
        size_t j = i;
        while (j < n && isSpace(at(j))) ++j;
        if (j < n && j - i > 1) --j;
        out.push_back(t.substr(i, j - i));
        i = j;
    }
    return out;
}

const std::vector<std::string>& byteToUnicode()
{
    static const std::vector<std::string> table = [] {
        std::vector<std::string> m(256);
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            m[b] = printable ? utf8(static_cast<uint32_t>(b)) : utf8(static_cast<uint32_t>(256 + extra++));
        }
        return m;
    }();
    return table;
}

ByteBPE ByteBPE::train(const std::vector<std::string>& texts, int64_t vocabSize)
{
    ByteBPE bpe;
    bpe.tokens_ = {bpe.sp_.bos, bpe.sp_.eos, bpe.sp_.pad};
    for (int b = 0; b < 256; ++b) bpe.tokens_.push_back(std::string(1, static_cast<char>(b)));
    for (size_t id = 3; id < bpe.tokens_.size(); ++id) bpe.ids_[bpe.tokens_[id]] = static_cast<int64_t>(id);

    // Distinct pre-tokens with their counts; std::map keeps the order (and the result) deterministic.
    std::map<std::string, int64_t> counts;
    for (const auto& t : texts)
        for (auto& w : preTokenize(t)) ++counts[w];
    std::vector<std::vector<int64_t>> words;
    std::vector<int64_t> freq;
    for (const auto& [w, c] : counts) {
        std::vector<int64_t> sym;
        for (unsigned char ch : w) sym.push_back(3 + ch);
        words.push_back(std::move(sym));
        freq.push_back(c);
    }

    // Pair counts and, per pair, the words that (may) contain it; updated incrementally.
    std::unordered_map<uint64_t, int64_t> pairCount;
    std::unordered_map<uint64_t, std::vector<int32_t>> where;
    for (size_t w = 0; w < words.size(); ++w)
        for (size_t k = 0; k + 1 < words[w].size(); ++k) {
            uint64_t key = pairKey(words[w][k], words[w][k + 1]);
            pairCount[key] += freq[w];
            where[key].push_back(static_cast<int32_t>(w));
        }

    while (static_cast<int64_t>(bpe.tokens_.size()) < vocabSize) {
        // Most frequent pair; ties broken by the byte strings so training is reproducible.
        uint64_t best = 0;
        int64_t bestCount = 0;
        for (const auto& [key, c] : pairCount) {
            if (c < bestCount || c <= 0) continue;
            if (c == bestCount) {
                auto sa = bpe.tokens_[key >> 32] + '\x01' + bpe.tokens_[key & 0xffffffffu];
                auto sb = bpe.tokens_[best >> 32] + '\x01' + bpe.tokens_[best & 0xffffffffu];
                if (sa >= sb) continue;
            }
            best = key;
            bestCount = c;
        }
        if (bestCount < 2) break;
        const int64_t a = static_cast<int64_t>(best >> 32), b = static_cast<int64_t>(best & 0xffffffffu);
        std::string merged = bpe.tokens_[a] + bpe.tokens_[b];
        int64_t id;
        if (auto it = bpe.ids_.find(merged); it != bpe.ids_.end()) {
            id = it->second;
        } else {
            id = static_cast<int64_t>(bpe.tokens_.size());
            bpe.tokens_.push_back(merged);
            bpe.ids_[merged] = id;
        }
        bpe.mergeRank_[best] = static_cast<int64_t>(bpe.merges_.size());
        bpe.merges_.push_back({a, b});

        std::vector<int32_t> affected = std::move(where[best]);
        where.erase(best);
        std::sort(affected.begin(), affected.end());
        affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
        for (int32_t w : affected) {
            auto& sym = words[w];
            bool has = false;
            for (size_t k = 0; k + 1 < sym.size(); ++k)
                if (sym[k] == a && sym[k + 1] == b) { has = true; break; }
            if (!has) continue;
            for (size_t k = 0; k + 1 < sym.size(); ++k) pairCount[pairKey(sym[k], sym[k + 1])] -= freq[w];
            std::vector<int64_t> next;
            for (size_t k = 0; k < sym.size();) {
                if (k + 1 < sym.size() && sym[k] == a && sym[k + 1] == b) { next.push_back(id); k += 2; }
                else next.push_back(sym[k++]);
            }
            sym = std::move(next);
            for (size_t k = 0; k + 1 < sym.size(); ++k) {
                uint64_t key = pairKey(sym[k], sym[k + 1]);
                pairCount[key] += freq[w];
                where[key].push_back(w);
            }
        }
        pairCount.erase(best);
    }
    return bpe;
}

std::vector<int64_t> ByteBPE::encodeWord(const std::string& word) const
{
    if (auto it = cache_.find(word); it != cache_.end()) return it->second;
    std::vector<int64_t> sym;
    for (unsigned char ch : word) sym.push_back(3 + ch);
    // Merge the lowest-ranked adjacent pair (leftmost on ties) until none is in the table:
    // the order HF's BPE model applies them in.
    while (sym.size() > 1) {
        int64_t bestRank = -1;
        size_t at = 0;
        for (size_t k = 0; k + 1 < sym.size(); ++k) {
            auto it = mergeRank_.find(pairKey(sym[k], sym[k + 1]));
            if (it != mergeRank_.end() && (bestRank < 0 || it->second < bestRank)) {
                bestRank = it->second;
                at = k;
            }
        }
        if (bestRank < 0) break;
        const std::string merged = tokens_[sym[at]] + tokens_[sym[at + 1]];
        sym[at] = ids_.at(merged);
        sym.erase(sym.begin() + static_cast<long>(at) + 1);
    }
    cache_[word] = sym;
    return sym;
}

std::vector<int64_t> ByteBPE::encode(const std::string& text) const
{
    std::vector<int64_t> ids;
    for (const auto& w : preTokenize(text)) {
        auto part = encodeWord(w);
        ids.insert(ids.end(), part.begin(), part.end());
    }
    return ids;
}

std::string ByteBPE::decode(const std::vector<int64_t>& ids) const
{
    std::string s;
    for (int64_t id : ids)
        if (id >= 3 && id < vocabSize()) s += tokens_[id];
    return s;
}

void ByteBPE::writeTokenizerJson(const std::string& path) const
{
    using nlohmann::ordered_json;
    const auto& b2u = byteToUnicode();
    auto visible = [&](const std::string& bytes) {
        std::string s;
        for (unsigned char c : bytes) s += b2u[c];
        return s;
    };
    ordered_json j;
    j["version"] = "1.0";
    j["truncation"] = nullptr;
    j["padding"] = nullptr;
    ordered_json added = ordered_json::array();
    for (int64_t id = 0; id < 3; ++id)
        added.push_back({{"id", id}, {"content", tokens_[id]}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    j["added_tokens"] = added;
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    ordered_json bos = {{"SpecialToken", {{"id", sp_.bos}, {"type_id", 0}}}};
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, bos, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{sp_.bos, {{"id", sp_.bos}, {"ids", {sp_.bos_id}}, {"tokens", {sp_.bos}}}}}}};
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    ordered_json vocab = ordered_json::object();
    for (int64_t id = 0; id < vocabSize(); ++id) vocab[id < 3 ? tokens_[id] : visible(tokens_[id])] = id;
    ordered_json merges = ordered_json::array();
    for (const auto& [a, b] : merges_) merges.push_back({visible(tokens_[a]), visible(tokens_[b])});
    j["model"] = {{"type", "BPE"},           {"dropout", nullptr},        {"unk_token", nullptr},
                  {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                  {"fuse_unk", false},       {"byte_fallback", false},   {"ignore_merges", false},
                  {"vocab", vocab},          {"merges", merges}};
    std::ofstream out(path);
    if (!out) throw std::runtime_error(path + ": cannot write");
    out << j.dump(1) << "\n";
}

} // namespace rudder::demo
