// The BPE model: vocabulary, ranked merges, byte fallback and unknown-token handling, as
// Hugging Face's tokenizers (models/bpe/model.rs, word.rs) does it.
#include <algorithm>
#include <cstdio>
#include <queue>

#include "pipeline.h"
#include "rudder/error.h"

namespace rudder::tok {

namespace {

inline uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

inline uint32_t hashString(std::string_view s)
{
    // FNV-1a, 64-bit, folded: fast for the short keys vocabularies hold.
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return uint32_t(h ^ (h >> 32));
}

} // namespace

// ---- StringIdMap ----------------------------------------------------------------------------

void StringIdMap::reserve(size_t n)
{
    keys_.reserve(n);
    ids_.reserve(n);
    hashes_.reserve(n);
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    if (cap > slots_.size()) {
        slots_.assign(cap, -1);
        mask_ = cap - 1;
        for (size_t i = 0; i < keys_.size(); ++i) {
            size_t s = hashes_[i] & mask_;
            while (slots_[s] >= 0) s = (s + 1) & mask_;
            slots_[s] = int32_t(i);
        }
    }
}

void StringIdMap::grow() { reserve(std::max<size_t>(16, keys_.size() * 2)); }

void StringIdMap::set(std::string key, int32_t id)
{
    if ((keys_.size() + 1) * 2 > slots_.size()) grow();
    uint32_t h = hashString(key);
    size_t s = h & mask_;
    while (slots_[s] >= 0) {
        int32_t k = slots_[s];
        if (hashes_[k] == h && keys_[k] == key) {
            ids_[k] = id;
            return;
        }
        s = (s + 1) & mask_;
    }
    slots_[s] = int32_t(keys_.size());
    keys_.push_back(std::move(key));
    ids_.push_back(id);
    hashes_.push_back(h);
}

const int32_t* StringIdMap::find(std::string_view key) const
{
    if (slots_.empty()) return nullptr;
    uint32_t h = hashString(key);
    size_t s = h & mask_;
    while (slots_[s] >= 0) {
        int32_t k = slots_[s];
        if (hashes_[k] == h && keys_[k] == key) return &ids_[k];
        s = (s + 1) & mask_;
    }
    return nullptr;
}

// ---- AddedMatcher ---------------------------------------------------------------------------

void AddedMatcher::add(const std::string& s, int32_t tokenIndex)
{
    if (s.empty()) return;
    int32_t n = 0;
    for (unsigned char c : s) {
        auto& next = nodes_[size_t(n)].next;
        auto it = std::find_if(next.begin(), next.end(), [c](auto& p) { return p.first == c; });
        if (it != next.end()) {
            n = it->second;
        } else {
            int32_t m = int32_t(nodes_.size());
            next.emplace_back(c, m);
            nodes_.emplace_back();
            n = m;
        }
    }
    nodes_[size_t(n)].token = tokenIndex;  // a later duplicate wins, as in a hash map
    first_[static_cast<unsigned char>(s[0])] = true;
}

int32_t AddedMatcher::longestAt(std::string_view s, size_t pos, size_t& len) const
{
    int32_t n = 0, best = -1;
    for (size_t i = pos; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        const auto& next = nodes_[size_t(n)].next;
        int32_t m = -1;
        for (auto& p : next)
            if (p.first == c) { m = p.second; break; }
        if (m < 0) break;
        n = m;
        if (nodes_[size_t(n)].token >= 0) {
            best = nodes_[size_t(n)].token;
            len = i + 1 - pos;
        }
    }
    return best;
}

// ---- Bpe ------------------------------------------------------------------------------------

const Bpe::MergeSlot* Bpe::findMerge(int32_t a, int32_t b) const
{
    uint64_t key = ((uint64_t(uint32_t(a)) << 32) | uint32_t(b)) + 1;
    size_t s = mix(key) & mergeMask_;
    while (true) {
        const MergeSlot& m = merges_[s];
        if (m.key == key) return &m;
        if (m.key == 0) return nullptr;
        s = (s + 1) & mergeMask_;
    }
}

void Bpe::addMerge(int32_t a, int32_t b, int32_t rank, int32_t newId)
{
    uint64_t key = ((uint64_t(uint32_t(a)) << 32) | uint32_t(b)) + 1;
    size_t s = mix(key) & mergeMask_;
    while (merges_[s].key != 0 && merges_[s].key != key) s = (s + 1) & mergeMask_;
    if (merges_[s].key == 0) ++mergeCount_;
    merges_[s] = {key, rank, newId};  // later duplicates overwrite, like the library's HashMap
}

void Bpe::load(const nlohmann::json& m, RawModel& raw, const Origin& o)
{
    auto str = [&](const char* key) -> std::string {
        auto it = m.find(key);
        if (it == m.end() || it->is_null()) return {};
        if (!it->is_string()) throw Error(o.file, o.field + "." + key, "expected a string");
        return it->get<std::string>();
    };
    auto flag = [&](const char* key) {
        auto it = m.find(key);
        if (it == m.end() || it->is_null()) return false;
        if (!it->is_boolean()) throw Error(o.file, o.field + "." + key, "expected true or false");
        return it->get<bool>();
    };
    if (m.contains("dropout") && m["dropout"].is_number() && m["dropout"].get<double>() > 0.0)
        throw Error(o.file, o.field + ".dropout", "BPE dropout is not supported (inference only)");
    prefix_ = str("continuing_subword_prefix");
    suffix_ = str("end_of_word_suffix");
    fuseUnk_ = flag("fuse_unk");
    byteFallback_ = flag("byte_fallback");
    ignoreMerges_ = flag("ignore_merges");

    if (!raw.haveVocab) throw Error(o.file, o.field + ".vocab", "missing or not an object of token -> id");
    if (!raw.badVocabKey.empty())
        throw Error(o.file, o.field + ".vocab." + raw.badVocabKey, "id is not a non-negative integer");
    vocab_.reserve(raw.vocab.size());
    int32_t maxId = -1;
    for (auto& [key, id64] : raw.vocab) {
        if (id64 < 0 || id64 >= kMaxTokenId)
            throw Error(o.file, o.field + ".vocab." + key,
                        "id " + std::to_string(id64) + " is not a token id (0 ≤ id < " + std::to_string(kMaxTokenId) + ")");
        int32_t id = int32_t(id64);
        maxId = std::max(maxId, id);
        vocab_.set(std::move(key), id);
    }
    raw.vocab.clear();
    raw.vocab.shrink_to_fit();
    idToToken_.assign(size_t(maxId + 1), std::string());
    // Two tokens with one id: decode would show one of them for both (which one depends on hash
    // order), so the ids a user sees would not round-trip.
    std::vector<char> seen(size_t(maxId + 1), 0);
    std::string dupA, dupB;
    int32_t dupId = -1;
    vocab_.forEach([&](const std::string& k, int32_t id) {
        if (seen[size_t(id)] && dupId < 0) dupId = id, dupA = idToToken_[size_t(id)], dupB = k;
        seen[size_t(id)] = 1;
        idToToken_[size_t(id)] = k;
    });
    if (dupId >= 0)
        throw Error(o.file, o.field + ".vocab." + dupB, "has id " + std::to_string(dupId) + ", which \"" + dupA + "\" has too");

    std::string unk = str("unk_token");
    if (!unk.empty()) {
        if (auto* id = vocab_.find(unk)) unkId_ = *id;
        // Like the library, a missing unk token only fails when it is needed; we then skip.
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        auto* id = vocab_.find(name);
        byteIds_[b] = id ? *id : -1;
    }

    size_t n = raw.merges.size();
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    merges_.assign(cap, MergeSlot{0, 0, 0});
    mergeMask_ = cap - 1;
    std::string joined;
    for (size_t r = 0; r < n; ++r) {
        const auto& e = raw.merges[r];
        if (!e.ok)
            throw Error(o.file, o.field + ".merges[" + std::to_string(r) + "]",
                        "expected \"a b\" or [\"a\", \"b\"]");
        std::string_view a = e.a, b = e.b;
        auto* ia = vocab_.find(a);
        auto* ib = vocab_.find(b);
        if (!ia || !ib)
            throw Error(o.file, o.field + ".merges[" + std::to_string(r) + "]",
                        "token \"" + std::string(!ia ? a : b) + "\" is not in the vocabulary");
        joined.assign(a);
        std::string_view tail = b;
        if (!prefix_.empty() && tail.substr(0, prefix_.size()) == prefix_) tail.remove_prefix(prefix_.size());
        joined.append(tail);
        auto* in = vocab_.find(joined);
        if (!in)
            throw Error(o.file, o.field + ".merges[" + std::to_string(r) + "]",
                        "merged token \"" + joined + "\" is not in the vocabulary");
        addMerge(*ia, *ib, int32_t(r), *in);
    }
    raw.merges.clear();
    raw.merges.shrink_to_fit();
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& out) const
{
    if (word.empty()) return;
    if (ignoreMerges_) {
        if (auto* id = vocab_.find(word)) {
            out.push_back(*id);
            return;
        }
    }
    const bool cacheable = word.size() < 256;
    std::string key;
    if (cacheable) {
        key.assign(word);
        std::lock_guard<std::mutex> lock(cacheMutex_);
        auto it = cache_.find(key);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    size_t start = out.size();
    mergeWord(word, out);
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cacheMutex_);
        if (cache_.size() < 200000) cache_.emplace(std::move(key), std::vector<int32_t>(out.begin() + long(start), out.end()));
    }
}

