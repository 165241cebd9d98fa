// Models named the way researchers name them: a Hugging Face repo id, found in the local hub
// cache (never downloaded).  Layout, as huggingface_hub writes it:
//   <cache>/models--ORG--NAME/refs/<revision>          the commit hash the revision points to
//   <cache>/models--ORG--NAME/snapshots/<commit>/...   the files, usually symlinks into blobs/
//   <cache>/models--ORG--NAME/blobs/<hash>
// <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.  Torch-free.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rudder {

struct HubRef {
    std::string repo;       // "ORG/NAME"
    std::string revision;   // "main" unless given as ORG/NAME@REVISION
};

// "ORG/NAME" or "ORG/NAME@REVISION" that is not an existing path; nullopt otherwise.
std::optional<HubRef> parseRepoId(const std::string& spec);

std::string hubCacheDir();

struct HubModel {
    std::string directory;   // the snapshot directory
    std::string repo, revision, commit;
    nlohmann::json toJson() const;   // {"repo", "revision", "commit"}: what a session records
};

// Resolves a repo id in the cache.  Throws rudder::UsageError when it is not cached (with the
// `huggingface-cli download` command to run where there is a network), when the revision is
// not, or when the snapshot's files point to missing blobs (an interrupted download).
HubModel resolveHubModel(const HubRef& ref);

// A model spec as the CLI and GUI take it: a repo id in the cache becomes its snapshot
// directory (and `hub` is filled); anything else is returned unchanged.
std::string resolveModelSpec(const std::string& spec, std::optional<HubModel>* hub = nullptr);

struct CachedModel {
    std::string repo, revision, commit, directory;
    std::string architecture;   // config.json architectures[0], "" if unreadable
    std::string kind;           // "causal LM", "reward model" or "other"
    uint64_t bytes = 0;         // the snapshot's files (blobs they point to)
};

// Every model in the cache with a readable snapshot for refs/main (else its newest snapshot);
// sorted by repo id.  Never throws: an unreadable entry is skipped.
std::vector<CachedModel> listCachedModels();

// "causal LM", "reward model" or "other", from config.json's architectures[0].
std::string modelKind(const std::string& architecture);

} // namespace rudder
