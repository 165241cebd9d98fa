// safetensors: memory-mapped reading with full header validation, sharded checkpoints through
// model.safetensors.index.json, and a writer (tests, demo-model trainer).  Internal torch header.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rudder {

struct SafetensorsEntry {
    std::string name;
    std::string dtype;             // as written in the header: "F32", "BF16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;   // byte offsets inside the data section
};

// One .safetensors file, mapped read-only.  The constructor validates the whole header: header
// length inside the file, every dtype known, byte size == numel * element size, offsets inside
// the data section, no two tensors overlapping.  Errors name the file and the tensor.
class SafetensorsFile {
public:
    explicit SafetensorsFile(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<SafetensorsEntry>& entries() const { return entries_; }
    const SafetensorsEntry* find(const std::string& name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    // Zero-copy CPU view into the mapping (kept alive by the tensor).  Float dtypes only.
    at::Tensor tensor(const std::string& name) const;

private:
    struct Mapping;
    std::string path_;
    std::shared_ptr<Mapping> map_;
    const uint8_t* data_ = nullptr;   // start of the data section
    std::vector<SafetensorsEntry> entries_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::string> metadata_;
};

// Every weight of a model directory: model.safetensors.index.json (sharded), else
// model.safetensors, else every *.safetensors in the directory; plus value_head.safetensors
// (trl / LLaMA-Factory value heads saved apart).
class WeightStore {
public:
    explicit WeightStore(const std::string& dir);
    bool has(const std::string& name) const;
    const SafetensorsEntry& entry(const std::string& name) const;   // throws naming the files
    const std::string& fileOf(const std::string& name) const;
    // Throws naming the file and tensor unless its dtype is a float type (weights, biases).
    void requireFloat(const std::string& name) const;
    at::Tensor tensor(const std::string& name) const;              // zero-copy CPU view
    std::vector<std::string> names() const;
    int64_t numParameters() const;        // sum of numel over every tensor
    std::string storedDtype() const;      // most common dtype ("BF16", "F32", ...)
    const std::string& describe() const { return describe_; }   // "DIR/model.safetensors" or the index

private:
    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, size_t> where_;   // tensor -> file index
    std::string describe_;
};

// Writes tensors (any float dtype, plus integer types) as one safetensors file, in the order
// given; metadata goes under "__metadata__".  Throws rudder::Error naming the path on failure.
void writeSafetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// "F32" <-> at::kFloat etc.  dtypeFromSafetensors throws std::invalid_argument for unknown names.
at::ScalarType dtypeFromSafetensors(const std::string& name);
std::string safetensorsDtypeName(at::ScalarType t);

} // namespace rudder
