// Loading tokenizer.json and running the encode/decode pipeline (tokenizer/mod.rs and
// added_vocabulary.rs in Hugging Face's tokenizers).
#include <algorithm>
#include <fstream>
#include <sstream>

#include "pipeline.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"
#include "rudder/error.h"
#include "rudder/tokenizer.h"

namespace rudder {
namespace tok {

using nlohmann::json;

namespace {

json parseJson(const std::string& path)
{
    return readJsonFile(path, kCapSmallJson, "tokenizer config");
}

// Builds the DOM of tokenizer.json except model.vocab and model.merges, which it streams into
// a RawModel (a DOM of them would cost more than the rest of loading together).
class TokenizerSax {
public:
    using Dom = nlohmann::detail::json_sax_dom_parser<json>;
    TokenizerSax(json& root, RawModel& raw, std::string file) : dom_(root), raw_(raw), file_(std::move(file)) {}

    bool null() { return value() ? dom_.null() : other(); }
    bool boolean(bool v) { return value() ? dom_.boolean(v) : other(); }
    bool number_integer(json::number_integer_t v) { return value() ? dom_.number_integer(v) : integer(v); }
    bool number_unsigned(json::number_unsigned_t v)
    {
        return value() ? dom_.number_unsigned(v) : integer(v > uint64_t(INT64_MAX) ? -1 : int64_t(v));
    }
    bool number_float(json::number_float_t v, const json::string_t& s) { return value() ? dom_.number_float(v, s) : other(); }
    bool binary(json::binary_t& v) { return value() ? dom_.binary(v) : other(); }
    bool string(json::string_t& v)
    {
        if (value()) return dom_.string(v);
        if (mode_ == Merges && level_ == 0) {
            RawModel::Merge m;
            size_t sp = v.find(' ');
            if (sp == std::string::npos) m.ok = false;
            else { m.a = v.substr(0, sp); m.b = v.substr(sp + 1); }
            raw_.merges.push_back(std::move(m));
        } else if (mode_ == Merges && level_ == 1) {
            parts_.push_back(std::move(v));
        } else {
            return other();
        }
        return true;
    }
    bool start_object(std::size_t n)
    {
        if (mode_ == None && pending_ == "vocab") {
            pending_.clear();
            mode_ = Vocab;
            level_ = 0;
            raw_.haveVocab = true;
            return dom_.null();
        }
        if (mode_ == None) return open(dom_.start_object(n));
        if (++level_ > kMaxJsonDepth) tooDeep();
        return other();
    }
    bool end_object()
    {
        if (mode_ == None) return close(dom_.end_object());
        if (mode_ == Vocab && level_ == 0) { mode_ = None; return true; }
        --level_;
        return true;
    }
    bool start_array(std::size_t n)
    {
        if (mode_ == None && pending_ == "merges") {
            pending_.clear();
            mode_ = Merges;
            level_ = 0;
            raw_.haveMerges = true;
            return dom_.null();
        }
        if (mode_ == None) return open(dom_.start_array(n));
        if (++level_ > kMaxJsonDepth) tooDeep();
        if (mode_ == Merges && level_ == 1) parts_.clear();
        return true;
    }
    bool end_array()
    {
        if (mode_ == None) return close(dom_.end_array());
        if (mode_ == Merges && level_ == 0) { mode_ = None; return true; }
        if (mode_ == Merges && level_ == 1) {
            RawModel::Merge m;
            if (parts_.size() == 2 && !badPair_) { m.a = std::move(parts_[0]); m.b = std::move(parts_[1]); }
            else m.ok = false;
            raw_.merges.push_back(std::move(m));
            badPair_ = false;
        }
        --level_;
        return true;
    }
    bool key(json::string_t& k)
    {
        if (mode_ == Vocab) {
            if (level_ == 0) key_ = k;
            return true;
        }
        if (mode_ != None) return true;
        pending_.clear();
        if (depth_ == 1) top_ = k;
        else if (depth_ == 2 && top_ == "model" && (k == "vocab" || k == "merges")) pending_ = k;
        return dom_.key(k);
    }
    bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e)
    {
        throw Error(file_, "", "not valid JSON at byte " + std::to_string(pos) + ": " + jsonErrorText(e));
    }

private:
    enum Mode { None, Vocab, Merges };
    // A scalar in normal mode goes to the DOM.
    bool value()
    {
        if (mode_ != None) return false;
        pending_.clear();
        return true;
    }
    bool open(bool ok)
    {
        if (++depth_ > kMaxJsonDepth) tooDeep();
        pending_.clear();
        return ok;
    }
    [[noreturn]] void tooDeep() const
    {
        throw Error(file_, "", "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    bool close(bool ok) { --depth_; return ok; }
    bool integer(int64_t v)
    {
        if (mode_ == Vocab && level_ == 0) {
            if (v < 0 && raw_.badVocabKey.empty()) raw_.badVocabKey = key_;
            raw_.vocab.emplace_back(std::move(key_), v);
            return true;
        }
        return other();
    }
    // Anything unexpected inside vocab/merges: remember it, report it while loading.
    bool other()
    {
        if (mode_ == Vocab && level_ == 0 && raw_.badVocabKey.empty()) raw_.badVocabKey = key_.empty() ? "?" : key_;
        if (mode_ == Merges && level_ == 0) {
            RawModel::Merge m;
            m.ok = false;
            raw_.merges.push_back(m);
        }
        if (mode_ == Merges && level_ == 1) badPair_ = true;
        return true;
    }

    Dom dom_;
    RawModel& raw_;
    std::string file_;
    Mode mode_ = None;
    int depth_ = 0, level_ = 0;
    std::string top_, pending_, key_;
    std::vector<std::string> parts_;
    bool badPair_ = false;
};

bool mentionsByteLevel(const json& j)
{
    if (j.is_object()) {
        auto t = j.find("type");
        if (t != j.end() && t->is_string() && *t == "ByteLevel") return true;
        for (auto& v : j) if (mentionsByteLevel(v)) return true;
    } else if (j.is_array()) {
        for (auto& v : j) if (mentionsByteLevel(v)) return true;
    }
    return false;
}

// bos_token / eos_token in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> configToken(const json& cfg, const char* key)
{
    auto it = cfg.find(key);
    if (it == cfg.end()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return std::nullopt;
}

bool isWordChar(uint32_t c) { return c == '_' || isAlphanumeric(c); }

// The ids a post-processor puts before and after a single sequence.
void postProcessor(const json& j, const Origin& o, std::vector<int32_t>& pre, std::vector<int32_t>& post)
{
    if (j.is_null()) return;
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
        throw Error(o.file, o.field + ".type", "missing");
    std::string type = j["type"];
    if (type == "ByteLevel") return;  // offsets only
    if (type == "Sequence") {
        if (!j.contains("processors") || !j["processors"].is_array())
            throw Error(o.file, o.field + ".processors", "expected an array");
        for (size_t i = 0; i < j["processors"].size(); ++i) {
            std::vector<int32_t> p, s;
            postProcessor(j["processors"][i], o.at("processors[" + std::to_string(i) + "]"), p, s);
            pre.insert(pre.begin(), p.begin(), p.end());
            post.insert(post.end(), s.begin(), s.end());
        }
        return;
    }
    if (type == "TemplateProcessing") {
        auto single = j.find("single");
        if (single == j.end() || !single->is_array()) throw Error(o.file, o.field + ".single", "expected an array");
        const json empty = json::object();
        const json& specials = j.contains("special_tokens") ? j["special_tokens"] : empty;
        bool seenA = false;
        for (size_t i = 0; i < single->size(); ++i) {
            const json& item = (*single)[i];
            std::string f = o.field + ".single[" + std::to_string(i) + "]";
            if (item.contains("Sequence")) {
                seenA = true;
                continue;
            }
            if (!item.contains("SpecialToken") || !item["SpecialToken"].contains("id"))
                throw Error(o.file, f, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
            std::string name = item["SpecialToken"]["id"].get<std::string>();
            if (!specials.contains(name) || !specials[name].contains("ids") || !specials[name]["ids"].is_array())
                throw Error(o.file, o.field + ".special_tokens", "\"" + name + "\" is not defined");
            for (auto& id : specials[name]["ids"]) (seenA ? post : pre).push_back(id.get<int32_t>());
        }
        return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        auto idOf = [&](const char* k) {
            if (!j.contains(k) || !j[k].is_array() || j[k].size() != 2 || !j[k][1].is_number_integer())
                throw Error(o.file, o.field + "." + k, "expected [token, id]");
            return j[k][1].get<int32_t>();
        };
        pre.push_back(idOf("cls"));
        post.push_back(idOf("sep"));
        return;
    }
    throw Error(o.file, o.field + ".type", "post-processor \"" + type + "\" is not supported");
}

} // namespace

std::unique_ptr<Pipeline> loadPipeline(const std::string& file, const std::string& configFile)
{
    auto p = std::make_unique<Pipeline>();
    p->path = file;
    if (!configFile.empty()) {
        p->config = parseJson(configFile);
        if (!p->config.is_object()) throw Error(configFile, "", "expected a JSON object");
        // Hugging Face's shapes: a string, or [{"name": ..., "template": ...}] (named templates).
        if (auto c = p->config.find("chat_template"); c != p->config.end() && !c->is_null() && !c->is_string()) {
            if (!c->is_array()) throw Error(configFile, "chat_template", "must be a string or a list of named templates");
            for (size_t i = 0; i < c->size(); ++i) {
                const json& e = (*c)[i];
                const std::string f = "chat_template[" + std::to_string(i) + "]";
                if (!e.is_object()) throw Error(configFile, f, "must be {\"name\": \"...\", \"template\": \"...\"}");
                for (const char* k : {"name", "template"})
                    if (!e.contains(k) || !e[k].is_string()) throw Error(configFile, f + "." + k, "must be a string");
            }
        }
    }
    json j;
    RawModel raw;
    {
        std::string text = readFileCapped(file, kCapTokenizer, "tokenizer");
        TokenizerSax sax(j, raw, file);
        json::sax_parse(text, &sax);
    }
    if (!j.is_object()) throw Error(file, "", "expected a JSON object");

    auto mit = j.find("model");
    if (mit == j.end() || !mit->is_object()) throw Error(file, "model", "missing");
    std::string mtype = mit->contains("type") && (*mit)["type"].is_string() ? (*mit)["type"].get<std::string>()
                        : mit->contains("merges")                           ? "BPE"
                                                                            : "";
    if (mtype != "BPE")
        throw Error(file, "model.type",
                    "\"" + mtype + "\" tokenizers are not supported (only BPE: byte-level or SentencePiece-style)");
    p->model.load(*mit, raw, {file, "model"});

    p->normalizer = makeNormalizer(j.value("normalizer", json()), {file, "normalizer"});
    p->preTokenizer = makePreTokenizer(j.value("pre_tokenizer", json()), {file, "pre_tokenizer"});
    p->decoder = makeDecoder(j.value("decoder", json()), {file, "decoder"});
    postProcessor(j.value("post_processor", json()), {file, "post_processor"}, p->prefixIds, p->suffixIds);
    p->kind = mentionsByteLevel(j.value("pre_tokenizer", json())) || mentionsByteLevel(j.value("decoder", json()))
                  ? "byte-level BPE"
                  : "sentencepiece BPE";

    // Added tokens: matched in raw text (normalized=false) or in normalized text.
    p->idToToken = p->model.tokens();
    auto ait = j.find("added_tokens");
    if (ait != j.end() && !ait->is_null()) {
        if (!ait->is_array()) throw Error(file, "added_tokens", "expected an array");
        for (size_t i = 0; i < ait->size(); ++i) {
            const json& a = (*ait)[i];
            std::string f = "added_tokens[" + std::to_string(i) + "]";
            if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
                !a["content"].is_string())
                throw Error(file, f, "expected {\"id\": n, \"content\": \"...\"}");
            // Unsigned ids above INT64_MAX read as negative through get<int64_t>(): both refused.
            const bool neg = a["id"].is_number_unsigned() ? false : a["id"].get<int64_t>() < 0;
            if (neg || a["id"].get<uint64_t>() >= uint64_t(kMaxTokenId))
                throw Error(file, f + ".id", a["id"].dump() + " is not a token id (0 ≤ id < " +
                                                 std::to_string(kMaxTokenId) + ")");
            AddedToken t;
            t.id = a["id"].get<int32_t>();
            t.content = a["content"].get<std::string>();
            auto flag = [&](const char* k, bool def) {
                auto it = a.find(k);
                return it != a.end() && it->is_boolean() ? it->get<bool>() : def;
            };
            t.special = flag("special", false);
            t.normalized = flag("normalized", !t.special);
            t.singleWord = flag("single_word", false);
            t.lstrip = flag("lstrip", false);
            t.rstrip = flag("rstrip", false);
            for (const auto& other : p->added)
                if (other.id == t.id && other.content != t.content)
                    throw Error(file, f + ".id", std::to_string(t.id) + " is also the id of added token \"" + other.content + "\"");
            p->added.push_back(t);
        }
    }
    int32_t maxId = int32_t(p->idToToken.size()) - 1;
    for (auto& t : p->added) maxId = std::max(maxId, t.id);
    p->idToToken.resize(size_t(maxId + 1));
    p->special.assign(size_t(maxId + 1), 0);
    p->addedIds.reserve(p->added.size());
    for (size_t i = 0; i < p->added.size(); ++i) {
        const auto& t = p->added[i];
        p->idToToken[size_t(t.id)] = t.content;
        p->special[size_t(t.id)] = t.special;
        p->addedIds.set(t.content, t.id);
        if (t.normalized) {
            std::string n = t.content;
            if (p->normalizer) p->normalizer->normalize(n);
            p->normMatcher.add(n, int32_t(i));
        } else {
            p->rawMatcher.add(t.content, int32_t(i));
        }
    }

    // BOS/EOS: tokenizer_config.json names them; add_bos_token/add_eos_token, when given,
    // replace the post-processor the way transformers' Llama/Gemma fast tokenizers do.
    auto lookup = [&](const std::string& s) -> std::optional<int32_t> {
        if (auto* id = p->addedIds.find(s)) return *id;
        if (auto* id = p->model.vocab().find(s)) return *id;
        return std::nullopt;
    };
    if (auto b = configToken(p->config, "bos_token")) p->bos = lookup(*b);
    if (auto e = configToken(p->config, "eos_token")) p->eos = lookup(*e);
    if (!p->bos && !p->prefixIds.empty()) p->bos = p->prefixIds.front();
    bool hasAddBos = p->config.contains("add_bos_token") && p->config["add_bos_token"].is_boolean();
    bool hasAddEos = p->config.contains("add_eos_token") && p->config["add_eos_token"].is_boolean();
    if (hasAddBos || hasAddEos) {
        bool addBos = hasAddBos ? p->config["add_bos_token"].get<bool>() : false;
        bool addEos = hasAddEos ? p->config["add_eos_token"].get<bool>() : false;
        if (!hasAddBos) addBos = !p->prefixIds.empty() && p->bos && p->prefixIds.front() == *p->bos;
        p->prefixIds.clear();
        p->suffixIds.clear();
        if (addBos && p->bos) p->prefixIds.push_back(*p->bos);
        if (addEos && p->eos) p->suffixIds.push_back(*p->eos);
    }
    return p;
}

// AddedVocabulary::find_matches: leftmost-longest matches, filtered by single_word, widened
// by lstrip/rstrip.
void Pipeline::splitAdded(std::string_view s, const AddedMatcher& m, std::vector<Piece>& out) const
{
    out.clear();
    size_t startOffset = 0;
    if (!m.empty()) {
        for (size_t pos = 0; pos < s.size();) {
            size_t len = 0;
            int32_t k = m.canStart(static_cast<unsigned char>(s[pos])) ? m.longestAt(s, pos, len) : -1;
            if (k < 0) {
                ++pos;
                continue;
            }
            const AddedToken& t = added[size_t(k)];
            size_t start = pos, stop = pos + len;
            pos = stop;
            if (t.singleWord) {
                bool wordBefore = false, wordAfter = false;
                if (start > 0) {
                    size_t b = start - 1;
                    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
                    size_t j = b;
                    wordBefore = isWordChar(nextChar(s, j));
                }
                if (stop < s.size()) {
                    size_t j = stop;
                    wordAfter = isWordChar(nextChar(s, j));
                }
                if (wordBefore || wordAfter) continue;
            }
            if (t.lstrip) {
                size_t a = start;
                while (a > 0) {
                    size_t b = a - 1;
                    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
                    size_t j = b;
                    if (!isWhitespace(nextChar(s, j))) break;
                    a = b;
                }
                start = std::max(a, startOffset);
            }
            if (t.rstrip) {
                while (stop < s.size()) {
                    size_t j = stop;
                    if (!isWhitespace(nextChar(s, j))) break;
                    stop = j;
                }
                pos = stop;
            }
            if (startOffset < start) out.push_back({startOffset, start, -1});
            out.push_back({start, stop, t.id});
            startOffset = stop;
        }
    }
    if (startOffset < s.size()) out.push_back({startOffset, s.size(), -1});
}

std::vector<int32_t> Pipeline::encode(const std::string& input, bool addSpecial) const
{
    const std::string text = lossyUtf8(input);
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    std::vector<Piece> raw, sub;
    std::vector<Word> words;
    splitAdded(text, rawMatcher, raw);
    for (const Piece& r : raw) {
        if (r.id >= 0) {
            ids.push_back(r.id);
            continue;
        }
        std::string s = text.substr(r.begin, r.end - r.begin);
        if (normalizer) normalizer->normalize(s);
        splitAdded(s, normMatcher, sub);
        for (const Piece& q : sub) {
            if (q.id >= 0) {
                ids.push_back(q.id);
                continue;
            }
            words.clear();
            words.push_back({s.substr(q.begin, q.end - q.begin), r.begin == 0 && q.begin == 0});
            if (preTokenizer) preTokenizer->split(words);
            for (const Word& w : words) model.tokenize(w.text, ids);
        }
    }
    if (addSpecial && (!prefixIds.empty() || !suffixIds.empty())) {
        ids.insert(ids.begin(), prefixIds.begin(), prefixIds.end());
        ids.insert(ids.end(), suffixIds.begin(), suffixIds.end());
    }
    return ids;
}

std::vector<std::string> Pipeline::tokenStrings(const std::vector<int32_t>& ids) const
{
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (int32_t id : ids)
        if (id >= 0 && size_t(id) < idToToken.size()) out.push_back(idToToken[size_t(id)]);
    return out;
}

std::string Pipeline::decode(const std::vector<int32_t>& ids, bool skipSpecial) const
{
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
        if (id < 0 || size_t(id) >= idToToken.size()) continue;
        if (skipSpecial && special[size_t(id)]) continue;
        const std::string& t = idToToken[size_t(id)];
        if (t.empty() && !model.vocab().find(t)) continue;  // a hole in the id space
        tokens.push_back(t);
    }
    std::string out;
    if (decoder) {
        decoder->decodeChain(tokens);
        for (auto& t : tokens) out += t;
    } else {
        for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    }
    return out;
}

} // namespace tok

// ---- public API -----------------------------------------------------------------------------

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::shared_ptr<Tokenizer> Tokenizer::fromFiles(const std::string& tokenizerJson, const std::string& configJson)
{
    std::shared_ptr<Tokenizer> t(new Tokenizer());
    t->p_ = tok::loadPipeline(tokenizerJson, configJson);
    return t;
}

std::shared_ptr<Tokenizer> Tokenizer::fromDirectory(const std::string& dir)
{
    std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
    std::string tj = base + "tokenizer.json", cj = base + "tokenizer_config.json";
    if (!std::ifstream(tj)) throw Error(tj, "", "missing (Rudder reads Hugging Face tokenizer.json files)");
    return fromFiles(tj, std::ifstream(cj) ? cj : std::string());
}

std::vector<int32_t> Tokenizer::encode(const std::string& text, bool addSpecial) const
{
    return p_->encode(text, addSpecial);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skipSpecial) const
{
    return p_->decode(ids, skipSpecial);
}

std::vector<std::string> Tokenizer::tokenize(const std::string& text) const
{
    return p_->tokenStrings(p_->encode(text, false));
}

int32_t Tokenizer::vocabSize() const { return int32_t(p_->idToToken.size()); }

std::optional<int32_t> Tokenizer::tokenToId(const std::string& token) const
{
    if (auto* id = p_->addedIds.find(token)) return *id;
    if (auto* id = p_->model.vocab().find(token)) return *id;
    return std::nullopt;
}

std::string Tokenizer::idToToken(int32_t id) const
{
    if (id < 0 || size_t(id) >= p_->idToToken.size()) return {};
    return p_->idToToken[size_t(id)];
}

std::optional<int32_t> Tokenizer::bosId() const { return p_->bos; }
std::optional<int32_t> Tokenizer::eosId() const { return p_->eos; }

bool Tokenizer::isSpecial(int32_t id) const
{
    return id >= 0 && size_t(id) < p_->special.size() && p_->special[size_t(id)];
}

std::string Tokenizer::type() const { return p_->kind; }
const nlohmann::json& Tokenizer::tokenizerConfig() const { return p_->config; }
const std::string& Tokenizer::path() const { return p_->path; }

// ---- StreamDecoder (tokenizers' DecodeStream::step) -----------------------------------------

StreamDecoder::StreamDecoder(std::shared_ptr<const Tokenizer> tok, bool skipSpecial)
    : tok_(std::move(tok)), skipSpecial_(skipSpecial) {}

void StreamDecoder::reset()
{
    ids_.clear();
    prefix_.clear();
    prefixIndex_ = 0;
}

// Bytes a freshly decoded text shares with what was already emitted: the rest is new.
static size_t commonPrefixLength(const std::string& a, const std::string& b)
{
    return static_cast<size_t>(std::mismatch(a.begin(), a.begin() + long(std::min(a.size(), b.size())), b.begin()).first - a.begin());
}

std::string StreamDecoder::push(int32_t id)
{
    ids_.push_back(id);
    std::string s = tok_->decode(ids_, skipSpecial_);
    static const std::string kRepl = "\xEF\xBF\xBD";
    // A trailing U+FFFD is (usually) a character still being completed: hold it back.  More
    // than 16 pending ids cannot be one character: the text itself holds U+FFFD.
    bool incomplete = s.size() >= 3 && s.compare(s.size() - 3, 3, kRepl) == 0 && ids_.size() - prefixIndex_ <= 16;
    if (s.size() <= prefix_.size() || incomplete) return {};
    std::string fresh = s.substr(commonPrefixLength(s, prefix_));
    // Keep the last emitted token as context: decoders such as Strip and Metaspace treat the
    // first token specially, so new text is always decoded after something.
    size_t newPrefixIndex = ids_.size() - prefixIndex_;
    ids_.erase(ids_.begin(), ids_.begin() + long(prefixIndex_));
    prefix_ = tok_->decode(ids_, skipSpecial_);
    prefixIndex_ = newPrefixIndex;
    return fresh;
}

std::string StreamDecoder::flush()
{
    std::string s = tok_->decode(ids_, skipSpecial_);
    std::string rest = s.size() > prefix_.size() ? s.substr(commonPrefixLength(s, prefix_)) : std::string();
    reset();
    return rest;
}

} // namespace rudder
