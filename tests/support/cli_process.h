// Driving the built rudder-cli as a user would (QProcess), shared by the CLI tests and the GUI
// tests that hand runs between the two front ends.
#pragma once
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QElapsedTimer>

#include <signal.h>

#include <cstdint>
#include <cstring>
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

// `rudder-cli serve` on a free port; the port is read from its "listening on" line.
class Serve {
public:
    explicit Serve(const QStringList& extra = {}, int port = 0)
    {
        p.setProcessChannelMode(QProcess::SeparateChannels);
        p.start(kCli, QStringList{"serve", "--port", QString::number(port)} + extra);
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 60000 && p.state() != QProcess::NotRunning) {
            p.waitForReadyRead(100);
            log += QString::fromUtf8(p.readAllStandardError());
            const int at = log.indexOf("listening on http://127.0.0.1:");
            if (at >= 0) {
                const QString rest = log.mid(at + int(strlen("listening on http://127.0.0.1:")));
                this->port = rest.section(' ', 0, 0).toInt();
                if (this->port > 0) return;
            }
        }
    }
    ~Serve() { stop(); }
    void stop()
    {
        if (p.state() == QProcess::NotRunning) return;
        p.terminate();
        if (!p.waitForFinished(5000)) p.kill(), p.waitForFinished();
    }
    void kill()
    {
        ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
        p.waitForFinished();
    }
    QString url() const { return QString("http://127.0.0.1:%1/v1").arg(port); }
    QProcess p;
    QString log;
    int port = 0;
};

} // namespace rudder::testing
