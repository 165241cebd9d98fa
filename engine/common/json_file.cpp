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
        throw Error(file, field, "not valid JSON: " + jsonErrorText(e));
    }
}

std::string jsonErrorText(const nlohmann::json::exception& e)
{
    // "[json.exception.parse_error.101] parse error at line 1, column 7: ..." -> from "parse
    // error" on: the bracketed id is the library's, not the user's business.
    std::string what = e.what();
    if (what.rfind("[json.exception.", 0) == 0) {
        const size_t close = what.find("] ");
        if (close != std::string::npos) what = what.substr(close + 2);
    }
    // nlohmann quotes the last token read, which for an unterminated string is the rest of the
    // input (a 10 MB dataset line): keep the message readable.
    if (what.size() > 400) what = what.substr(0, 400) + "…";
    return what;
}

nlohmann::json readJsonFile(const std::string& path, std::uint64_t cap, const std::string& kind)
{
    return parseJsonText(readFileCapped(path, cap, kind), path);
}

} // namespace rudder
