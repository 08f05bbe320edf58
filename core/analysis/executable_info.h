// Builds the `info` report of an executable: build info, layout facts, pc and function lookups.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/binary/go_binary.h"
#include "core/report/executable.h"
#include "core/runtime/go_runtime.h"

namespace ifx {

report::Executable describe_executable(const GoBinary& bin);
report::PcLookup lookup_pc(const GoBinary& bin, uint64_t pc);
report::FuncLookup lookup_func(const GoBinary& bin, const std::string& name);
report::RuntimeLayout describe_layout(const RuntimeModel& model);

}  // namespace ifx
