// Serving engines as Rudder's base model and reward: vLLM or any OpenAI-compatible server
// (and `rudder-cli serve`), over HTTP.  Torch-free.
//
// A server is written as  http(s)://HOST[:PORT][/PATH][#MODEL]  — one string, so it fits the
// GUI's model field and a session's recorded spec.  PATH is the API root for a base model
// ("/v1"), or the scoring endpoint for a reward ("/pooling" = vLLM's pooling API; any other path =
// Rudder's plain JSON reward).  MODEL is the served model name (default: the first one listed by
// GET /v1/models).  The API key comes from an environment variable, never from the spec, so it is
// never stored in a session.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rudder/completion.h"
#include "rudder/reward.h"

namespace rudder {

struct RemoteOptions {
    int max_in_flight = 16;                     // concurrent requests to one server
    double timeout_s = 300;                     // per request: a server that says nothing this long has failed
    int retries = 4;                            // on 429, 5xx and refused connections, with back-off
    std::string api_key_env = "RUDDER_API_KEY"; // sent as "Authorization: Bearer ..." when set
};

struct RemoteEndpoint {
    std::string spec;     // as given (recorded in sessions)
    std::string origin;   // scheme://host[:port]
    std::string path;     // "" or "/v1", "/pooling", ... (no trailing slash)
    std::string model;    // served model name; "" = ask the server
    std::string url() const { return origin + path; }
};

bool isRemoteSpec(const std::string& spec);          // starts with http:// or https://
RemoteEndpoint parseRemoteSpec(const std::string& spec);   // UsageError naming what is wrong

// The model ids GET {origin}/v1/models lists (also a reachability check).  Throws Error naming
// the server when it cannot be reached or answers nonsense.
std::vector<std::string> remoteModelIds(const RemoteEndpoint& server, const RemoteOptions& options);

// Whether the server offers Rudder's pre-logit extension (rudder-cli serve does; vLLM does not):
// GET /rudder/v1/info.  False on any failure.
bool remoteOffersPrelogits(const RemoteEndpoint& server, const RemoteOptions& options);

// /v1/completions with the prompt as token ids.  `stopIds`: the base model's EOS ids (from the
// local tokenizer's config), sent as stop_token_ids.  The endpoint's model must be set.
std::unique_ptr<CompletionBackend> makeRemoteCompletions(const RemoteEndpoint& server, const RemoteOptions& options,
                                                         std::vector<int64_t> stopIds);

// A reward served over HTTP: vLLM's pooling API when the path ends in /pooling (one chat
// conversation per response, raw scores), else Rudder's plain JSON reward (POST a JSON array of
// {"prompt","response"} objects, get a JSON array of numbers back, or {"rewards": [...]}).
std::unique_ptr<RewardFunction> makeRemoteReward(const RemoteEndpoint& server, const RemoteOptions& options);

} // namespace rudder
