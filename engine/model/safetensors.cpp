#include "model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rudder/json_file.h"
#include "rudder/error.h"

namespace fs = std::filesystem;

namespace rudder {

namespace {

struct DtypeInfo {
    const char* name;
    at::ScalarType type;
    int64_t size;
};

const DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4},   {"F16", at::kHalf, 2},  {"BF16", at::kBFloat16, 2},
    {"I64", at::kLong, 8},   {"I32", at::kInt, 4},     {"I16", at::kShort, 2}, {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1},
};

const DtypeInfo* findDtype(const std::string& name)
{
    for (const auto& d : kDtypes)
        if (name == d.name) return &d;
    return nullptr;
}

std::string shapeString(const std::vector<int64_t>& s)
{
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
    return r + "]";
}

} // namespace

at::ScalarType dtypeFromSafetensors(const std::string& name)
{
    if (auto* d = findDtype(name)) return d->type;
    throw std::invalid_argument("unknown safetensors dtype " + name);
}

std::string safetensorsDtypeName(at::ScalarType t)
{
    for (const auto& d : kDtypes)
        if (d.type == t) return d.name;
    throw std::invalid_argument(std::string("no safetensors dtype for ") + c10::toString(t));
}

struct SafetensorsFile::Mapping {
    void* addr = nullptr;
    size_t size = 0;
    ~Mapping()
    {
        if (addr && addr != MAP_FAILED) munmap(addr, size);
    }
};

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path, "", std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        throw Error(path, "", std::string("cannot stat: ") + std::strerror(errno));
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path, "", "not a regular file (a device, directory or socket)");
    }
    if (size < 8) {
        ::close(fd);
        throw Error(path, "header", "file is " + std::to_string(size) + " bytes, too short for a safetensors header");
    }
    map_ = std::make_shared<Mapping>();
    map_->size = size;
    map_->addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map_->addr == MAP_FAILED) throw Error(path, "", std::string("cannot mmap: ") + std::strerror(errno));
    const auto* bytes = static_cast<const uint8_t*>(map_->addr);

    uint64_t headerLen = 0;
    for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[i];   // little endian u64
    if (headerLen > size - 8)
        throw Error(path, "header", "header length " + std::to_string(headerLen) + " points past the end of the file ("
                                        + std::to_string(size) + " bytes): truncated or not a safetensors file");
    data_ = bytes + 8 + headerLen;
    const uint64_t dataSize = size - 8 - headerLen;

    const nlohmann::json header =
        parseJsonText(std::string(reinterpret_cast<const char*>(bytes) + 8, headerLen), path, "header");
    if (!header.is_object()) throw Error(path, "header", "not a JSON object");

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const auto& v = it.value();
        if (name == "__metadata__") {
            if (v.is_object())
                for (auto m = v.begin(); m != v.end(); ++m)
                    metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
            continue;
        }
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
            throw Error(path, name, "tensor entry needs dtype, shape and data_offsets");
        SafetensorsEntry e;
        e.name = name;
        if (!v["dtype"].is_string()) throw Error(path, name, "dtype is not a string");
        e.dtype = v["dtype"].get<std::string>();
        const DtypeInfo* info = findDtype(e.dtype);
        if (!info) throw Error(path, name, "unknown dtype '" + e.dtype + "' (supported: F32, F16, BF16, F64, integer types)");
        if (!v["shape"].is_array()) throw Error(path, name, "shape is not an array");
        uint64_t numel = 1;
        for (const auto& d : v["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0) throw Error(path, name, "shape has a negative or non-integer size");
            e.shape.push_back(d.get<int64_t>());
            // A product that wraps around 2^64 could match the byte count of a tiny range (e.g.
            // [2^62, 4] F32 "holds" 0 bytes) and send reads far past the mapping.
            if (__builtin_mul_overflow(numel, static_cast<uint64_t>(e.shape.back()), &numel))
                throw Error(path, name, "shape " + v["shape"].dump() + " has more elements than 2^64");
        }
        uint64_t needBytes = 0;
        if (__builtin_mul_overflow(numel, static_cast<uint64_t>(info->size), &needBytes))
            throw Error(path, name, "shape " + v["shape"].dump() + " needs more than 2^64 bytes");
        const auto& off = v["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            throw Error(path, name, "data_offsets must be two non-negative integers");
        e.begin = off[0].get<uint64_t>();
        e.end = off[1].get<uint64_t>();
        if (e.begin > e.end) throw Error(path, name, "data_offsets begin after they end");
        if (e.end > dataSize)
            throw Error(path, name, "data_offsets [" + std::to_string(e.begin) + "," + std::to_string(e.end)
                                        + "] point past the end of the file (data section is " + std::to_string(dataSize)
                                        + " bytes): truncated file?");
        if (e.end - e.begin != needBytes)
            throw Error(path, name, "holds " + std::to_string(e.end - e.begin) + " bytes but " + e.dtype + " "
                                        + shapeString(e.shape) + " needs " + std::to_string(needBytes));
        index_[name] = entries_.size();
        entries_.push_back(std::move(e));
    }
    // Every byte accounted for, as the format requires ("entirely indexed, no holes"): sorted by
    // start, each tensor begins exactly where the previous one ended and the last ends at the end
    // of the file.  A header length one byte short still parses (headers end in padding spaces)
    // but shifts every tensor by a byte; the byte left over at the end gives it away.
    std::vector<const SafetensorsEntry*> sorted;
    for (const auto& e : entries_) sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
    uint64_t at = 0;
    const SafetensorsEntry* prev = nullptr;
    for (const auto* e : sorted) {
        if (e->end == e->begin) continue;
        if (e->begin < at) throw Error(path, e->name, "data overlaps tensor " + prev->name);
        if (e->begin > at)
            throw Error(path, e->name, "data begins at byte " + std::to_string(e->begin) + " of the data section, leaving bytes "
                                           + std::to_string(at) + ".." + std::to_string(e->begin) + " unaccounted for");
        at = e->end;
        prev = e;
    }
    if (at != dataSize)
        throw Error(path, "header", "the tensors account for " + std::to_string(at) + " bytes of a " + std::to_string(dataSize)
                                        + "-byte data section: the header length is wrong or the file has trailing bytes");
}

