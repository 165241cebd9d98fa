// The accuracy gold: a rule reward over the grader (README "Questions with a checkable answer").
#include "rudder/answer_reward.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "rudder/error.h"
#include "rudder/file_read.h"

namespace rudder {

std::optional<std::string> answerGoldField(const std::string& spec)
{
    if (spec == "answer") return std::string("answer");
    if (spec.rfind("answer:", 0) == 0 && spec.size() > 7) return spec.substr(7);
    return std::nullopt;
}

namespace {

class AnswerReward : public RewardFunction {
public:
    AnswerReward(std::map<std::string, std::string> refs, std::string field, grading::Format f)
        : refs_(std::move(refs)), field_(std::move(field)), format_(f)
    {
    }
    std::vector<double> score(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        const auto it = refs_.find(prompt);
        if (it == refs_.end())
            throw Error("gold answer", field_, "no reference answer for the prompt \"" + prompt.substr(0, 60) + "\"");
        std::vector<double> out;
        out.reserve(responses.size());
        for (const auto& r : responses) {
            const grading::Grade g = grading::grade(r, it->second, format_);
            out.push_back(g.correct ? 1.0 : 0.0);
            ++counts.graded;
            counts.noAnswer += !g.extracted;
        }
        return out;
    }
    std::string name() const override { return "answer:" + field_; }
    AnswerCounts counts;

private:
    std::map<std::string, std::string> refs_;
    std::string field_;
    grading::Format format_;
};

} // namespace

std::optional<AnswerCounts> answerCounts(const RewardFunction& gold)
{
    if (const auto* a = dynamic_cast<const AnswerReward*>(&gold)) return a->counts;
    return std::nullopt;
}

std::shared_ptr<RewardFunction> makeAnswerReward(std::map<std::string, std::string> references, const std::string& field,
                                                 grading::Format format)
{
    return std::make_shared<AnswerReward>(std::move(references), field, format);
}

std::vector<std::string> readReferences(const std::string& file, const std::vector<int64_t>& rows, const std::string& field)
{
    std::optional<LineReader> in;
    try {
        in.emplace(file, kCapDatasetLine, kCapDataset, "dataset");
    } catch (const Error& e) {
        throw UsageError(file, "--gold answer:" + field, std::string(e.what()) + " (the dataset the reference answers come from)");
    }
    const std::set<int64_t> wanted(rows.begin(), rows.end());
    std::map<int64_t, std::string> found;
    std::string line;
    auto next = [&] {
        try {
            return in->next(line);
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
    };
    for (int64_t row = 0; found.size() < wanted.size() && next(); ++row) {
        if (!wanted.count(row)) continue;
        const std::string where = "line " + std::to_string(row + 1);
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw UsageError(file, where, "not a JSON object");
        if (!j.contains(field))
            throw UsageError(file, where, "no \"" + field + "\" field (the reference answer --gold answer:" + field + " reads)");
        const auto& v = j[field];
        if (v.is_string()) found[row] = v.get<std::string>();
        else if (v.is_number()) found[row] = v.dump();
        else throw UsageError(file, where, "\"" + field + "\" is not a string or a number");
    }
    std::vector<std::string> out;
    for (int64_t r : rows) {
        const auto it = found.find(r);
        if (it == found.end()) throw UsageError(file, "line " + std::to_string(r + 1), "missing (the file changed?)");
        out.push_back(it->second);
    }
    return out;
}

std::map<std::string, std::string> referencesFor(const std::vector<PromptSource>& prompts, const std::string& field)
{
    std::map<std::string, std::vector<int64_t>> rowsByFile;
    for (const auto& p : prompts) {
        if (p.file.empty() || !p.row)
            throw UsageError("gold answer:" + field, "prompts",
                             "needs prompts from a dataset: the reference answers are a field of its lines");
        rowsByFile[p.file].push_back(*p.row);
    }
    std::map<std::string, std::string> refs;
    for (const auto& [file, rows] : rowsByFile) {
        const auto values = readReferences(file, rows, field);
        std::map<int64_t, std::string> byRow;
        for (size_t i = 0; i < rows.size(); ++i) byRow[rows[i]] = values[i];
        for (const auto& p : prompts) {
            if (p.file != file) continue;
            const std::string& ref = byRow[*p.row];
            auto [it, fresh] = refs.emplace(p.text, ref);
            // The gold is looked up by prompt text: one prompt, one reference.
            if (!fresh && it->second != ref)
                throw UsageError(file, "line " + std::to_string(*p.row + 1),
                                 "the same prompt appears with another reference answer (\"" + it->second + "\")");
        }
    }
    return refs;
}

} // namespace rudder
