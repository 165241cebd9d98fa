#pragma once
namespace rudder {
// The session file format version (PRAGMA user_version) this build writes.
int sessionSchemaVersion();
}
