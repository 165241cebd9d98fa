// `rudder-cli grade`: JSONL {"response", "reference"} on stdin -> {"extracted", "reference",
// "correct"} on stdout, one line each (engine/grading/GRADING.md).
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/json_file.h"
#include "rudder/grading.h"

namespace rudder::cli {

using nlohmann::json;

void addGradeCommand(CLI::App& app)
{
    auto format = std::make_shared<std::string>("auto");
    CLI::App* cmd = app.add_subcommand(
        "grade", "Grade answers: reads JSONL on stdin, one {\"response\": ..., \"reference\": ...} per line (the reference "
                 "a GSM8K answer field ending in '#### N', a bare MATH answer, or a solution with \\boxed{}), writes "
                 "{\"extracted\", \"reference\", \"correct\"} per line on stdout and a summary on stderr.\n"
                 "Exit codes: 0 graded, 2 a malformed line (named; nothing after it is graded).");
    cmd->add_option("--format", *format, "auto (gsm8k when the reference has '####', else math) | gsm8k | math")
        ->capture_default_str();
    cmd->callback([format] {
        const grading::Format f = grading::parseFormat(*format);
        std::string line;
        size_t lineNo = 0, graded = 0, correct = 0, unparsed = 0;
        while (std::getline(std::cin, line)) {
            ++lineNo;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            json in;
            try {
                in = parseJsonText(line, "stdin", "line " + std::to_string(lineNo));   // (1e999999, depth: messages too)
            } catch (const Error& e) {
                throw UsageError(e.what());
            }
            for (const char* key : {"response", "reference"})
                if (!in.is_object() || !in.contains(key) || !in[key].is_string())
                    throw UsageError("stdin", "line " + std::to_string(lineNo),
                                     std::string("needs a string field \"") + key + "\"");
            const grading::Grade g = grading::grade(in["response"].get<std::string>(), in["reference"].get<std::string>(), f);
            nlohmann::ordered_json out = {{"extracted", g.extracted ? json(*g.extracted) : json(nullptr)},
                        {"reference", g.reference},
                        {"correct", g.correct}};
            // Responses are arbitrary bytes: replace invalid UTF-8 instead of failing mid-stream.
            std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            ++graded;
            correct += g.correct;
            unparsed += !g.extracted;
        }
        std::cout.flush();
        std::cerr << "graded " << graded << ": " << correct << " correct, " << (graded - correct) << " wrong ("
                  << unparsed << " with no answer found)"
                  << (grading::haveSymbolic() ? "" : "; built without GiNaC: no symbolic equivalence") << "\n";
    });
}

} // namespace rudder::cli