void Bpe::mergeWord(std::string_view w, std::vector<int32_t>& out) const
{
    struct Symbol {
        int32_t id;
        int32_t prev, next;
        int32_t len;  // bytes; 0 = merged away
    };
    std::vector<Symbol> sym;
    sym.reserve(w.size());
    auto push = [&](int32_t id, int32_t len) {
        int32_t i = int32_t(sym.size());
        sym.push_back({id, i - 1, i + 1, len});
    };
    std::optional<std::pair<int32_t, int32_t>> unk;  // (id, byte length) waiting to be fused
    std::string s;
    for (size_t i = 0; i < w.size();) {
        size_t j = i;
        nextChar(w, j);
        std::string_view ch = w.substr(i, j - i);
        bool first = i == 0, last = j >= w.size();
        const bool affix = (!first && !prefix_.empty()) || (last && !suffix_.empty());
        if (affix) {
            s.clear();
            if (!first) s += prefix_;
            s.append(ch);
            if (last) s += suffix_;
        }
        std::string_view key = affix ? std::string_view(s) : ch;
        const int32_t* id = vocab_.find(key);
        int32_t blen = int32_t(ch.size());
        i = j;
        if (id) {
            if (unk) { push(unk->first, unk->second); unk.reset(); }
            push(*id, blen);
            continue;
        }
        if (byteFallback_) {
            bool all = true;
            for (unsigned char b : key) all = all && byteIds_[b] >= 0;
            if (all) {
                for (unsigned char b : key) push(byteIds_[b], 1);
                continue;  // a pending unk is not flushed here, as in the library
            }
        }
        if (unkId_) {
            if (unk && fuseUnk_) {
                unk->second += blen;
            } else {
                if (unk) push(unk->first, unk->second);
                unk = std::make_pair(*unkId_, blen);
            }
        }
    }
    if (unk) push(unk->first, unk->second);
    if (sym.empty()) return;
    sym.back().next = -1;

    // Merge the lowest-ranked adjacent pair first, leftmost on ties (word.rs merge_all).
    struct Cand {
        int32_t rank, pos, newId;
        bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::vector<Cand> heapStore;
    heapStore.reserve(sym.size());
    for (size_t i = 0; i + 1 < sym.size(); ++i)
        if (auto* m = findMerge(sym[i].id, sym[i + 1].id)) heapStore.push_back({m->rank, int32_t(i), m->newId});
    std::priority_queue<Cand> queue(std::less<Cand>(), std::move(heapStore));
    while (!queue.empty()) {
        Cand top = queue.top();
        queue.pop();
        Symbol& cur = sym[size_t(top.pos)];
        if (cur.len == 0 || cur.next < 0) continue;
        Symbol& right = sym[size_t(cur.next)];
        auto* m = findMerge(cur.id, right.id);
        if (!m || m->newId != top.newId) continue;  // stale entry
        cur.id = top.newId;
        cur.len += right.len;
        right.len = 0;
        cur.next = right.next;
        if (cur.next >= 0) sym[size_t(cur.next)].prev = top.pos;
        if (cur.prev >= 0) {
            if (auto* pm = findMerge(sym[size_t(cur.prev)].id, cur.id))
                queue.push({pm->rank, cur.prev, pm->newId});
        }
        if (cur.next >= 0) {
            if (auto* nm = findMerge(cur.id, sym[size_t(cur.next)].id))
                queue.push({nm->rank, top.pos, nm->newId});
        }
    }
    for (auto& x : sym)
        if (x.len != 0) out.push_back(x.id);
}

} // namespace rudder::tok
