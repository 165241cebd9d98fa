#include "rudder/storage_version.h"
namespace rudder {
int sessionSchemaVersion() { return 1; }
}
