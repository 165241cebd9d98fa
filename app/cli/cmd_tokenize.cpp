// rudder-cli tokenize: JSON strings in, JSON id arrays out (or the reverse with --decode), one
// per line, for scripts and for checking a model's tokenizer by hand.
#include <iostream>
#include <memory>
#include <string>
#include <sys/stat.h>

#include "commands.h"
#include "rudder/json_file.h"
#include "rudder/error.h"
#include "rudder/tokenizer.h"

namespace rudder::cli {

namespace {

struct TokenizeOptions {
    std::string tokenizer;
    bool addSpecial = false;
    bool decode = false;
    bool skipSpecial = false;
};

std::shared_ptr<Tokenizer> openTokenizer(const std::string& path)
{
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
        throw UsageError("--tokenizer", "", "\"" + path + "\" does not exist (give a model directory or a tokenizer.json)");
    if (S_ISDIR(st.st_mode)) return Tokenizer::fromDirectory(path);
    std::string dir = path.substr(0, path.find_last_of('/') + 1);
    std::string cfg = dir + "tokenizer_config.json";
    return Tokenizer::fromFiles(path, stat(cfg.c_str(), &st) == 0 ? cfg : std::string());
}

void run(const TokenizeOptions& o)
{
    auto tok = openTokenizer(o.tokenizer);
    std::string line;
    size_t lineNo = 0;
    while (std::getline(std::cin, line)) {
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string where = "line " + std::to_string(lineNo);
        const nlohmann::json j = parseJsonText(line, "<stdin>", where);
        if (o.decode) {
            if (!j.is_array()) throw Error("<stdin>", where, "expected a JSON array of token ids");
            std::vector<int32_t> ids;
            for (const auto& v : j) {
                if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
                    throw Error("<stdin>", where, "token ids must be non-negative integers, got " + v.dump());
                ids.push_back(v.get<int32_t>());
            }
            std::cout << nlohmann::json(tok->decode(ids, o.skipSpecial))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << std::endl;
        } else {
            if (!j.is_string()) throw Error("<stdin>", where, "expected a JSON string");
            std::cout << nlohmann::json(tok->encode(j.get<std::string>(), o.addSpecial)).dump() << std::endl;
        }
    }
}

} // namespace

void addTokenizeCommand(CLI::App& app)
{
    auto o = std::make_shared<TokenizeOptions>();
    auto* cmd = app.add_subcommand("tokenize",
                                   "Encode JSON strings read from stdin (one per line) to JSON arrays of ids, "
                                   "or decode arrays back to strings with --decode");
    cmd->add_option("--tokenizer", o->tokenizer, "model directory (tokenizer.json) or a tokenizer.json file")
        ->required();
    auto* add = cmd->add_flag("--add-special", o->addSpecial, "add the model's special tokens (e.g. BOS)");
    auto* dec = cmd->add_flag("--decode", o->decode, "decode arrays of ids to strings");
    cmd->add_flag("--skip-special", o->skipSpecial, "with --decode: leave special tokens out")->needs(dec);
    add->excludes(dec);
    cmd->callback([o] { run(*o); });
}

} // namespace rudder::cli
