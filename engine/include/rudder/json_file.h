// Every JSON document Rudder reads from a user's files (config.json, tokenizer.json, datasets,
// sessions, safetensors headers) is parsed here: a syntax error or nesting deeper than
// kMaxJsonDepth becomes one rudder::Error naming the file (and field), never a crash.  The depth
// cap matters because consumers recurse (pre-tokenizer sequences, error messages that dump()).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace rudder {

constexpr int kMaxJsonDepth = 256;

// `file` and `field` only label the error.  Throws rudder::Error.
nlohmann::json parseJsonText(const std::string& text, const std::string& file, const std::string& field = "");
// Reads and parses a whole file.  Throws rudder::Error (unreadable, invalid, too deep).
nlohmann::json readJsonFile(const std::string& path);

} // namespace rudder
