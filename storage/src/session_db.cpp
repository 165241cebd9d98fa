// Session files: schema and migrations, crash-safe appends, run liveness, reading back.
#include "rudder/json_file.h"
#include "session_impl.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <sstream>

namespace rudder {

// Written into the header (PRAGMA application_id) so that any other SQLite file is refused
// rather than "upgraded".  'Rudr'.
static constexpr int32_t kApplicationId = 0x52756472;

// Forward migrations: kMigrations[v] takes a file from user_version v to v + 1.  Append a
// step for every format change; never edit a released one.
static const char* const kMigrations[] = {
    // 0 -> 1: the first format.
    R"sql(
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    method TEXT NOT NULL,
    config TEXT NOT NULL,            -- JSON
    seed INTEGER NOT NULL,           -- uint64 stored bit-for-bit in a signed 64-bit integer
    base_model TEXT NOT NULL,        -- JSON identity
    reward_model TEXT NOT NULL,      -- JSON identity
    gold_model TEXT,                 -- JSON identity or NULL
    device TEXT NOT NULL,
    dtype TEXT NOT NULL,
    versions TEXT NOT NULL,          -- JSON
    prompt_template TEXT NOT NULL,
    started TEXT NOT NULL,           -- ISO 8601 UTC
    finished TEXT,
    status TEXT NOT NULL,            -- running | done | cancelled | interrupted | failed
    message TEXT NOT NULL DEFAULT '',
    budget TEXT,                     -- JSON Budget at the end
    -- The process writing a running run, to tell a live writer from a dead one.
    writer_host TEXT, writer_boot TEXT, writer_pid INTEGER, writer_start INTEGER
);
CREATE TABLE prompts (
    run_id INTEGER NOT NULL,
    prompt_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    source_row INTEGER,
    PRIMARY KEY (run_id, prompt_index)
);
CREATE TABLE iterations (
    id INTEGER PRIMARY KEY,          -- append order
    run_id INTEGER NOT NULL,
    method TEXT NOT NULL,
    prompt_index INTEGER NOT NULL,   -- -1: one event for several prompts
    iteration INTEGER NOT NULL,
    stats TEXT NOT NULL,             -- JSON, the method's statistics
    budget_samples INTEGER NOT NULL,
    budget_tokens INTEGER NOT NULL,
    budget_flops REAL,
    budget_seconds REAL
);
CREATE INDEX iterations_run ON iterations (run_id, prompt_index, iteration);
CREATE TABLE samples (
    iteration_id INTEGER NOT NULL,
    pos INTEGER NOT NULL,            -- position inside the event
    run_id INTEGER NOT NULL,
    prompt_index INTEGER NOT NULL,
    iteration INTEGER NOT NULL,
    idx INTEGER NOT NULL,            -- Sample::index
    text TEXT NOT NULL,
    token_ids BLOB NOT NULL,         -- little-endian int32
    reward REAL,                     -- NULL: NaN (SQLite stores NaN as NULL)
    gold_reward REAL,
    weight REAL,
    accepted INTEGER,
    cut_index INTEGER,
    parent INTEGER,                  -- Sample::parent (index of the parent state in its chain)
    PRIMARY KEY (iteration_id, pos)
);
CREATE INDEX samples_run ON samples (run_id, iteration_id, pos);
CREATE TABLE finals (
    run_id INTEGER NOT NULL,
    prompt_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    token_ids BLOB NOT NULL,
    reward REAL,
    gold_reward REAL,
    PRIMARY KEY (run_id, prompt_index)
);
)sql",
    // 1 -> 2: the run's end-of-run summary (method statistics per prompt, text metrics, KL).
    R"sql(
ALTER TABLE runs ADD COLUMN summary TEXT;   -- JSON RunResult::summary, NULL until finishRun
)sql",
    // 2 -> 3: a reward's components per sample (ArmoRM's objectives).
    R"sql(
ALTER TABLE samples ADD COLUMN objectives BLOB;   -- little-endian float64 each; NULL for a scalar reward
)sql",
    // 3 -> 4: free-form labels of a run (a sweep's name, grid point and role).
    R"sql(
ALTER TABLE runs ADD COLUMN tags TEXT;   -- JSON object, NULL = none
)sql",
};
static constexpr int kSchemaVersion = int(sizeof(kMigrations) / sizeof(kMigrations[0]));

// ---------------------------------------------------------------------------------------------
// Small helpers

// A damaged file ("database disk image is malformed", "file is not a database") is the input's
// fault, so a UsageError (exit 2); anything else (disk full, locked) stays a run error.
[[noreturn]] static void throwSqlite(const std::string& path, int rc, const std::string& what)
{
    const int primary = rc & 0xff;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
        throw UsageError(path, "", "damaged session file (" + what + ")");
    throw Error(path, "", what.rfind("SQLite", 0) == 0 ? what : "SQLite: " + what);
}