SafetensorsFile::~SafetensorsFile() = default;

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const
{
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const
{
    const SafetensorsEntry* e = find(name);
    if (!e) throw Error(path_, name, "no such tensor");
    const at::ScalarType t = dtypeFromSafetensors(e->dtype);
    if (e->end == e->begin) return at::empty(e->shape, at::TensorOptions().dtype(t));
    auto keep = map_;   // the mapping lives as long as any view of it
    void* ptr = const_cast<uint8_t*>(data_ + e->begin);
    return at::from_blob(ptr, e->shape, [keep](void*) {}, at::TensorOptions().dtype(t));
}

// ---------------------------------------------------------------------------------------------

WeightStore::WeightStore(const std::string& dir)
{
    const fs::path d(dir);
    if (!fs::is_directory(d)) throw Error(dir, "", "not a directory");
    std::vector<fs::path> paths;
    const fs::path index = d / "model.safetensors.index.json";
    if (fs::exists(index)) {
        describe_ = index.string();
        const nlohmann::json j = readJsonFile(index.string());
        if (!j.contains("weight_map") || !j["weight_map"].is_object())
            throw Error(index.string(), "weight_map", "missing or not an object");
        std::map<std::string, size_t> shardIndex;
        std::map<std::string, std::string> wanted;   // tensor -> shard
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it.value().is_string()) throw Error(index.string(), "weight_map." + it.key(), "not a file name");
            const std::string shard = it.value().get<std::string>();
            if (!shardIndex.count(shard)) {
                const fs::path sp = d / shard;
                if (!fs::exists(sp))
                    throw Error(index.string(), "weight_map." + it.key(), "missing shard file " + sp.string());
                shardIndex[shard] = files_.size();
                files_.push_back(std::make_unique<SafetensorsFile>(sp.string()));
            }
            wanted[it.key()] = shard;
        }
        for (const auto& [name, shard] : wanted) {
            const size_t fi = shardIndex[shard];
            if (!files_[fi]->find(name))
                throw Error(files_[fi]->path(), name, "listed in " + index.filename().string() + " but not in this shard");
            where_[name] = fi;
        }
    } else if (fs::exists(d / "model.safetensors")) {
        paths.push_back(d / "model.safetensors");
    } else {
        for (const auto& f : fs::directory_iterator(d))
            if (f.path().extension() == ".safetensors" && f.path().filename() != "value_head.safetensors")
                paths.push_back(f.path());
        std::sort(paths.begin(), paths.end());
        if (paths.empty())
            throw Error(dir, "", "no model.safetensors, model.safetensors.index.json or *.safetensors file "
                                 "(PyTorch .bin checkpoints are not read: convert them to safetensors)");
    }
    if (fs::exists(d / "value_head.safetensors")) paths.push_back(d / "value_head.safetensors");
    for (const auto& p : paths) {
        if (describe_.empty()) describe_ = p.string();
        files_.push_back(std::make_unique<SafetensorsFile>(p.string()));
        const size_t fi = files_.size() - 1;
        for (const auto& e : files_[fi]->entries())
            if (!where_.count(e.name)) where_[e.name] = fi;
    }
}

