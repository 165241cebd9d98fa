// Every JSON document Rudder reads from a user's files (config.json, tokenizer.json, datasets,
// sessions, safetensors headers) is parsed here: a syntax error or nesting deeper than
// kMaxJsonDepth becomes one rudder::Error naming the file (and field), never a crash.  The depth
// cap matters because consumers recurse (pre-tokenizer sequences, error messages that dump()).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace rudder {

constexpr int kMaxJsonDepth = 256;

// `file` and `field` only label the error.  Throws rudder::Error.
nlohmann::json parseJsonText(const std::string& text, const std::string& file, const std::string& field = "");
// nlohmann's message without its "[json.exception.parse_error.101] " prefix, at most 400 bytes.
std::string jsonErrorText(const nlohmann::json::exception& e);
// Reads and parses a whole file of at most `cap` bytes (rudder/file_read.h); `kind` names it in
// messages.  Throws rudder::Error (unreadable, not a file, too large, invalid, too deep).
nlohmann::json readJsonFile(const std::string& path, std::uint64_t cap = 16 * 1024 * 1024,
                            const std::string& kind = "JSON file");

} // namespace rudder