bool Stmt::step()
{
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3* db = sqlite3_db_handle(s_);
    throwSqlite(*path_, rc, sqlite3_errmsg(db));
}

Stmt& Stmt::check(int rc)
{
    if (rc != SQLITE_OK)
        throw Error(*path_, "", std::string("SQLite bind: ") + sqlite3_errstr(rc));
    return *this;
}

std::string dumpJson(const nlohmann::json& j)
{
    // Decoded text may end inside a UTF-8 sequence: replace, never throw and lose the row.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string nowIso8601()
{
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
    return buf;
}

// ---------------------------------------------------------------------------------------------
// Reading back.  A value of the wrong type or out of range means the file was damaged or edited
// by hand: it is refused as bad input (exit code 2 in the CLI) naming the table.column and the
// row, never handed to code that indexes with it (prompt indices, iteration numbers, token ids).

namespace {
struct Cell {
    const Stmt& s;
    const std::string& path;
    std::string table, row;   // e.g. "samples", "run 3, iteration row 17"

    [[noreturn]] void bad(const char* col, const std::string& what) const
    {
        throw UsageError(path, table + "." + col + " (" + row + ")", what + "; the session is damaged");
    }
    int64_t integer(int c, const char* col, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) const
    {
        if (s.type(c) != SQLITE_INTEGER) bad(col, "not an integer");
        const int64_t v = s.i64(c);
        if (v < lo || v > hi)
            bad(col, std::to_string(v) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
        return v;
    }
    std::optional<int64_t> optInteger(int c, const char* col, int64_t lo = INT32_MIN, int64_t hi = INT32_MAX) const
    {
        return s.isNull(c) ? std::nullopt : std::optional<int64_t>(integer(c, col, lo, hi));
    }
    std::optional<double> optNumber(int c, const char* col) const
    {
        if (s.isNull(c)) return std::nullopt;   // SQLite stores NaN as NULL
        if (s.type(c) != SQLITE_FLOAT && s.type(c) != SQLITE_INTEGER) bad(col, "not a number");
        return s.f64(c);
    }
    double number(int c, const char* col) const
    {
        auto v = optNumber(c, col);
        if (!v) bad(col, "missing");
        return *v;
    }
    std::string text(int c, const char* col) const
    {
        if (s.type(c) != SQLITE_TEXT) bad(col, "not text");
        return s.text(c);
    }
    std::vector<int32_t> ids(int c, const char* col) const
    {
        if (s.type(c) != SQLITE_BLOB && !(s.type(c) == SQLITE_TEXT && s.text(c).empty())) bad(col, "not a blob");
        if (sqlite3_column_bytes(s.raw(), c) % 4 != 0) bad(col, "not a whole number of int32 token ids");
        return s.blob<int32_t>(c);
    }
    std::vector<double> doubles(int c, const char* col) const
    {
        if (s.type(c) != SQLITE_BLOB) bad(col, "not a blob");
        if (sqlite3_column_bytes(s.raw(), c) % 8 != 0) bad(col, "not a whole number of float64 values");
        return s.blob<double>(c);
    }
    nlohmann::json json(int c, const char* col) const
    {
        if (s.isNull(c)) return nullptr;
        const std::string t = text(c, col);
        if (t.empty()) return nullptr;
        try {
            return parseJsonText(t, "", "");
        } catch (const Error& e) {
            bad(col, e.what());
        }
    }
};
} // namespace

static std::string displayName(const nlohmann::json& model)
{
    if (!model.is_object()) return model.is_string() ? model.get<std::string>() : std::string();
    for (const char* key : {"name", "directory", "spec"}) {
        auto it = model.find(key);
        if (it == model.end() || !it->is_string()) continue;
        std::string s = it->get<std::string>();
        while (s.size() > 1 && s.back() == '/') s.pop_back();
        if (std::string(key) == "directory") {
            auto slash = s.rfind('/');
            if (slash != std::string::npos && slash + 1 < s.size()) s = s.substr(slash + 1);
        }
        if (!s.empty()) return s;
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// Writer liveness.  A run stays `running` only while the process that writes it lives.  We
// record host, boot id, pid and the process start time (so a recycled pid is not mistaken
// for the writer).  On another host we cannot tell, and keep trusting the row.

namespace {
struct Writer {
    std::string host, boot;
    int64_t pid = 0, start = 0;
};

std::string readFirstLine(const char* path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// Field 3 (state) and field 22 (start time in clock ticks since boot) of /proc/PID/stat.
bool procStat(int64_t pid, char& state, int64_t& start)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = all.rfind(')');   // the command name may contain spaces and parentheses
    if (close == std::string::npos) return false;
    std::istringstream rest(all.substr(close + 1));
    std::string tok;
    std::vector<std::string> f;
    while (rest >> tok) f.push_back(tok);
    if (f.size() < 20) return false;
    state = f[0].empty() ? '?' : f[0][0];
    start = std::strtoll(f[19].c_str(), nullptr, 10);
    return true;
}

const Writer& self()
{
    static const Writer w = [] {
        Writer s;
        char host[256] = {};
        gethostname(host, sizeof host - 1);
        s.host = host;
        s.boot = readFirstLine("/proc/sys/kernel/random/boot_id");
        s.pid = getpid();
        char state;
        procStat(s.pid, state, s.start);
        return s;
    }();
    return w;
}

bool writerAlive(const Writer& w)
{
    const Writer& me = self();
    if (w.host != me.host) return true;                       // cannot tell: trust the row
    if (!w.boot.empty() && !me.boot.empty() && w.boot != me.boot) return false;   // rebooted
    if (w.pid <= 0) return false;
    if (w.pid == me.pid) return w.start == me.start;
    if (kill(pid_t(w.pid), 0) != 0 && errno == ESRCH) return false;
    char state;
    int64_t start;
    if (procStat(w.pid, state, start)) {
        if (state == 'Z' || state == 'X') return false;       // killed, not yet reaped
        if (w.start != 0 && start != w.start) return false;   // pid reused by another process
    }
    return true;
}
} // namespace

// ---------------------------------------------------------------------------------------------
// Impl

SessionDb::Impl::~Impl()
{
    // A writer that goes away without finishing its runs leaves them interrupted, never
    // "running" forever (the process may live on, e.g. the GUI after closing a session).
    if (db && !readOnly) {
        for (int64_t id : owned) {
            try {
                auto s = stmt("UPDATE runs SET status = 'interrupted', message = ?2, writer_pid = NULL "
                              "WHERE id = ?1 AND status = 'running'");
                s.bind(1, id).bind(2, std::string("the session was closed before the run finished"));
                s.run();
            } catch (...) {
            }
        }
    }
    for (auto& [sql, s] : cache) sqlite3_finalize(s);
    if (db) sqlite3_close(db);
}

Stmt SessionDb::Impl::stmt(const std::string& sql)
{
    auto it = cache.find(sql);
    if (it == cache.end()) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), int(sql.size()), &s, nullptr) != SQLITE_OK)
            fail(std::string("SQLite: ") + sqlite3_errmsg(db));
        it = cache.emplace(sql, s).first;
    }
    return Stmt(it->second, &path);
}

