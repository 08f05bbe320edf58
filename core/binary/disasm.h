// What machine code refers to: the data addresses a function's instructions reach through
// RIP-relative operands (capstone).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/binary/go_binary.h"

namespace ifx {

struct Instruction {
  uint64_t address = 0;  // link-time address
  std::string bytes;     // hex
  std::string text;      // "mov rax, qword ptr [rsp + 0x18]"
};

// The instructions of the function containing pc: up to `before` ending at the one that holds
// pc, and up to `after` following it. Decoding starts at the function's entry, so instruction
// boundaries are the real ones. Empty when pc is in no function.
std::vector<Instruction> disassemble_around(const GoBinary& bin, uint64_t pc, size_t before,
                                            size_t after);

// Distinct RIP-relative operand targets of f's non-branch instructions that satisfy `keep`, in
// order of first appearance. Fails when the function's bytes are not in the file.
std::vector<uint64_t> data_references(const GoBinary& bin, const Func& f,
                                      const std::function<bool(uint64_t)>& keep);

}  // namespace ifx