bool WeightStore::has(const std::string& name) const { return where_.count(name) > 0; }

const SafetensorsEntry& WeightStore::entry(const std::string& name) const
{
    auto it = where_.find(name);
    if (it == where_.end()) throw Error(describe_, name, "missing tensor");
    return *files_[it->second]->find(name);
}

void WeightStore::requireFloat(const std::string& name) const
{
    const std::string& t = entry(name).dtype;
    if (t != "F32" && t != "F16" && t != "BF16" && t != "F64")
        throw Error(fileOf(name), name, "dtype " + t + " is not a float type (F32, F16, BF16)");
}

const std::string& WeightStore::fileOf(const std::string& name) const
{
    auto it = where_.find(name);
    return it == where_.end() ? describe_ : files_[it->second]->path();
}

at::Tensor WeightStore::tensor(const std::string& name) const
{
    auto it = where_.find(name);
    if (it == where_.end()) throw Error(describe_, name, "missing tensor");
    return files_[it->second]->tensor(name);
}

std::vector<std::string> WeightStore::names() const
{
    std::vector<std::string> r;
    for (const auto& [n, _] : where_) r.push_back(n);
    return r;
}

int64_t WeightStore::numParameters() const
{
    int64_t n = 0;
    for (const auto& [name, fi] : where_) {
        int64_t k = 1;
        for (auto s : files_[fi]->find(name)->shape) k *= s;
        n += k;
    }
    return n;
}

std::string WeightStore::storedDtype() const
{
    std::map<std::string, int64_t> bytes;
    for (const auto& [name, fi] : where_) {
        const auto* e = files_[fi]->find(name);
        bytes[e->dtype] += static_cast<int64_t>(e->end - e->begin);
    }
    std::string best;
    int64_t most = -1;
    for (const auto& [d, b] : bytes)
        if (b > most) most = b, best = d;
    return best;
}

// ---------------------------------------------------------------------------------------------

void writeSafetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    nlohmann::ordered_json header;
    if (!metadata.empty()) {
        nlohmann::ordered_json m = nlohmann::ordered_json::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        header["__metadata__"] = m;
    }
    std::vector<at::Tensor> data;
    uint64_t offset = 0;
    for (const auto& [name, t0] : tensors) {
        at::Tensor t = t0.detach().to(at::kCPU).contiguous();
        std::string dtype;
        try {
            dtype = safetensorsDtypeName(t.scalar_type());
        } catch (const std::exception& e) {
            throw Error(path, name, e.what());
        }
        const uint64_t n = static_cast<uint64_t>(t.numel() * t.element_size());
        header[name] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
        offset += n;
        data.push_back(t);
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';   // keeps the data section 8-byte aligned
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path, "", "cannot write");
    uint64_t len = h.size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(len >> (8 * i));
    out.write(reinterpret_cast<const char*>(le), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const auto& t : data)
        out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
    if (!out) throw Error(path, "", "write failed (disk full?)");
}

} // namespace rudder
