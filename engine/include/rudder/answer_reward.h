// The accuracy gold (`--gold answer[:FIELD]`): 1 when a response's final answer is equivalent to
// its prompt's reference answer (rudder/grading.h), else 0.  Torch-free.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rudder/grading.h"
#include "rudder/reward.h"

namespace rudder {

// "answer" or "answer:FIELD" (default field "answer"); nullopt for any other gold spec.
std::optional<std::string> answerGoldField(const std::string& goldSpec);

// Scores by prompt text: `references` maps each prompt (as given to the method, before the
// template) to its reference.  A prompt without one is an error naming it.
std::shared_ptr<RewardFunction> makeAnswerReward(std::map<std::string, std::string> references, const std::string& field,
                                                 grading::Format format = grading::Format::Auto);

// How many responses an accuracy gold has graded so far and how many of them stated no answer
// (counted wrong); nullopt for any other reward.
struct AnswerCounts {
    int64_t graded = 0, noAnswer = 0;
};
std::optional<AnswerCounts> answerCounts(const RewardFunction& gold);

// A dataset's reference answers for the given (file, 0-based row) pairs, read from FIELD (a
// string, or a number written as one).  Throws UsageError naming the file, line and field.
std::vector<std::string> readReferences(const std::string& file, const std::vector<int64_t>& rows, const std::string& field);

// Each prompt's reference from its dataset line, keyed by prompt text (what makeAnswerReward
// takes).  A typed prompt (no file) or one prompt text with two references is a UsageError.
struct PromptSource {
    std::string text, file;
    std::optional<int64_t> row;
};
std::map<std::string, std::string> referencesFor(const std::vector<PromptSource>& prompts, const std::string& field);

} // namespace rudder
