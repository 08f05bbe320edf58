// The executable's JSON fields, shared by the documents of `info EXE` and `info PID|CORE`.
#pragma once

#include "core/report/executable.h"
#include "formats/json_writer.h"

namespace ifx::formats {

// Writes the executable's keys into the object `w` has open.
void write_executable_fields(JsonWriter& w, const report::Executable& e);

}  // namespace ifx::formats
