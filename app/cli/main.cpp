// rudder-cli: dataset runs, benchmarks, tokenizer/analysis tools and exports, no display needed.
// Exit codes: 0 ok, 1 run failed, 2 usage error.
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "rudder/error.h"
#include "rudder/runtime_init.h"

int main(int argc, char** argv)
{
    rudder::preferPassiveOpenMP(argv);
    CLI::App app{"rudder-cli - headless test-time alignment workbench (writes the sessions the GUI opens)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("rudder-cli ") + RUDDER_VERSION);
#ifdef RUDDER_CLI_HAS_TOKENIZE
    rudder::cli::addTokenizeCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_ANALYZE
    rudder::cli::addAnalyzeCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_INSPECT
    rudder::cli::addInspectCommand(app);
    rudder::cli::addModelsCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_RUN
    rudder::cli::addRunCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_METHODS
    rudder::cli::addMethodsCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_EXPORT
    rudder::cli::addExportCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_BENCH
    rudder::cli::addBenchCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_LOGPROBS
    rudder::cli::addLogprobsCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_SWEEP
    rudder::cli::addSweepCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_PARITY
    rudder::cli::addParityCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_SERVE
    rudder::cli::addServeCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_VALUE
    rudder::cli::addTrainValueCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_GRADE
    rudder::cli::addGradeCommand(app);
#endif
#ifdef RUDDER_CLI_HAS_IMPORT
    rudder::cli::addImportSamplesCommand(app);
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    } catch (const rudder::UsageError& e) {
        std::cerr << "rudder-cli: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "rudder-cli: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
