// External scorer: any program that reads {"prompt":..., "response":...} lines on stdin and prints
// one number per line.  Run through /bin/sh once per score() call so one process start serves a
// whole batch.  POSIX only, no Qt.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "rudder/error.h"
#include "rudder/reward.h"

extern char** environ;

namespace rudder {

namespace {

void closeFd(int& fd)
{
    if (fd >= 0) ::close(fd);
    fd = -1;
}

std::string trim(const std::string& s)
{
    const char* ws = " \t\r\n\f\v";
    size_t a = s.find_first_not_of(ws);
    if (a == std::string::npos) return {};
    size_t b = s.find_last_not_of(ws);
    return s.substr(a, b - a + 1);
}

// A scorer's bytes in a message: invalid UTF-8 becomes U+FFFD, so the message can go into a
// --json document, a session and the GUI without breaking any of them.
std::string printable(const std::string& s)
{
    const std::string quoted = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return nlohmann::json::parse(quoted).get<std::string>();
}

// Last few lines of the scorer's stderr, to put in the error message.
std::string tail(const std::string& s, size_t maxChars = 400)
{
    std::string t = trim(s);
    if (t.size() > maxChars) t = "..." + t.substr(t.size() - maxChars);
    return printable(t);
}

// Bounds on what a scorer may send back (issue 35: `yes 1` filled 8 GB in 29 s).  One number per
// response needs a few bytes; a line of 4 KiB per response is generous.  Of stderr only the end
// is kept, for messages.
constexpr size_t kStdoutBytesPerResponse = 4096, kStdoutBase = 64 * 1024, kStderrKeep = 64 * 1024;
// After the last expected line arrives, a scorer that does not exit (it keeps stdout open, or a
// child it started does) is given this long, then stopped: its answers are complete.
constexpr double kGraceSeconds = 2.0;

struct Output {
    std::string out, err;
    int status = 0;
};

class CommandReward : public RewardFunction {
public:
    explicit CommandReward(std::string command) : command_(std::move(command))
    {
        if (trim(command_).empty()) throw UsageError("", "reward command", "is empty");
    }

    std::string name() const override { return "cmd:" + command_; }

    std::vector<double> score(const std::string& prompt, const std::vector<std::string>& responses) override
    {
        if (responses.empty()) return {};
        std::string input;
        for (const auto& r : responses) {
            nlohmann::json j = {{"prompt", prompt}, {"response", r}};
            // Invalid UTF-8 from a sampler must not abort scoring: replace it with U+FFFD.
            input += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            input += '\n';
        }
        Output o = run(input, responses.size());

        const std::string who = "reward command `" + printable(command_) + "`";
        if (WIFSIGNALED(o.status))
            throw Error(who, "", "killed by signal " + std::to_string(WTERMSIG(o.status)) + stderrNote(o.err));
        if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0)
            throw Error(who, "", "exited with status " + std::to_string(WEXITSTATUS(o.status)) + stderrNote(o.err));

        std::vector<std::string> lines;
        size_t start = 0;
        while (start < o.out.size()) {
            size_t nl = o.out.find('\n', start);
            if (nl == std::string::npos) nl = o.out.size();
            lines.push_back(o.out.substr(start, nl - start));
            start = nl + 1;
        }
        std::vector<double> scores;
        scores.reserve(responses.size());
        for (size_t i = 0; i < lines.size(); ++i) {
            const std::string field = "stdout line " + std::to_string(i + 1);
            if (i >= responses.size())
                throw Error(who, field, "printed more lines than the " + std::to_string(responses.size()) +
                                            " responses it was given");
            std::string t = trim(lines[i]);
            char* end = nullptr;
            errno = 0;
            double v = t.empty() ? 0.0 : std::strtod(t.c_str(), &end);
            if (t.empty() || end != t.c_str() + t.size())
                throw Error(who, field, "'" + tail(lines[i], 80) + "' is not a number");
            if (!std::isfinite(v))
                throw Error(who, field, "'" + tail(t, 80) + "' is not a finite number");
            scores.push_back(v);
        }
        if (scores.size() != responses.size())
            throw Error(who, "stdout line " + std::to_string(scores.size() + 1),
                        "missing: printed " + std::to_string(scores.size()) + " lines for " +
                            std::to_string(responses.size()) + " responses" + stderrNote(o.err));
        return scores;
    }

private:
    static std::string stderrNote(const std::string& err)
    {
        std::string t = tail(err);
        return t.empty() ? std::string() : " (stderr: " + t + ")";
    }

    // Seconds a scorer may take per call: RUDDER_REWARD_TIMEOUT, else 60 s to start plus 2 s per
    // response (a batch of 16: 92 s).  A hung scorer would otherwise hold the run for ever; the
    // old flat 600 s held a run of sleeping scorers for ten minutes per batch.
    static double timeoutSeconds(size_t responses)
    {
        if (const char* e = std::getenv("RUDDER_REWARD_TIMEOUT")) {
            char* end = nullptr;
            const double v = std::strtod(e, &end);
            if (end != e && *end == '\0' && v > 0 && std::isfinite(v)) return v;
            throw UsageError("RUDDER_REWARD_TIMEOUT", "", std::string("'") + e + "' is not a positive number of seconds");
        }
        return 60.0 + 2.0 * double(responses);
    }

