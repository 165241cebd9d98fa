// rudder-cli subcommands, one file each (cmd_NAME.cpp).  Each add function registers its
// subcommand and its callback; callbacks throw rudder::UsageError (exit 2) or rudder::Error (exit 1).
#pragma once
#include <CLI/CLI.hpp>

namespace rudder::cli {
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
} // namespace rudder::cli
