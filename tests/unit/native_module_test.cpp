// NativeModules and NativeUnwinder over this test process itself: modules found by address,
// names of functions we know, a call chain we made unwound by libunwind through our accessors,
// and the warnings for library files that are missing or differ.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cstring>

#include <fstream>
#include <functional>
#include <sstream>

#include <ucontext.h>

#include "core/stack/native_unwind.h"
#include "core/target/proc_fs.h"
#include "core/target/process_memory.h"

extern "C" __attribute__((noinline, used)) int ifx_native_probe(int x) {
  return x * 3 + 1;
}

namespace {
ucontext_t g_context;
std::function<void()> g_in_leaf;  // runs while the chain is on the stack
}  // namespace

// A call chain whose innermost function captures its registers; the asm statements keep each
// call from becoming a tail call.
extern "C" __attribute__((noinline)) void ifx_native_leaf() {
  getcontext(&g_context);
  g_in_leaf();
  __asm__ volatile("" ::: "memory");
}
extern "C" __attribute__((noinline)) void ifx_native_mid() {
  ifx_native_leaf();
  __asm__ volatile("" ::: "memory");
}
extern "C" __attribute__((noinline)) void ifx_native_top() {
  ifx_native_mid();
  __asm__ volatile("" ::: "memory");
}

namespace {

std::vector<ifx::Mapping> own_maps() {
  std::ifstream in("/proc/self/maps");
  std::stringstream text;
  text << in.rdbuf();
  return ifx::procfs::parse_maps(text.str());
}

std::string own_exe() {
  std::vector<char> buf(4096);
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
}

size_t read_self(uint64_t addr, std::span<uint8_t> out) {
  std::memcpy(out.data(), reinterpret_cast<const void*>(addr), out.size());
  return out.size();
}

}  // namespace

TEST_CASE("native modules: this process's executable, and a function of it by name") {
  ifx::NativeModules mods(own_maps(), own_exe(), "", read_self);
  CHECK(mods.problems().empty());
  auto pc = reinterpret_cast<uint64_t>(&ifx_native_probe);
  ifx::NativeModule* m = mods.find(pc);
  REQUIRE(m != nullptr);
  CHECK(m->path() == own_exe());
  CHECK(m->eh_frame_hdr().has_value());
  ifx::NativeSymbol s = m->symbolize(pc + 1);
  REQUIRE(!s.functions.empty());
  CHECK(s.functions.back() == "ifx_native_probe");
  CHECK(s.has_offset);
  CHECK(s.offset == 1);
}

TEST_CASE("native modules: a file that differs from the mapped one, or is missing, is left out") {
  std::vector<ifx::Mapping> maps = own_maps();
  auto changed = [](uint64_t addr, std::span<uint8_t> out) {
    size_t n = read_self(addr, out);
    out[out.size() / 2] ^= 0xff;  // not what the file holds
    return n;
  };
  ifx::NativeModules mods(maps, own_exe(), "", changed);
  CHECK(mods.find(reinterpret_cast<uint64_t>(&ifx_native_probe)) == nullptr);
  bool differs = false;
  for (const auto& p : mods.problems()) differs = differs || p.find("differs") != std::string::npos;
  CHECK(differs);

  ifx::Mapping gone{ifx::RemoteAddr(0x10000), ifx::RemoteAddr(0x20000), 0, "r-xp",
                    "/nonexistent/libgone.so"};
  ifx::Mapping deleted{ifx::RemoteAddr(0x30000), ifx::RemoteAddr(0x40000), 0, "r-xp",
                       "/tmp/libold.so (deleted)"};
  ifx::Mapping data{ifx::RemoteAddr(0x50000), ifx::RemoteAddr(0x60000), 0, "r--p", "/etc/hostname"};
  ifx::NativeModules bad({gone, deleted, data}, own_exe(), "", read_self);
  REQUIRE(bad.problems().size() == 2);
  CHECK(bad.problems()[0].find("libold.so (deleted): deleted") != std::string::npos);
  CHECK(bad.problems()[1].find("/nonexistent/libgone.so: missing") != std::string::npos);
  CHECK(bad.find(0x10010) == nullptr);
}

TEST_CASE("native unwinder: a call chain of this process, through our accessors") {
  ifx::NativeStack stack;
  ifx::NativeStack bounded;
  g_in_leaf = [&] {
    const auto& gr = g_context.uc_mcontext.gregs;
    user_regs_struct regs{};
    regs.rip = static_cast<uint64_t>(gr[REG_RIP]);
    regs.rsp = static_cast<uint64_t>(gr[REG_RSP]);
    regs.rbp = static_cast<uint64_t>(gr[REG_RBP]);
    regs.rbx = static_cast<uint64_t>(gr[REG_RBX]);
    regs.r12 = static_cast<uint64_t>(gr[REG_R12]);
    regs.r13 = static_cast<uint64_t>(gr[REG_R13]);
    regs.r14 = static_cast<uint64_t>(gr[REG_R14]);
    regs.r15 = static_cast<uint64_t>(gr[REG_R15]);
    std::vector<ifx::Mapping> maps = own_maps();
    ifx::NativeModules mods(maps, own_exe(), "", read_self);
    ifx::ProcessMemory mem(::getpid(), maps);
    auto top = reinterpret_cast<uint64_t>(&ifx_native_top);
    // Stop where the "Go code" starts: here, the test case's own function, as a stand-in.
    ifx::NativeUnwinder unwinder(mem, mods, [&](uint64_t pc) -> std::string {
      ifx::NativeModule* m = mods.find(pc);
      if (m == nullptr || pc <= top) return {};
      ifx::NativeSymbol s = m->symbolize(pc - 1);
      return !s.functions.empty() && s.functions.back().find("native_unwinder") != std::string::npos
                 ? "the test case"
                 : std::string();
    });
    stack = unwinder.unwind(regs, 16);
    bounded = unwinder.unwind(regs, 2);
  };
  ifx_native_top();
  std::vector<std::string> names;
  for (const auto& f : stack.frames)
    names.push_back(f.functions.empty() ? "?" : f.functions.back());
  CHECK(stack.error.empty());
  REQUIRE(names.size() >= 3);
  CHECK(names[0] == "ifx_native_leaf");
  // After getcontext returns, the leaf runs std::function's call operator, inlined into it when
  // optimised: then it is a frame of its own, innermost, demangled.
  if (stack.frames[0].functions.size() > 1) {
    CHECK(stack.frames[0].functions.size() == 2);
    CHECK(stack.frames[0].functions[0].starts_with("std::function<void ()>::operator()"));
  }
  CHECK(names[1] == "ifx_native_mid");
  CHECK(names[2] == "ifx_native_top");
  CHECK(stack.frames[1].sp > stack.frames[0].sp);
  CHECK(bounded.frames.size() == 2);
  CHECK(bounded.truncated);
}