void SessionDb::Impl::exec(const std::string& sql)
{
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string m = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        fail("SQLite: " + m);
    }
}

void SessionDb::Impl::fail(const std::string& what) const { throwSqlite(path, sqlite3_extended_errcode(db), what); }

void SessionDb::Impl::requireWritable(const char* op) const
{
    if (readOnly) throw Error(path, op, "the session is open read-only");
}

void SessionDb::Impl::requireRun(int64_t runId) const
{
    auto s = const_cast<Impl*>(this)->stmt("SELECT 1 FROM runs WHERE id = ?1");
    s.bind(1, runId);
    if (!s.step()) throw UsageError(path, "run", "no run with id " + std::to_string(runId));
}

std::vector<int64_t> SessionDb::Impl::runIds(const std::vector<int64_t>& requested) const
{
    if (!requested.empty()) {
        for (int64_t id : requested) requireRun(id);
        return requested;
    }
    std::vector<int64_t> ids;
    auto s = const_cast<Impl*>(this)->stmt("SELECT id FROM runs ORDER BY id");
    while (s.step()) ids.push_back(s.i64(0));
    return ids;
}

RunRow SessionDb::Impl::runRow(int64_t runId) const
{
    auto s = const_cast<Impl*>(this)->stmt(
        "SELECT id, method, status, message, base_model, reward_model, seed, started, finished, config, "
        "writer_host, writer_boot, writer_pid, writer_start, "
        "(SELECT max(reward) FROM finals f WHERE f.run_id = runs.id), "
        "(SELECT count(*) FROM iterations i WHERE i.run_id = runs.id), tags "
        "FROM runs WHERE id = ?1");
    s.bind(1, runId);
    if (!s.step()) throw UsageError(path, "run", "no run with id " + std::to_string(runId));
    const Cell c{s, path, "runs", "run " + std::to_string(runId)};
    RunRow r;
    r.id = s.i64(0);
    r.method = c.text(1, "method");
    const std::string status = c.text(2, "status");
    try {
        r.status = runStatusFromString(status);
    } catch (const Error&) {
        c.bad("status", "unknown status '" + status + "'");
    }
    r.message = s.text(3);
    r.base_model = displayName(c.json(4, "base_model"));
    r.reward_model = displayName(c.json(5, "reward_model"));
    r.seed = uint64_t(c.integer(6, "seed"));
    r.started = s.text(7);
    r.finished = s.text(8);
    r.config = c.json(9, "config");
    if (!r.config.is_object()) c.bad("config", "not a JSON object");
    r.best_final_reward = c.optNumber(14, "(best final reward)");
    r.iterations = s.i64(15);
    r.tags = c.json(16, "tags");
    if (r.tags.is_null()) r.tags = nlohmann::json::object();
    if (!r.tags.is_object()) c.bad("tags", "not a JSON object");
    if (r.status == RunStatus::Running && !owned.count(r.id)) {
        Writer w{s.text(10), s.text(11), s.isNull(12) ? 0 : s.i64(12), s.isNull(13) ? 0 : s.i64(13)};
        if (!writerAlive(w)) {
            r.status = RunStatus::Interrupted;
            r.message = "the writing process (pid " + std::to_string(w.pid) + ") ended before the run finished";
        }
    }
    return r;
}

