// Driving the built rudder-cli as a user would (QProcess), shared by the CLI tests and the GUI
// tests that hand runs between the two front ends.
#pragma once
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "rudder/session_db.h"

namespace rudder::testing {

inline const QString kCli = QStringLiteral(RUDDER_BINARY_DIR "/app/cli/rudder-cli");

struct CliResult {
    int code = -1;   // exit code; -2 when it crashed, -1 when it timed out
    QString out, err;
    nlohmann::json json() const   // stdout as JSON ({} when it is not)
    {
        try {
            return nlohmann::json::parse(out.toStdString());
        } catch (const std::exception&) {
            return nlohmann::json::object();
        }
    }
};

inline CliResult cli(const QStringList& args, const QString& cwd = {}, int timeoutMs = 60000)
{
    QProcess p;
    if (!cwd.isEmpty()) p.setWorkingDirectory(cwd);
    p.start(kCli, args);
    CliResult r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

// "prompt|reward|text" of each final answer of a run's --json document, for comparing runs.
inline QStringList finalTexts(const nlohmann::json& j)
{
    if (!j.contains("final")) return {"(no answers)"};
    QStringList out;
    for (const auto& f : j.at("final"))
        out << QString::fromStdString(std::to_string(f.at("prompt_index").get<int>()) + "|" + f.at("reward").dump() + "|" +
                                      f.at("text").get<std::string>());
    return out;
}

// Iterations stored so far for a run, read through a second (read-only) connection as the GUI
// would; -1 while the file or the run does not exist yet.
inline int64_t storedIterations(const QString& db, int64_t runId)
{
    if (!QFile::exists(db)) return -1;
    try {
        auto s = SessionDb::open(db.toStdString(), SessionDb::Mode::ReadOnly);
        for (const auto& r : s.listRuns())
            if (r.id == runId) return r.iterations;
    } catch (const std::exception&) {
    }
    return -1;
}

} // namespace rudder::testing
