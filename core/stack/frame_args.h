// A frame's arguments as the runtime's traceback prints them ("0x1, {0xc000010000, 0x3}, 0x2?"),
// decoded from the function's ArgInfo funcdata and read from the frame's argument area.
#pragma once

#include <string>

#include "core/stack/unwind.h"

namespace ifx {

// The text between the parentheses; empty when the function has no argument info.
std::string frame_args(GoRuntime& rt, PcCache& cache, const PhysicalFrame& frame);

}  // namespace ifx
