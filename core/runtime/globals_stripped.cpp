// Stripped binaries keep function names (pclntab) but lose variable names. A runtime global is
// found as the k-th distinct writable-data address that a small runtime function refers to.
// Each rule was measured on Go 1.19, 1.26 and 1.27; tests/integration/layout_tables.py checks
// every rule against the symbol table of the unstripped build of each toolchain. Where two rules
// exist they must agree, or the global stays unknown.
#include <elf.h>

#include "core/binary/disasm.h"
#include "core/runtime/globals.h"

namespace ifx {
namespace {

struct CodeRule {
  Glob global;
  std::string_view function;
  size_t index;   // among the function's distinct writable-data references
  int since = 0;  // the first Go 1.x release that has the global (no rule, no problem before)
};

// clang-format off
constexpr CodeRule kRules[] = {
    {Glob::kAllgs, "runtime.forEachG", 1},
    {Glob::kAllglen, "runtime.forEachGRace", 0},
    {Glob::kAllglen, "runtime.allgadd", 6},
    {Glob::kAllm, "runtime.mcommoninit", 2},
    {Glob::kAllp, "runtime.preemptall", 0},
    {Glob::kSched, "runtime.oneNewExtraM", 1},
    {Glob::kGomaxprocs, "runtime.GOMAXPROCS", 1},
    {Glob::kNcpu, "runtime.osinit", 0},
    {Glob::kMemstats, "runtime.(*mheap).grow", 2},
    {Glob::kMheap, "runtime.getempty.func1", 0},
    {Glob::kMheap, "runtime.stackpoolalloc", 1},
    {Glob::kGcController, "runtime.gcinit", 1},
    {Glob::kWaitReasonStrings, "runtime.waitReason.String", 0},
    {Glob::kAllfin, "runtime.queuefinalizer", 5},
    {Glob::kGcCleanups, "runtime.(*activeSweep).end", 6, 24},
    {Glob::kSemtable, "runtime.semrelease1", 0},
};
// clang-format on

}  // namespace

Globals find_globals_in_code(const GoBinary& bin) {
  Globals g;
  g.source = "code references";
  if (bin.elf().machine() != EM_X86_64) {
    g.source = "none (stripped, and code references are read on amd64 only)";
    return g;
  }
  auto writable = [&](uint64_t a) {
    for (const auto& s : bin.elf().segments()) {
      if (s.type == PT_LOAD && (s.flags & PF_W) != 0 && a >= s.vaddr && a - s.vaddr < s.memsz) {
        return true;
      }
    }
    return false;
  };
  std::array<bool, static_cast<size_t>(Glob::kCount)> conflict{};
  std::array<bool, static_cast<size_t>(Glob::kCount)> expected{};
  for (const CodeRule& rule : kRules) {
    if (bin.version().known() && !bin.version().at_least(rule.since)) continue;
    expected[static_cast<size_t>(rule.global)] = true;
    auto f = bin.pclntab().find_func_by_name(rule.function);
    if (!f) continue;
    std::vector<uint64_t> refs;
    try {
      refs = data_references(bin, *f, writable);
    } catch (const Error& e) {
      g.problems.push_back(e.what());
      continue;
    }
    if (rule.index >= refs.size()) continue;
    auto& slot = g.addr[static_cast<size_t>(rule.global)];
    if (slot && *slot != refs[rule.index]) conflict[static_cast<size_t>(rule.global)] = true;
    if (!slot) slot = refs[rule.index];
  }
  for (size_t i = 0; i < conflict.size(); ++i) {
    if (!conflict[i]) continue;
    g.addr[i].reset();
    g.problems.push_back(fmt::format("{}: code references disagree; left unknown",
                                     global_name(static_cast<Glob>(i))));
  }
  for (size_t i = 0; i < g.addr.size(); ++i) {
    if (!g.addr[i] && !conflict[i] && expected[i]) {
      g.problems.push_back(
          fmt::format("{}: not found in code references", global_name(static_cast<Glob>(i))));
    }
  }
  return g;
}

}  // namespace ifx
