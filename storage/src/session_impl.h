// Internals shared by session_db.cpp (schema, writing, reading) and session_export.cpp.
#pragma once
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <sqlite3.h>

#include "rudder/error.h"
#include "rudder/session_db.h"

namespace rudder {

// Numbers stored as BLOBs (token ids as int32, reward objectives as float64): little-endian
// whatever the host, so a session file moves between machines.
template <class T>
std::string toBlob(const std::vector<T>& v)
{
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    static_assert(sizeof(T) == sizeof(U) && std::is_trivially_copyable_v<T>);
    std::string b(v.size() * sizeof(T), '\0');
    for (size_t i = 0; i < v.size(); ++i) {
        U u;
        std::memcpy(&u, &v[i], sizeof(T));
        for (size_t k = 0; k < sizeof(T); ++k) b[sizeof(T) * i + k] = char((u >> (8 * k)) & 0xff);
    }
    return b;
}
template <class T>
std::vector<T> fromBlob(const void* data, size_t bytes)   // whole elements only (bytes / sizeof(T))
{
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    static_assert(sizeof(T) == sizeof(U) && std::is_trivially_copyable_v<T>);
    auto p = static_cast<const unsigned char*>(data);
    std::vector<T> out(bytes / sizeof(T));
    for (size_t i = 0; i < out.size(); ++i) {
        U u = 0;
        for (size_t k = 0; k < sizeof(T); ++k) u |= U(p[sizeof(T) * i + k]) << (8 * k);
        std::memcpy(&out[i], &u, sizeof(T));
    }
    return out;
}

// A prepared statement, reset on scope exit so the cached one can be reused.
class Stmt {
public:
    Stmt(sqlite3_stmt* s, const std::string* path) : s_(s), path_(path) {}
    ~Stmt()
    {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
    Stmt& bind(int i, int v) { return check(sqlite3_bind_int64(s_, i, v)); }
    Stmt& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
    Stmt& bind(int i, const std::string& v)
    {
        return check(sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
    }
    Stmt& bindBlob(int i, const void* p, size_t n)
    {
        return check(sqlite3_bind_blob(s_, i, n ? p : "", int(n), SQLITE_TRANSIENT));
    }
    Stmt& bindNull(int i) { return check(sqlite3_bind_null(s_, i)); }
    template <class T>
    Stmt& bind(int i, const std::optional<T>& v)
    {
        return v ? bind(i, *v) : bindNull(i);
    }
    Stmt& bind(int i, const std::optional<bool>& v)
    {
        return v ? bind(i, int64_t(*v ? 1 : 0)) : bindNull(i);
    }

    bool step();   // true: a row is ready; false: done.  Throws on error.
    void run()   // steps to the end, then resets (bindings kept) for the next use
    {
        while (step()) {}
        sqlite3_reset(s_);
    }

    bool isNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
    int type(int c) const { return sqlite3_column_type(s_, c); }
    sqlite3_stmt* raw() const { return s_; }
    int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
    double f64(int c) const { return sqlite3_column_double(s_, c); }
    std::string text(int c) const
    {
        auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
        return p ? std::string(p, size_t(sqlite3_column_bytes(s_, c))) : std::string();
    }
    template <class T>
    std::vector<T> blob(int c) const   // a toBlob() column
    {
        return fromBlob<T>(sqlite3_column_blob(s_, c), size_t(sqlite3_column_bytes(s_, c)));
    }

private:
    Stmt& check(int rc);
    sqlite3_stmt* s_;
    const std::string* path_;
};

struct SessionDb::Impl {
    std::string path;
    bool readOnly = false;
    sqlite3* db = nullptr;
    std::map<std::string, sqlite3_stmt*> cache;   // prepared once, reused (hot path: samples)
    std::set<int64_t> owned;                      // runs this object writes

    ~Impl();
    Stmt stmt(const std::string& sql);            // cached prepared statement
    void exec(const std::string& sql);            // ad hoc SQL without results
    [[noreturn]] void fail(const std::string& what) const;
    void requireWritable(const char* op) const;
    void requireRun(int64_t runId) const;

    // Transactions: BEGIN IMMEDIATE takes the write lock up front (no deadlock upgrade).
    class Tx {
    public:
        explicit Tx(Impl& d) : d_(d) { d_.exec("BEGIN IMMEDIATE"); }
        ~Tx()
        {
            if (!done_) sqlite3_exec(d_.db, "ROLLBACK", nullptr, nullptr, nullptr);
        }
        void commit()
        {
            d_.exec("COMMIT");
            done_ = true;
        }

    private:
        Impl& d_;
        bool done_ = false;
    };

    // One consistent snapshot for a multi-statement read while a writer appends (WAL readers
    // never block it).  Nests: only the outermost one begins and ends the transaction.
    class ReadTx {
    public:
        explicit ReadTx(const Impl& d) : db_(d.db)
        {
            if (sqlite3_get_autocommit(db_)) began_ = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
        }
        ~ReadTx()
        {
            if (began_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
        }

    private:
        sqlite3* db_;
        bool began_ = false;
    };

    std::vector<int64_t> runIds(const std::vector<int64_t>& requested) const;  // empty = all
    RunRow runRow(int64_t runId) const;
    std::vector<IterationEvent> iterations(int64_t runId, bool withSamples) const;
    int64_t insertIteration(int64_t runId, const IterationEvent& e);
};

std::string nowIso8601();
std::string dumpJson(const nlohmann::json& j);

} // namespace rudder
