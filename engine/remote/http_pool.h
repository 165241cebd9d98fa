// A pool of keep-alive HTTP connections to one server (cpp-httplib), with what a long run over
// a shared cluster needs: bounded concurrency, retries with back-off on 429/5xx/refused
// connections (Retry-After honoured), a per-request timeout, and Stop that aborts requests in
// flight within ~50 ms.  Internal, torch-free.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/error.h"
#include "rudder/remote.h"

namespace httplib {
class Client;
}

namespace rudder::remote {

// A server's refusal that retrying will not change (a 4xx other than 429 and the key's 401/403):
// the message names the server, the path and what it said; the status lets a caller tell a
// missing endpoint (404) from the rest.
class HttpError : public Error {
public:
    HttpError(const std::string& where, int status, const std::string& said)
        : Error(where, "HTTP " + std::to_string(status), said), status(status) {}
    int status;
};

class HttpPool {
public:
    HttpPool(RemoteEndpoint server, RemoteOptions options);
    ~HttpPool();
    HttpPool(const HttpPool&) = delete;
    HttpPool& operator=(const HttpPool&) = delete;

    // POSTs every body to `path` (relative to the server's origin), at most max_in_flight at
    // once, and returns the parsed answers in order.  Throws UsageError for a refused API key,
    // Error naming the server, path and status for any other failure; Cancelled when `cancel`
    // was set (requests in flight are aborted).
    std::vector<nlohmann::json> postMany(const std::string& path, const std::vector<nlohmann::json>& bodies,
                                         const std::atomic<bool>* cancel);
    nlohmann::json post(const std::string& path, const nlohmann::json& body, const std::atomic<bool>* cancel)
    {
        return postMany(path, {body}, cancel).front();
    }
    nlohmann::json get(const std::string& path, const std::atomic<bool>* cancel);

    const RemoteEndpoint& server() const { return server_; }
    const RemoteOptions& options() const { return options_; }

private:
    struct Slot;
    std::unique_ptr<httplib::Client> take();
    void give(std::unique_ptr<httplib::Client> c);
    nlohmann::json call(httplib::Client& c, bool isPost, const std::string& path, const std::string& body,
                        const std::atomic<bool>& abort);
    std::vector<nlohmann::json> run(bool isPost, const std::string& path, const std::vector<std::string>& bodies,
                                    const std::atomic<bool>* cancel);

    RemoteEndpoint server_;
    RemoteOptions options_;
    std::string apiKey_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<httplib::Client>> idle_;
};

// What a server said went wrong: its JSON error message (OpenAI's {"error":{"message"}}, vLLM's
// {"message"}, FastAPI's {"detail"}), else the start of the body.
std::string serverMessage(const std::string& body);

} // namespace rudder::remote
