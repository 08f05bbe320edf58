// RIP-relative reference extraction over capstone's x86-64 decoder.
#include "core/binary/disasm.h"

#include <capstone/capstone.h>

#include <algorithm>
#include <memory>

namespace ifx {
namespace {

constexpr uint64_t kMaxFunctionBytes = 1 << 20;

struct CapstoneHandle {
  csh handle = 0;
  CapstoneHandle() {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) fail("capstone: cannot open");
    cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
  }
  ~CapstoneHandle() { cs_close(&handle); }
  CapstoneHandle(const CapstoneHandle&) = delete;
  CapstoneHandle& operator=(const CapstoneHandle&) = delete;
};

}  // namespace

std::vector<Instruction> disassemble_around(const GoBinary& bin, uint64_t pc, size_t before,
                                            size_t after) {
  std::vector<Instruction> out;
  auto f = bin.pclntab().find_func(pc);
  if (!f || f->end - f->entry > kMaxFunctionBytes) return out;
  auto code = bin.elf().file_bytes_at(f->entry, f->end - f->entry);
  if (!code) return out;
  CapstoneHandle cs;
  cs_option(cs.handle, CS_OPT_DETAIL, CS_OPT_OFF);
  cs_insn* insn = cs_malloc(cs.handle);
  std::unique_ptr<cs_insn, void (*)(cs_insn*)> owner(insn, [](cs_insn* i) { cs_free(i, 1); });
  const uint8_t* p = code->data();
  size_t left = code->size();
  uint64_t address = f->entry;
  size_t after_pc = 0;
  while (left > 0 && after_pc <= after) {
    uint64_t at = address;
    Instruction ins;
    ins.address = at;
    if (cs_disasm_iter(cs.handle, &p, &left, &address, insn)) {
      ins.text = fmt::format("{} {}", insn->mnemonic, insn->op_str);
      for (uint16_t i = 0; i < insn->size; ++i) ins.bytes += fmt::format("{:02x}", insn->bytes[i]);
    } else {
      ins.text = "(bad)";
      ins.bytes = fmt::format("{:02x}", *p);
      ++p;
      --left;
      ++address;
    }
    if (!ins.text.empty() && ins.text.back() == ' ') ins.text.pop_back();
    bool holds_pc = at <= pc && pc < address;
    if (after_pc > 0 || holds_pc) ++after_pc;
    out.push_back(std::move(ins));
    if (after_pc == 0 && out.size() > before) out.erase(out.begin());
  }
  return out;
}

std::vector<uint64_t> data_references(const GoBinary& bin, const Func& f,
                                      const std::function<bool(uint64_t)>& keep) {
  uint64_t size = f.end - f.entry;
  if (size == 0 || size > kMaxFunctionBytes)
    fail("{}: implausible size", bin.pclntab().func_name(f));
  auto code = bin.elf().file_bytes_at(f.entry, size);
  if (!code) fail("{}: code is not in the file", bin.pclntab().func_name(f));
  CapstoneHandle cs;
  cs_insn* insn = cs_malloc(cs.handle);
  std::unique_ptr<cs_insn, void (*)(cs_insn*)> owner(insn, [](cs_insn* i) { cs_free(i, 1); });
  const uint8_t* p = code->data();
  size_t left = code->size();
  uint64_t address = f.entry;
  std::vector<uint64_t> out;
  while (left > 0) {
    if (!cs_disasm_iter(cs.handle, &p, &left, &address, insn)) {
      // Undecodable bytes (padding, data in text): skip one and go on.
      ++p;
      --left;
      ++address;
      continue;
    }
    if (cs_insn_group(cs.handle, insn, CS_GRP_JUMP) ||
        cs_insn_group(cs.handle, insn, CS_GRP_CALL)) {
      continue;
    }
    const cs_x86& x86 = insn->detail->x86;
    for (uint8_t i = 0; i < x86.op_count; ++i) {
      const cs_x86_op& op = x86.operands[i];
      if (op.type != X86_OP_MEM || op.mem.base != X86_REG_RIP || op.mem.index != X86_REG_INVALID) {
        continue;
      }
      uint64_t target = insn->address + insn->size + static_cast<uint64_t>(op.mem.disp);
      if (keep(target) && std::find(out.begin(), out.end(), target) == out.end()) {
        out.push_back(target);
      }
    }
  }
  return out;
}

}  // namespace ifx
