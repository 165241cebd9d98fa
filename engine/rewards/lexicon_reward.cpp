// The built-in gold reward: mean AFINN-165 valence per word of the response.
//
// Words are maximal runs of letters, digits, apostrophes and hyphens (bytes >= 0x80 count as
// letters), lower-cased (ASCII), with leading/trailing apostrophes and hyphens stripped.  Each
// word position first tries the lexicon's multi-word phrases ("does not work"), longest first,
// then the single word; words not in the lexicon have valence 0.
//
//     gold(response) = (sum of matched valences) / (number of words),   0 for no words.
//
// Dividing by the word count keeps the score from rewarding length: padding a response with
// neutral words lowers it.  Negation is not handled ("not good" scores as "good" unless the
// lexicon lists the phrase), nor stemming ("God's" is looked up as "god's").
// The prompt is not scored: the demo reward model (resources/models/demo-rm) was trained to
// predict exactly this number for the continuation alone.
#include "rudder/error.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"
#include "rudder/paths.h"
#include "rudder/reward.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unordered_map>

namespace rudder {
namespace {

bool isWordByte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\''
        || c == '-' || c >= 0x80;
}

std::vector<std::string> words(const std::string& text)
{
    std::vector<std::string> out;
    size_t i = 0, n = text.size();
    while (i < n) {
        while (i < n && !isWordByte(static_cast<unsigned char>(text[i]))) ++i;
        size_t j = i;
        while (j < n && isWordByte(static_cast<unsigned char>(text[j]))) ++j;
        size_t a = i, b = j;
        while (a < b && (text[a] == '\'' || text[a] == '-')) ++a;
        while (b > a && (text[b - 1] == '\'' || text[b - 1] == '-')) --b;
        if (b > a) {
            std::string w = text.substr(a, b - a);
            for (char& c : w)
                if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            out.push_back(std::move(w));
        }
        i = j;
    }
    return out;
}

class LexiconReward : public RewardFunction {
public:
    explicit LexiconReward(const std::string& file)
    {
        const nlohmann::json j = readJsonFile(file, kCapSmallJson, "lexicon file");
        if (!j.is_object() || j.empty())
            throw Error(file, "", "expected a non-empty JSON object {\"word\": valence, ...}");
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (!it.value().is_number()) throw Error(file, it.key(), "valence must be a number");
            std::vector<std::string> parts = words(it.key());
            if (parts.empty()) throw Error(file, it.key(), "entry has no word in it");
            std::string key = parts[0];
            for (size_t k = 1; k < parts.size(); ++k) key += ' ' + parts[k];
            valence_[key] = it.value().get<double>();
            maxPhrase_ = std::max(maxPhrase_, parts.size());
        }
        std::string stem = std::filesystem::path(file).stem().string();
        name_ = "lexicon:" + stem;
    }

    std::vector<double> score(const std::string&, const std::vector<std::string>& responses) override
    {
        std::vector<double> out;
        out.reserve(responses.size());
        for (const auto& r : responses) out.push_back(scoreOne(r));
        return out;
    }

    std::string name() const override { return name_; }

private:
    double scoreOne(const std::string& text) const
    {
        std::vector<std::string> w = words(text);
        if (w.empty()) return 0.0;
        double sum = 0.0;
        for (size_t i = 0; i < w.size();) {
            size_t used = 1;
            for (size_t len = std::min(maxPhrase_, w.size() - i); len >= 1; --len) {
                std::string key = w[i];
                for (size_t k = 1; k < len; ++k) key += ' ' + w[i + k];
                auto it = valence_.find(key);
                if (it != valence_.end()) {
                    sum += it->second;
                    used = len;
                    break;
                }
            }
            i += used;
        }
        return sum / static_cast<double>(w.size());
    }

    std::unordered_map<std::string, double> valence_;
    size_t maxPhrase_ = 1;
    std::string name_;
};

} // namespace

std::unique_ptr<RewardFunction> makeLexiconReward(const std::string& lexiconFile)
{
    std::string file = lexiconFile;
    if (file.empty())
        file = (std::filesystem::path(resourcesDir()) / "lexicon" / "afinn-165.json").string();
    return std::make_unique<LexiconReward>(file);
}

} // namespace rudder
