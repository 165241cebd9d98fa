// A session's sweeps (rudder/sweep.h): which sweeps it holds, what their finished runs say, and
// which of a planned sweep's runs are already there — read the same way by the CLI and the GUI.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "rudder/session_db.h"
#include "rudder/sweep.h"

namespace rudder {

// Names of the sweeps in the session, in the order of their first run.
std::vector<std::string> sessionSweeps(const SessionDb& db);
// The sweep's finished runs pooled per grid point (unfinished ones are left out).
SweepSummary loadSweep(const SessionDb& db, const std::string& name);
// The session's run for this planned job (same sweep, role, point and seed; the latest), if any.
// Throws UsageError when that run holds another config (the sweep's name was reused).
std::optional<RunRow> findSweepRun(const std::vector<RunRow>& rows, const SweepJob& job, const std::string& sessionPath);

} // namespace rudder
