// What machine code refers to: the data addresses a function's instructions reach through
// RIP-relative operands (capstone).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/binary/go_binary.h"

namespace ifx {

// Distinct RIP-relative operand targets of f's non-branch instructions that satisfy `keep`, in
// order of first appearance. Fails when the function's bytes are not in the file.
std::vector<uint64_t> data_references(const GoBinary& bin, const Func& f,
                                      const std::function<bool(uint64_t)>& keep);

}  // namespace ifx
