#include "remote/http_pool.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <thread>

#include "rudder/error.h"
#include "rudder/json_file.h"

using nlohmann::json;

namespace rudder::remote {

namespace {

using Clock = std::chrono::steady_clock;

// Sleeps `seconds` in short slices so Stop is seen; false when aborted.
bool patientSleep(double seconds, const std::atomic<bool>& abort)
{
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until) {
        if (abort.load()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !abort.load();
}

bool retryable(int status) { return status == 429 || status == 500 || status == 502 || status == 503 || status == 504; }

} // namespace

std::string serverMessage(const std::string& body)
{
    try {
        const json j = json::parse(body);
        if (j.is_object()) {
            if (j.contains("error")) {
                const json& e = j["error"];
                if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
                if (e.is_string()) return e.get<std::string>();
            }
            if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
            if (j.contains("detail")) return j["detail"].is_string() ? j["detail"].get<std::string>() : j["detail"].dump();
        }
    } catch (const std::exception&) {
    }
    std::string s = body.substr(0, 200);
    for (char& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s.empty() ? "(empty body)" : s + (body.size() > 200 ? "..." : "");
}

HttpPool::HttpPool(RemoteEndpoint server, RemoteOptions options) : server_(std::move(server)), options_(std::move(options))
{
    if (!options_.api_key_env.empty())
        if (const char* k = std::getenv(options_.api_key_env.c_str())) apiKey_ = k;
}

HttpPool::~HttpPool() = default;

std::unique_ptr<httplib::Client> HttpPool::take()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
    }
    auto c = std::make_unique<httplib::Client>(server_.origin);
    const double t = std::max(0.05, options_.timeout_s);
    const auto secs = static_cast<time_t>(t);
    const auto usecs = static_cast<time_t>((t - double(secs)) * 1e6);
    c->set_connection_timeout(std::min<time_t>(secs, 10), secs >= 10 ? 0 : usecs);
    c->set_read_timeout(secs, usecs);
    c->set_write_timeout(secs, usecs);
    c->set_keep_alive(true);
    if (!apiKey_.empty()) c->set_bearer_token_auth(apiKey_);
    return c;
}

void HttpPool::give(std::unique_ptr<httplib::Client> c)
{
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(c));
}

json HttpPool::call(httplib::Client& c, bool isPost, const std::string& path, const std::string& body,
                    const std::atomic<bool>& abort)
{
    const std::string where = server_.origin + path;
    for (int attempt = 0;; ++attempt) {
        if (abort.load()) throw Cancelled(where, "", "stopped");
        const auto t0 = Clock::now();
        httplib::Result res = isPost ? c.Post(path.c_str(), body, "application/json") : c.Get(path.c_str());
        const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        if (abort.load()) throw Cancelled(where, "", "stopped");
        std::string why;
        double wait = std::min(8.0, 0.25 * std::pow(2.0, attempt));   // 0.25, 0.5, 1, 2, 4, 8 s
        if (!res) {
            const httplib::Error err = res.error();
            // A server that accepted the request and then said nothing for the whole timeout is
            // stalled: retrying would only multiply the wait.
            if ((err == httplib::Error::Read || err == httplib::Error::ConnectionTimeout) &&
                elapsed >= 0.9 * options_.timeout_s)
                throw Error(where, "", "did not answer within " + std::to_string(int(std::lround(options_.timeout_s))) +
                                           " s (the per-request timeout, --request-timeout)");
            why = "could not be reached (" + httplib::to_string(err) + ")";
        } else if (res->status == 401 || res->status == 403) {
            throw UsageError(server_.url(), "API key",
                             (apiKey_.empty() ? "none was sent and the server wants one (HTTP "
                                              : "was refused (HTTP ") +
                                 std::to_string(res->status) + ": " + serverMessage(res->body) + "); set it in $" +
                                 options_.api_key_env);
        } else if (retryable(res->status)) {
            why = "answered HTTP " + std::to_string(res->status) + ": " + serverMessage(res->body);
            if (res->has_header("Retry-After")) {
                try {
                    wait = std::clamp(std::stod(res->get_header_value("Retry-After")), 0.0, 60.0);
                } catch (const std::exception&) {
                }
            }
        } else if (res->status >= 300) {
            throw HttpError(where, res->status, serverMessage(res->body));
        } else {
            return parseJsonText(res->body, where, "response");   // depth-capped; any parse fault is a message
        }
        if (attempt >= options_.retries)
            throw Error(where, "", why + " (gave up after " + std::to_string(attempt + 1) + " attempts)");
        if (!patientSleep(wait, abort)) throw Cancelled(where, "", "stopped");
    }
}

std::vector<json> HttpPool::run(bool isPost, const std::string& path, const std::vector<std::string>& bodies,
                                const std::atomic<bool>* cancel)
{
    const size_t n = bodies.size();
    std::vector<json> out(n);
    if (n == 0) return out;
    const size_t workers = std::min(n, static_cast<size_t>(std::max(1, options_.max_in_flight)));
    std::atomic<size_t> next{0}, done{0};
    std::atomic<bool> abort{false};
    std::mutex m;
    std::condition_variable finished;
    std::exception_ptr firstError;
    std::vector<httplib::Client*> active(workers, nullptr);

    auto work = [&](size_t w) {
        std::unique_ptr<httplib::Client> c = take();
        {
            std::lock_guard<std::mutex> lock(m);
            active[w] = c.get();
        }
        bool healthy = true;
        for (;;) {
            if (abort.load()) break;
            const size_t i = next++;
            if (i >= n) break;
            try {
                out[i] = call(*c, isPost, path, bodies[i], abort);
            } catch (...) {
                healthy = false;
                std::lock_guard<std::mutex> lock(m);
                if (!firstError) firstError = std::current_exception();
                abort = true;
            }
        }
        {
            std::lock_guard<std::mutex> lock(m);
            active[w] = nullptr;
        }
        if (healthy && !abort.load()) give(std::move(c));   // a stopped client's socket is gone
        std::lock_guard<std::mutex> lock(m);
        ++done;
        finished.notify_all();
    };
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (size_t w = 0; w < workers; ++w) threads.emplace_back(work, w);
    // This thread watches Stop: stop() closes a client's socket, so a request in flight returns now.
    {
        std::unique_lock<std::mutex> lock(m);
        while (done.load() < workers) {
            if (cancel && cancel->load()) abort = true;
            if (abort.load())
                for (auto* c : active)
                    if (c) c->stop();
            finished.wait_for(lock, std::chrono::milliseconds(20));
        }
    }
    for (auto& t : threads) t.join();
    if (cancel && cancel->load()) throw Cancelled(server_.url(), "", "stopped");
    if (firstError) std::rethrow_exception(firstError);
    return out;
}

std::vector<json> HttpPool::postMany(const std::string& path, const std::vector<json>& bodies,
                                     const std::atomic<bool>* cancel)
{
    std::vector<std::string> texts;
    texts.reserve(bodies.size());
    for (const auto& b : bodies) texts.push_back(b.dump());
    return run(true, path, texts, cancel);
}

json HttpPool::get(const std::string& path, const std::atomic<bool>* cancel)
{
    return run(false, path, {std::string()}, cancel).front();
}

} // namespace rudder::remote
