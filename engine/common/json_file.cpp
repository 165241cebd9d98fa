#include "rudder/json_file.h"


#include "rudder/error.h"
#include "rudder/file_read.h"

namespace rudder {

nlohmann::json parseJsonText(const std::string& text, const std::string& file, const std::string& field)
{
    // The parser itself is iterative; the callback refuses depth before the DOM gets deep.
    const nlohmann::json::parser_callback_t depthCap = [&](int depth, nlohmann::json::parse_event_t,
                                                           nlohmann::json&) {
        if (depth > kMaxJsonDepth)
            throw Error(file, field, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        return true;
    };
    try {
        return nlohmann::json::parse(text, depthCap);
    } catch (const nlohmann::json::exception& e) {
        // nlohmann quotes the last token read, which for an unterminated string is the rest of
        // the input (a 10 MB dataset line): keep the message readable.
        std::string what = e.what();
        if (what.size() > 400) what = what.substr(0, 400) + "…";
        throw Error(file, field, "not valid JSON: " + what);
    }
}

nlohmann::json readJsonFile(const std::string& path, std::uint64_t cap, const std::string& kind)
{
    return parseJsonText(readFileCapped(path, cap, kind), path);
}

} // namespace rudder
