// Named prompt and reward-model templates.  Full Jinja is not available as a Debian C++
// library, so each common chat format is written out here and recognised from
// tokenizer_config.json's `chat_template` by its distinctive markers.
//
// Rendered text never contains the BOS token: encode it with Tokenizer::encode(text, true)
// so that the tokenizer adds BOS exactly when the model expects it.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rudder {

// "llama3", "llama2", "vicuna", "chatml", "gemma", "mistral", "user-assistant" (User: …
// Assistant:, AISP's setup), "human-assistant" (Human: … Assistant:, UltraRM), "hh"
// (\n\nHuman: … \n\nAssistant:, HH-RLHF), "raw" (the text as it is).
std::vector<std::string> templateNames();
// The template a chat_template matches; "raw" if nothing matches.
std::string detectTemplate(const nlohmann::json& tokenizerConfig);
// (system?, user) -> text ending with the assistant prefix.  Throws rudder::UsageError for an
// unknown template name.
std::string renderPrompt(const std::string& templ, const std::string& user, const std::string& system = {});
// What a reward model of this format scores: the conversation with the response as the
// assistant's finished turn.
std::string renderRewardInput(const std::string& templ, const std::string& prompt, const std::string& response);

} // namespace rudder