int64_t SessionDb::Impl::insertIteration(int64_t runId, const IterationEvent& e)
{
    auto it = stmt("INSERT INTO iterations (run_id, method, prompt_index, iteration, stats, budget_samples, "
                   "budget_tokens, budget_flops, budget_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    it.bind(1, runId).bind(2, e.method).bind(3, e.prompt_index).bind(4, e.iteration)
        .bind(5, e.stats.is_null() ? std::string("{}") : dumpJson(e.stats))
        .bind(6, e.budget.samples).bind(7, e.budget.tokens).bind(8, e.budget.flops).bind(9, e.budget.seconds);
    it.run();
    int64_t iterId = sqlite3_last_insert_rowid(db);
    auto s = stmt("INSERT INTO samples (iteration_id, pos, run_id, prompt_index, iteration, idx, text, token_ids, "
                  "reward, gold_reward, weight, accepted, cut_index, parent, objectives) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
    for (size_t pos = 0; pos < e.samples.size(); ++pos) {
        const Sample& x = e.samples[pos];
        std::string blob = toBlob(x.token_ids);
        s.bind(1, iterId).bind(2, int64_t(pos)).bind(3, runId).bind(4, x.prompt_index).bind(5, x.iteration)
            .bind(6, x.index).bind(7, x.text).bindBlob(8, blob.data(), blob.size()).bind(9, x.reward)
            .bind(10, x.gold_reward).bind(11, x.weight).bind(12, x.accepted).bind(13, x.cut_index)
            .bind(14, x.parent);
        const std::string obj = toBlob(x.reward_objectives);
        if (x.reward_objectives.empty()) s.bindNull(15); else s.bindBlob(15, obj.data(), obj.size());
        s.run();
    }
    return iterId;
}

std::vector<IterationEvent> SessionDb::Impl::iterations(int64_t runId, bool withSamples) const
{
    auto* self = const_cast<Impl*>(this);
    const std::string run = "run " + std::to_string(runId);
    // Prompt indices must name one of the run's prompts (-1: an event for several prompts).
    int64_t prompts = 0;
    {
        auto s = self->stmt("SELECT count(*) FROM prompts WHERE run_id = ?1");
        s.bind(1, runId);
        if (s.step()) prompts = s.i64(0);
    }
    const int64_t lastPrompt = prompts > 0 ? prompts - 1 : INT32_MAX;   // imported runs may lack prompts
    std::vector<IterationEvent> out;
    std::vector<int64_t> ids;
    {
        auto s = self->stmt("SELECT id, method, prompt_index, iteration, stats, budget_samples, budget_tokens, "
                            "budget_flops, budget_seconds FROM iterations WHERE run_id = ?1 ORDER BY id");
        s.bind(1, runId);
        while (s.step()) {
            const Cell c{s, path, "iterations", run + ", row " + std::to_string(s.i64(0))};
            IterationEvent e;
            ids.push_back(s.i64(0));
            e.method = c.text(1, "method");
            e.prompt_index = int(c.integer(2, "prompt_index", -1, lastPrompt));
            e.iteration = int(c.integer(3, "iteration", 0, INT32_MAX));
            e.stats = c.json(4, "stats");
            if (!e.stats.is_object() && !e.stats.is_null()) c.bad("stats", "not a JSON object");
            e.budget.samples = c.integer(5, "budget_samples", 0);
            e.budget.tokens = c.integer(6, "budget_tokens", 0);
            e.budget.flops = c.optNumber(7, "budget_flops").value_or(0.0);
            e.budget.seconds = c.optNumber(8, "budget_seconds").value_or(0.0);
            out.push_back(std::move(e));
        }
    }
    if (!withSamples || out.empty()) return out;
    auto s = self->stmt("SELECT iteration_id, prompt_index, iteration, idx, text, token_ids, reward, gold_reward, "
                        "weight, accepted, cut_index, parent, pos, objectives FROM samples WHERE run_id = ?1 "
                        "ORDER BY iteration_id, pos");
    s.bind(1, runId);
    size_t k = 0;   // both lists are in iteration-id order: merge
    while (s.step()) {
        int64_t iterId = s.i64(0);
        while (k < ids.size() && ids[k] < iterId) ++k;
        if (k == ids.size() || ids[k] != iterId) continue;   // orphan row: ignore
        const Cell c{s, path, "samples", run + ", iteration row " + std::to_string(iterId) + ", position " + std::to_string(s.i64(12))};
        Sample x;
        x.prompt_index = int(c.integer(1, "prompt_index", 0, lastPrompt));
        x.iteration = int(c.integer(2, "iteration", 0, INT32_MAX));
        x.index = int(c.integer(3, "idx", INT32_MIN, INT32_MAX));
        x.text = c.text(4, "text");
        x.token_ids = c.ids(5, "token_ids");
        x.reward = c.optNumber(6, "reward").value_or(NAN);
        x.gold_reward = c.optNumber(7, "gold_reward");
        x.weight = c.optNumber(8, "weight");
        if (auto a = c.optInteger(9, "accepted", 0, 1)) x.accepted = *a != 0;
        if (auto v = c.optInteger(10, "cut_index")) x.cut_index = int(*v);
        if (auto v = c.optInteger(11, "parent")) x.parent = int(*v);
        if (!s.isNull(13)) x.reward_objectives = c.doubles(13, "objectives");
        out[k].samples.push_back(std::move(x));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Opening: every check that can refuse a file runs before anything is written to it.

// Reads the 100-byte database header ourselves so that a non-SQLite or truncated file is
// refused without SQLite ever opening it for writing.
static void checkHeader(const std::string& path)
{
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) throw UsageError(path, "", std::string("cannot open: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw UsageError(path, "", "not a regular file");
    if (st.st_size == 0) throw UsageError(path, "", "empty file, not a Rudder session (refusing to overwrite it)");
    std::ifstream in(path, std::ios::binary);
    unsigned char h[100] = {};
    in.read(reinterpret_cast<char*>(h), sizeof h);
    if (!in && in.gcount() == 0) throw UsageError(path, "", "cannot read the file header");
    // A file shorter than the 16-byte magic is simply not a database (h is zero-filled).
    if (std::memcmp(h, "SQLite format 3\0", 16) != 0)
        throw UsageError(path, "", "not a SQLite database, so not a Rudder session");
    if (st.st_size < 100) throw UsageError(path, "header", "truncated SQLite database (" + std::to_string(st.st_size) + " bytes)");
    auto be32 = [&](int o) { return uint32_t(h[o]) << 24 | uint32_t(h[o + 1]) << 16 | uint32_t(h[o + 2]) << 8 | h[o + 3]; };
    uint32_t pageSize = uint32_t(h[16]) << 8 | h[17];
    if (pageSize == 1) pageSize = 65536;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
        throw UsageError(path, "header", "damaged SQLite header (page size " + std::to_string(pageSize) + ")");
    // The in-header size is valid when the change counter matches version-valid-for.  A
    // non-empty -wal file may legitimately hold pages beyond it (interrupted checkpoint).
    uint32_t pages = be32(28);
    struct stat walSt{};
    bool walPending = ::stat((path + "-wal").c_str(), &walSt) == 0 && walSt.st_size > 0;
    if (pages > 0 && be32(24) == be32(92) && !walPending && uint64_t(st.st_size) < uint64_t(pages) * pageSize)
        throw UsageError(path, "", "truncated SQLite database: the header says " + std::to_string(uint64_t(pages) * pageSize) +
                                  " bytes, the file has " + std::to_string(st.st_size));
}

static int64_t pragmaInt(SessionDb::Impl& d, const char* pragma)
{
    auto s = d.stmt(std::string("PRAGMA ") + pragma);
    return s.step() ? s.i64(0) : 0;
}

SessionDb SessionDb::open(const std::string& path, Mode mode)
{
    auto d = std::make_unique<Impl>();
    d->path = path;
    d->readOnly = mode == Mode::ReadOnly;

    struct stat st{};
    bool exists = ::stat(path.c_str(), &st) == 0;
    if (!exists && d->readOnly) throw UsageError(path, "", "no such session file");
    if (exists) checkHeader(path);
    if (!exists) {   // SQLite's own "unable to open database file" does not say why
        const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
        if (!std::filesystem::is_directory(parent))
            throw UsageError(path, "", "the folder " + parent.string() + " does not exist (a new session is created in an existing folder)");
    }

    int flags = d->readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (exists ? 0 : SQLITE_OPEN_CREATE));
    if (sqlite3_open_v2(path.c_str(), &d->db, flags, nullptr) != SQLITE_OK) {
        std::string m = d->db ? sqlite3_errmsg(d->db) : "out of memory";
        throw UsageError(path, "", "cannot open session: " + m);
    }
    sqlite3_busy_timeout(d->db, 10000);   // a reader and the writer share the file
    sqlite3_extended_result_codes(d->db, 1);

    int64_t appId, version, objects;
    try {
        appId = pragmaInt(*d, "application_id");
        version = pragmaInt(*d, "user_version");
        auto s = d->stmt("SELECT count(*) FROM sqlite_master");
        objects = s.step() ? s.i64(0) : 0;
    } catch (const Error& e) {
        throw UsageError(path, "", std::string("not a readable SQLite database (") + sqlite3_errmsg(d->db) + ")");
    }
    bool blank = appId == 0 && version == 0 && objects == 0;
    if (!blank && appId != kApplicationId)
        throw UsageError(path, "application_id", "a SQLite database, but not a Rudder session");
    if (version > kSchemaVersion)
        throw UsageError(path, "user_version",
                    "session format " + std::to_string(version) + " is newer than this build reads (" +
                        std::to_string(kSchemaVersion) + "); open it with a newer Rudder (the file was not modified)");
    if (d->readOnly && blank) throw UsageError(path, "", "empty database, not a Rudder session");
    if (d->readOnly && version < kSchemaVersion)
        throw UsageError(path, "user_version",
                    "session format " + std::to_string(version) + " is older than this build's (" +
                        std::to_string(kSchemaVersion) + "); open it read-write once to upgrade it");

    if (!d->readOnly) {
        // WAL: readers see committed iterations while the writer appends.  synchronous=NORMAL
        // in WAL keeps every committed transaction across a crash of the *process* (SIGKILL:
        // the WAL is already in the OS page cache); only power loss may drop the last few.
        d->exec("PRAGMA journal_mode = WAL");
        d->exec("PRAGMA synchronous = NORMAL");
        for (int64_t v = version; v < kSchemaVersion; ++v) {
            Impl::Tx tx(*d);
            d->exec(kMigrations[v]);
            d->exec("PRAGMA application_id = " + std::to_string(kApplicationId));
            d->exec("PRAGMA user_version = " + std::to_string(v + 1));
            tx.commit();
        }
    }
    // Reading the run table touches the schema pages: a damaged file fails here, not later.  The
    // statement is finalised before the database can close (it used to outlive it when a damaged
    // run row threw below: a use-after-free).
    std::vector<int64_t> running;
    try {
        auto s = d->stmt("SELECT id, status FROM runs WHERE status = 'running'");
        while (s.step()) running.push_back(s.i64(0));
    } catch (const Error& e) {
        throw UsageError(path, "", std::string("damaged session: ") + e.what());
    }
    // A run left `running` by a writer that is gone reads as interrupted (runRow), so opening
    // writes nothing: a command refused after this point leaves the file byte-identical.  Its
    // row is still read here, so a damaged one is named now rather than half-way through a run.
    SessionDb db(std::move(d));
    if (!db.d->readOnly)
        for (int64_t id : running) {
            try {
                db.d->runRow(id);
            } catch (const Error& e) {
                throw UsageError(path, "run " + std::to_string(id), std::string("damaged session: ") + e.what());
            }
        }
    return db;
}

SessionDb::SessionDb(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
SessionDb::SessionDb(SessionDb&&) noexcept = default;
SessionDb& SessionDb::operator=(SessionDb&&) noexcept = default;
SessionDb::~SessionDb() = default;

const std::string& SessionDb::path() const { return d->path; }
int SessionDb::currentSchemaVersion() { return kSchemaVersion; }

// ---------------------------------------------------------------------------------------------
// Writing

int64_t SessionDb::createRun(const RunInfo& info)
{
    d->requireWritable("createRun");
    const Writer& me = self();
    auto s = d->stmt("INSERT INTO runs (method, config, seed, base_model, reward_model, gold_model, device, dtype, "
                     "versions, prompt_template, started, status, writer_host, writer_boot, writer_pid, writer_start, tags) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'running', ?12, ?13, ?14, ?15, ?16)");
    s.bind(1, info.method).bind(2, dumpJson(info.config)).bind(3, int64_t(info.seed)).bind(4, dumpJson(info.base_model))
        .bind(5, dumpJson(info.reward_model));
    if (info.gold.is_null()) s.bindNull(6); else s.bind(6, dumpJson(info.gold));
    s.bind(7, info.device).bind(8, info.dtype).bind(9, dumpJson(info.versions)).bind(10, info.prompt_template)
        .bind(11, nowIso8601()).bind(12, me.host).bind(13, me.boot).bind(14, me.pid).bind(15, me.start);
    if (!info.tags.is_object() || info.tags.empty()) s.bindNull(16); else s.bind(16, dumpJson(info.tags));
    s.run();
    int64_t id = sqlite3_last_insert_rowid(d->db);
    d->owned.insert(id);
    return id;
}

void SessionDb::addPrompt(int64_t runId, int index, const std::string& text, const std::string& source,
                          std::optional<int64_t> row)
{
    d->requireWritable("addPrompt");
    auto s = d->stmt("INSERT OR REPLACE INTO prompts (run_id, prompt_index, text, source, source_row) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind(1, runId).bind(2, index).bind(3, text).bind(4, source).bind(5, row);
    s.run();
}

void SessionDb::appendIteration(int64_t runId, const IterationEvent& event)
{
    d->requireWritable("appendIteration");
    if (!d->owned.count(runId))
        throw Error(d->path, "run", "run " + std::to_string(runId) + " is not open for writing here (resumeRun it first)");
    Impl::Tx tx(*d);   // one transaction per iteration: a crash keeps whole iterations only
    d->insertIteration(runId, event);
    tx.commit();
}

void SessionDb::setFinal(int64_t runId, const std::vector<FinalAnswer>& final)
{
    d->requireWritable("setFinal");
    d->requireRun(runId);
    Impl::Tx tx(*d);
    {
        auto del = d->stmt("DELETE FROM finals WHERE run_id = ?1");
        del.bind(1, runId);
        del.run();
    }
    auto s = d->stmt("INSERT OR REPLACE INTO finals (run_id, prompt_index, text, token_ids, reward, gold_reward) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    for (const FinalAnswer& f : final) {
        std::string blob = toBlob(f.token_ids);
        s.bind(1, runId).bind(2, f.prompt_index).bind(3, f.text).bindBlob(4, blob.data(), blob.size())
            .bind(5, f.reward).bind(6, f.gold_reward);
        s.run();
    }
    tx.commit();
}

void SessionDb::finishRun(int64_t runId, RunStatus status, const std::string& message, const Budget& budget,
                          const nlohmann::json& summary)
{
    d->requireWritable("finishRun");
    if (status == RunStatus::Running) throw Error(d->path, "status", "finishRun needs a final status, not 'running'");
    d->requireRun(runId);
    auto s = d->stmt("UPDATE runs SET status = ?2, message = ?3, finished = ?4, budget = ?5, summary = ?6, "
                     "writer_host = NULL, writer_boot = NULL, writer_pid = NULL, writer_start = NULL WHERE id = ?1");
    s.bind(1, runId).bind(2, std::string(toString(status))).bind(3, message).bind(4, nowIso8601())
        .bind(5, dumpJson(nlohmann::json(budget)));
    if (summary.is_null() || summary.empty()) s.bindNull(6); else s.bind(6, dumpJson(summary));
    s.run();
    d->owned.erase(runId);
}

void SessionDb::resumeRun(int64_t runId)
{
    d->requireWritable("resumeRun");
    RunRow r = d->runRow(runId);
    if (r.status == RunStatus::Running && !d->owned.count(runId))
        throw Error(d->path, "run", "run " + std::to_string(runId) + " is still being written by another process");
    const Writer& me = self();
    auto s = d->stmt("UPDATE runs SET status = 'running', message = '', finished = NULL, writer_host = ?2, "
                     "writer_boot = ?3, writer_pid = ?4, writer_start = ?5 WHERE id = ?1");
    s.bind(1, runId).bind(2, me.host).bind(3, me.boot).bind(4, me.pid).bind(5, me.start);
    s.run();
    d->owned.insert(runId);
}

void SessionDb::deleteRun(int64_t runId)
{
    d->requireWritable("deleteRun");
    RunRow r = d->runRow(runId);
    if (r.status == RunStatus::Running && !d->owned.count(runId))
        throw Error(d->path, "run", "run " + std::to_string(runId) + " is still being written by another process");
    Impl::Tx tx(*d);
    for (const char* table : {"samples", "iterations", "prompts", "finals"}) {
        auto s = d->stmt(std::string("DELETE FROM ") + table + " WHERE run_id = ?1");
        s.bind(1, runId);
        s.run();
    }
    auto s = d->stmt("DELETE FROM runs WHERE id = ?1");
    s.bind(1, runId);
    s.run();
    tx.commit();
    d->owned.erase(runId);
}

// ---------------------------------------------------------------------------------------------
// Reading

std::vector<RunRow> SessionDb::listRuns() const
{
    Impl::ReadTx snapshot(*d);
    std::vector<RunRow> rows;
    for (int64_t id : d->runIds({})) {
        try {
            rows.push_back(d->runRow(id));
        } catch (const UsageError& e) {
            // One damaged run must not hide the others: it is listed as failed, with the
            // reason; opening or exporting it is refused with the same message.
            RunRow r;
            r.id = id;
            r.method = "?";
            r.status = RunStatus::Failed;
            r.message = e.what();
            r.config = nlohmann::json::object();
            rows.push_back(std::move(r));
        }
    }
    return rows;
}

StoredRun SessionDb::loadRun(int64_t runId, bool withSamples) const
{
    Impl::ReadTx snapshot(*d);
    StoredRun r;
    r.row = d->runRow(runId);
    const std::string run = "run " + std::to_string(runId);
    {
        auto s = d->stmt("SELECT method, config, seed, base_model, reward_model, gold_model, device, dtype, versions, "
                         "prompt_template, budget, summary FROM runs WHERE id = ?1");
        s.bind(1, runId);
        s.step();
        const Cell c{s, d->path, "runs", run};
        r.info.method = c.text(0, "method");
        r.info.config = c.json(1, "config");
        r.info.seed = uint64_t(c.integer(2, "seed"));
        r.info.base_model = c.json(3, "base_model");
        r.info.reward_model = c.json(4, "reward_model");
        r.info.gold = c.json(5, "gold_model");
        r.info.device = s.text(6);
        r.info.dtype = s.text(7);
        r.info.versions = c.json(8, "versions");
        r.info.prompt_template = s.text(9);
        const nlohmann::json budget = c.json(10, "budget");
        if (budget.is_object()) {
            try {
                r.budget = budget.get<Budget>();
            } catch (const std::exception& e) {   // nlohmann: a field of the wrong type
                c.bad("budget", e.what());
            }
        }
        r.summary = c.json(11, "summary");
        r.info.tags = r.row.tags;
    }
    {
        auto s = d->stmt("SELECT prompt_index, text, source, source_row FROM prompts WHERE run_id = ?1 "
                         "ORDER BY prompt_index");
        s.bind(1, runId);
        while (s.step()) {
            const Cell c{s, d->path, "prompts", run + ", prompt " + std::to_string(s.i64(0))};
            // Indices are 0..P-1 in order: everything else refers to prompts by position.
            c.integer(0, "prompt_index", int64_t(r.prompts.size()), int64_t(r.prompts.size()));
            r.prompts.push_back({int(s.i64(0)), c.text(1, "text"), s.text(2), c.optInteger(3, "source_row", 0, INT64_MAX)});
        }
    }
    r.iterations = d->iterations(runId, withSamples);
    {
        auto s = d->stmt("SELECT prompt_index, text, token_ids, reward, gold_reward FROM finals WHERE run_id = ?1 "
                         "ORDER BY prompt_index");
        s.bind(1, runId);
        const int64_t lastPrompt = r.prompts.empty() ? INT32_MAX : int64_t(r.prompts.size()) - 1;
        while (s.step()) {
            const Cell c{s, d->path, "finals", run + ", prompt " + std::to_string(s.i64(0))};
            FinalAnswer f;
            f.prompt_index = int(c.integer(0, "prompt_index", 0, lastPrompt));
            f.text = c.text(1, "text");
            f.token_ids = c.ids(2, "token_ids");
            f.reward = c.optNumber(3, "reward").value_or(NAN);
            f.gold_reward = c.optNumber(4, "gold_reward");
            r.final.push_back(std::move(f));
        }
    }
    return r;
}

std::vector<IterationEvent> SessionDb::loadCompletedIterations(int64_t runId) const
{
    Impl::ReadTx snapshot(*d);
    d->requireRun(runId);
    return d->iterations(runId, true);
}

std::string SessionDb::integrityCheck() const
{
    auto s = d->stmt("PRAGMA integrity_check");
    std::string out;
    while (s.step()) out += (out.empty() ? "" : "\n") + s.text(0);
    return out;
}

} // namespace rudder
