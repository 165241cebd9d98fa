#include "rudder/templates.h"

#include "rudder/error.h"

namespace rudder {

namespace {

// Hugging Face templates apply Jinja's `trim` to message contents in several formats.
std::string trim(const std::string& s)
{
    const char* ws = " \t\n\r\f\v";
    size_t a = s.find_first_not_of(ws);
    if (a == std::string::npos) return {};
    size_t b = s.find_last_not_of(ws);
    return s.substr(a, b - a + 1);
}

const char* kVicunaSystem =
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the user's questions.";

void checkName(const std::string& t)
{
    for (auto& n : templateNames())
        if (n == t) return;
    std::string known;
    for (auto& n : templateNames()) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("template", "", "unknown template \"" + t + "\" (known: " + known + ")");
}

// Formats whose assistant turn follows "Assistant:" / "[/INST]" after a space.
bool spaceBeforeResponse(const std::string& t)
{
    return t == "llama2" || t == "mistral" || t == "vicuna" || t == "user-assistant" ||
           t == "human-assistant" || t == "hh";
}

} // namespace

std::vector<std::string> templateNames()
{
    return {"llama3", "llama2", "vicuna", "chatml", "gemma", "mistral",
            "user-assistant", "human-assistant", "hh", "raw"};
}

std::string detectTemplate(const nlohmann::json& cfg)
{
    std::string t;
    if (cfg.is_object() && cfg.contains("chat_template")) {
        const auto& c = cfg["chat_template"];
        if (c.is_string()) {
            t = c.get<std::string>();
        } else if (c.is_array()) {  // [{"name": "default", "template": "..."}, ...]
            for (const auto& e : c)
                if (e.is_object() && e.contains("name") && e["name"] == "default" && e.contains("template") &&
                    e["template"].is_string())
                    t = e["template"].get<std::string>();
        }
    }
    auto has = [&](const char* m) { return t.find(m) != std::string::npos; };
    if (has("<|start_header_id|>")) return "llama3";
    if (has("<|im_start|>")) return "chatml";
    if (has("<start_of_turn>")) return "gemma";
    if (has("[INST]")) return has("<<SYS>>") ? "llama2" : "mistral";
    if (has("USER:") && has("ASSISTANT:")) return "vicuna";
    if (has("Human:") && has("Assistant:")) return "human-assistant";
    return "raw";
}

std::string renderPrompt(const std::string& templ, const std::string& user, const std::string& system)
{
    checkName(templ);
    const std::string& t = templ;
    if (t == "llama3") {
        std::string s;
        if (!system.empty()) s += "<|start_header_id|>system<|end_header_id|>\n\n" + trim(system) + "<|eot_id|>";
        return s + "<|start_header_id|>user<|end_header_id|>\n\n" + trim(user) +
               "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    }
    if (t == "llama2") {
        std::string u = trim(user);
        if (!system.empty()) u = "<<SYS>>\n" + trim(system) + "\n<</SYS>>\n\n" + u;
        return "[INST] " + u + " [/INST]";
    }
    if (t == "mistral") {
        std::string u = trim(user);
        if (!system.empty()) u = trim(system) + "\n\n" + u;
        return "[INST] " + u + " [/INST]";
    }
    if (t == "vicuna")
        return (system.empty() ? std::string(kVicunaSystem) : system) + " USER: " + user + " ASSISTANT:";
    if (t == "chatml") {
        std::string s;
        if (!system.empty()) s += "<|im_start|>system\n" + system + "<|im_end|>\n";
        return s + "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
    }
    if (t == "gemma") {
        std::string u = system.empty() ? trim(user) : trim(system) + "\n\n" + trim(user);
        return "<start_of_turn>user\n" + u + "<end_of_turn>\n<start_of_turn>model\n";
    }
    std::string sys = system.empty() ? std::string() : system + "\n\n";
    if (t == "user-assistant") return sys + "User: " + user + "\nAssistant:";
    if (t == "human-assistant") return sys + "Human: " + user + "\nAssistant:";
    if (t == "hh") return sys + "\n\nHuman: " + user + "\n\nAssistant:";
    return sys + user;  // raw
}

std::string renderRewardInput(const std::string& templ, const std::string& prompt, const std::string& response)
{
    std::string p = renderPrompt(templ, prompt);
    if (spaceBeforeResponse(templ)) {
        bool lead = !response.empty() && (response[0] == ' ' || response[0] == '\n');
        return p + (lead ? "" : " ") + response;
    }
    if (templ == "llama3") return p + trim(response) + "<|eot_id|>";
    if (templ == "chatml") return p + response + "<|im_end|>\n";
    if (templ == "gemma") return p + trim(response) + "<end_of_turn>\n";
    return p + response;  // raw
}

} // namespace rudder
