// rudder-cli subcommands, one file each (cmd_NAME.cpp).  Each add function registers its
// subcommand and its callback; callbacks throw rudder::UsageError (exit 2) or rudder::Error (exit 1).
#pragma once
#include <cerrno>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

namespace rudder::cli {

// --seed: a decimal integer in [0, 2^64).  CLI11 alone read -1 as 2^64 - 1 and 2^64 as 2^64 - 1,
// so two different typed seeds ran the same run.
inline CLI::Validator seedRange()
{
    return CLI::Validator(
        [](std::string& s) -> std::string {
            if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
                return "'" + s + "' is not a seed (a whole number from 0 to 18446744073709551615)";
            errno = 0;
            std::strtoull(s.c_str(), nullptr, 10);
            if (errno == ERANGE) return "'" + s + "' is larger than 18446744073709551615, the largest seed";
            return {};
        },
        "SEED", "seed");
}

void addTokenizeCommand(CLI::App& app);
void addAnalyzeCommand(CLI::App& app);
void addInspectCommand(CLI::App& app);
void addModelsCommand(CLI::App& app);
void addRunCommand(CLI::App& app);      // also registers `compare`
void addExportCommand(CLI::App& app);
void addBenchCommand(CLI::App& app);
void addLogprobsCommand(CLI::App& app);
void addSweepCommand(CLI::App& app);      // a parameter grid against a reference, tagged runs
void addParityCommand(CLI::App& app);     // the runtime against transformers' fixtures
void addServeCommand(CLI::App& app);      // OpenAI-compatible server over the engine
void addTrainValueCommand(CLI::App& app); // RE-Control's value function
void addGradeCommand(CLI::App& app);      // answers against references (rudder/grading.h)
void addImportSamplesCommand(CLI::App& app);   // samples made elsewhere as a run, with accuracy curves
void addMethodsCommand(CLI::App& app);         // the methods' settings and presets, from the descriptors
} // namespace rudder::cli