    // Spawns /bin/sh -c command, feeds `input` and collects stdout/stderr concurrently with poll(),
    // so a scorer that answers line by line cannot deadlock on a full pipe.
    Output run(const std::string& input, size_t responses) const
    {
        const std::string who = "reward command `" + printable(command_) + "`";
        // stdin is a socket pair: send(MSG_NOSIGNAL) reports a scorer that stopped reading as
        // EPIPE instead of killing the whole process with SIGPIPE.
        int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
            ::pipe2(err, O_CLOEXEC) != 0) {
            int e = errno;
            for (int* p : {in, out, err}) { closeFd(p[0]); closeFd(p[1]); }
            throw Error(who, "", std::string("cannot create pipes: ") + std::strerror(e));
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[1], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
        std::string sh = "/bin/sh", dashc = "-c", cmd = command_;
        char* argv[] = {sh.data(), dashc.data(), cmd.data(), nullptr};
        // Its own process group, so a timeout kills the shell and whatever it started.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        pid_t pid = -1;
        int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        closeFd(in[1]);
        closeFd(out[1]);
        closeFd(err[1]);
        if (rc != 0) {
            closeFd(in[0]);
            closeFd(out[0]);
            closeFd(err[0]);
            throw Error(who, "", std::string("cannot start /bin/sh: ") + std::strerror(rc));
        }

        Output o;
        int wfd = in[0], ofd = out[0], efd = err[0];
        ::fcntl(wfd, F_SETFL, ::fcntl(wfd, F_GETFL) | O_NONBLOCK);
        size_t written = 0;
        if (input.empty()) closeFd(wfd);
        char buf[65536];
        const double limit = timeoutSeconds(responses);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit);
        const size_t stdoutCap = kStdoutBase + kStdoutBytesPerResponse * responses;
        size_t lines = 0;                                                 // newlines on stdout so far
        std::optional<std::chrono::steady_clock::time_point> answered;   // when the last line came
        auto stop = [&] {
            ::kill(-pid, SIGKILL);
            closeFd(wfd);
            closeFd(ofd);
            closeFd(efd);
            while (::waitpid(pid, &o.status, 0) < 0 && errno == EINTR) {}
        };
        while (wfd >= 0 || ofd >= 0 || efd >= 0) {
            if (!answered && lines >= responses) answered = std::chrono::steady_clock::now();
            if (answered && std::chrono::steady_clock::now() - *answered > std::chrono::duration<double>(kGraceSeconds)) {
                stop();
                o.status = 0;   // every answer is in; the scorer lingered, it did not fail
                return o;
            }
            if (o.out.size() > stdoutCap) {
                stop();
                throw Error(who, "stdout", "printed more than " + std::to_string(stdoutCap) + " bytes for " +
                                               std::to_string(responses) + " responses (one number per line expected) and was stopped");
            }
            const long long left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            if (cancel_ && cancel_->load()) {   // Stop: the scorer is killed, the run ends cancelled
                stop();
                throw Cancelled(who, "", "stopped while scoring");
            }
            if (left <= 0) {
                stop();
                char secs[32];
                std::snprintf(secs, sizeof secs, "%g", limit);
                throw Error(who, "", std::string("gave no answer within ") + secs +
                                         " s and was stopped (RUDDER_REWARD_TIMEOUT sets the limit in seconds)" +
                                         stderrNote(o.err));
            }
            pollfd fds[3];
            int nf = 0;
            int iw = -1, io = -1, ie = -1;
            if (wfd >= 0) { iw = nf; fds[nf++] = {wfd, POLLOUT, 0}; }
            if (ofd >= 0) { io = nf; fds[nf++] = {ofd, POLLIN, 0}; }
            if (efd >= 0) { ie = nf; fds[nf++] = {efd, POLLIN, 0}; }
            // 50 ms slices: Stop reaches a scorer that is still thinking within that.
            if (::poll(fds, nfds_t(nf), static_cast<int>(std::min<long long>(left, 50))) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (iw >= 0 && fds[iw].revents) {
                ssize_t k = ::send(wfd, input.data() + written, input.size() - written, MSG_NOSIGNAL);
                if (k > 0) written += size_t(k);
                // EPIPE: the scorer stopped reading; its output and exit status decide the rest.
                if ((k < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) closeFd(wfd);
            }
            for (auto [idx, fdp, dst] : {std::tuple{io, &ofd, &o.out}, std::tuple{ie, &efd, &o.err}}) {
                if (idx < 0 || !fds[idx].revents) continue;
                ssize_t k = ::read(*fdp, buf, sizeof buf);
                if (k > 0) {
                    dst->append(buf, size_t(k));
                    if (dst == &o.out) lines += size_t(std::count(buf, buf + k, '\n'));
                    if (dst == &o.err && o.err.size() > 2 * kStderrKeep) o.err.erase(0, o.err.size() - kStderrKeep);
                }
                else if (k == 0 || (errno != EINTR && errno != EAGAIN))
                    closeFd(*fdp);
            }
        }
        closeFd(wfd);
        closeFd(ofd);
        closeFd(efd);
        while (::waitpid(pid, &o.status, 0) < 0) {
            if (errno != EINTR) throw Error(who, "", std::string("waitpid failed: ") + std::strerror(errno));
        }
        return o;
    }

    std::string command_;
};

} // namespace

std::unique_ptr<RewardFunction> makeCommandReward(const std::string& command)
{
    return std::make_unique<CommandReward>(command);
}

} // namespace rudder
