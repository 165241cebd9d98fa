// rudder-cli export --db FILE [--run ID ...] --format json|csv --out PATH
// rudder-cli import --db FILE --in EXPORT.json
// The JSON layout is documented in README.md ("Session export format").  CSV writes two files:
// PATH with one row per sample and PATH's stem + ".iterations.csv" with one row per iteration.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sys/stat.h>

#include "commands.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"
#include "rudder/error.h"
#include "rudder/session_db.h"

namespace rudder::cli {

namespace {

// "runs.csv" -> "runs.iterations.csv"; "out" -> "out.iterations.csv".
std::string iterationsPath(const std::string& out)
{
    const std::string ext = ".csv";
    bool hasExt = out.size() > ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0;
    return (hasExt ? out.substr(0, out.size() - ext.size()) : out) + ".iterations.csv";
}

SessionDb openSession(const std::string& path, SessionDb::Mode mode)
{
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) throw UsageError(path, "--db", "no such session file");
    try {
        return SessionDb::open(path, mode);
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        throw UsageError(e.what());   // not a session / damaged / newer format: the input is at fault
    }
}

std::ofstream openOut(const std::string& path)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError(path, "--out", "cannot write this file");
    return out;
}

void finish(std::ofstream& out, const std::string& path)
{
    out.flush();
    if (!out) throw Error(path, "", "write failed (disk full?)");
}

} // namespace

void addExportCommand(CLI::App& app)
{
    struct Opts {
        std::string db, format, out;
        std::vector<int64_t> runs;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "export", "Export runs of a session (all runs unless --run is given) to JSON (config + samples + "
                  "statistics) or CSV (PATH: one row per sample; PATH.iterations.csv: one row per iteration).");
    cmd->add_option("--db", o->db, "session file (.rsession)")->required();
    cmd->add_option("--run", o->runs, "run id to export (repeat for several; default: every run)");
    cmd->add_option("--format", o->format, "json or csv")->required()->check(CLI::IsMember({"json", "csv"}));
    cmd->add_option("--out", o->out, "output file ('-' writes JSON to stdout)")->required();
    cmd->callback([o] {
        SessionDb db = openSession(o->db, SessionDb::Mode::ReadOnly);   // exporting never writes the session
        if (o->format == "json") {
            nlohmann::json doc = db.exportJson(o->runs);
            // Decoded text may end inside a UTF-8 sequence: replace it rather than fail.
            std::string text = doc.dump(1, '\t', false, nlohmann::json::error_handler_t::replace);
            if (o->out == "-") {
                std::cout << text << "\n";
                return;
            }
            auto out = openOut(o->out);
            out << text << "\n";
            finish(out, o->out);
            std::cerr << "exported " << doc["runs"].size() << " run(s) to " << o->out << "\n";
            return;
        }
        if (o->out == "-") throw UsageError("--out", "", "CSV writes two files: give a file name, not '-'");
        const std::string iterPath = iterationsPath(o->out);
        auto samples = openOut(o->out);
        db.exportCsvSamples(o->runs, samples);
        finish(samples, o->out);
        auto iterations = openOut(iterPath);
        db.exportCsvIterations(o->runs, iterations);
        finish(iterations, iterPath);
        std::cerr << "exported samples to " << o->out << " and iterations to " << iterPath << "\n";
    });

    auto in = std::make_shared<std::pair<std::string, std::string>>();   // db, input
    CLI::App* imp = app.add_subcommand("import", "Add the runs of a JSON export to a session (created if missing).");
    imp->add_option("--db", in->first, "session file to add the runs to")->required();
    imp->add_option("--in", in->second, "JSON file written by `rudder-cli export --format json`")->required();
    imp->callback([in] {
        nlohmann::json doc;
        try {
            doc = readJsonFile(in->second, kCapDocument, "export document (--in)");
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
        struct stat st{};
        bool created = ::stat(in->first.c_str(), &st) != 0;
        std::vector<int64_t> ids;
        try {
            SessionDb db = created ? SessionDb::open(in->first, SessionDb::Mode::ReadWrite)
                                   : openSession(in->first, SessionDb::Mode::ReadWrite);
            ids = db.importJson(doc, in->second);
        } catch (const Error& e) {
            if (created)   // leave no empty session behind for a failed import
                for (const char* suffix : {"", "-wal", "-shm"}) std::remove((in->first + suffix).c_str());
            throw UsageError(e.what());
        }
        std::cerr << "imported " << ids.size() << " run(s) into " << in->first << ":";
        for (int64_t id : ids) std::cerr << " " << id;
        std::cerr << "\n";
    });
}

} // namespace rudder::cli
