#include "rudder/storage_version.h"

#include "rudder/session_db.h"

namespace rudder {
int sessionSchemaVersion() { return SessionDb::currentSchemaVersion(); }
}
