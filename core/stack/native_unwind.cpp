// libunwind's remote unwinding with our own accessors: memory from ifxray's Memory (stacks) and
// from the modules' files (unwind tables and code), registers from the captured thread state.
#include "core/stack/native_unwind.h"

#include <elf.h>
#include <libunwind.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace ifx {

// libunwind's lookup in a remote .eh_frame_hdr table; exported, but declared only in its private
// headers (libunwind-ptrace calls it the same way).
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
                                                  unw_dyn_info_t* di, unw_proc_info_t* pi,
                                                  int need_unwind_info, void* arg);

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kHeaderBytes = 4096;

bool is_module_path(const std::string& p) {
  return !p.empty() && p.front() == '/' && !p.ends_with(" (deleted)");
}

}  // namespace

NativeModules::NativeModules(
    const std::vector<Mapping>& mappings, const std::string& exe_path,
    const std::string& exe_override,
    const std::function<size_t(uint64_t, std::span<uint8_t>)>& header_bytes) {
  // Every mapped file is a candidate: cores from gdb leave code out, and the ranges a core only
  // names (NT_FILE) come without their execute permission. Files that are not ELF are skipped
  // quietly unless they were mapped executable.
  std::vector<std::string> paths;
  std::set<std::string> executable;
  for (const auto& m : mappings) {
    bool exec = m.perms.find('x') != std::string::npos;
    if (exec && m.path.ends_with(" (deleted)")) {
      if (executable.insert(m.path).second) {
        problems_.push_back(
            fmt::format("{}: deleted since it was mapped; native frames in it "
                        "are neither unwound nor named",
                        m.path));
      }
      continue;
    }
    if (!is_module_path(m.path)) continue;
    if (exec) executable.insert(m.path);
    if (std::find(paths.begin(), paths.end(), m.path) == paths.end()) paths.push_back(m.path);
  }
  for (const auto& path : paths) {
    const Mapping* first = nullptr;  // the mapping of the ELF header
    for (const auto& m : mappings) {
      if (m.path == path && m.offset == 0 && (first == nullptr || m.start < first->start)) {
        first = &m;
      }
    }
    std::string file = (path == exe_path && !exe_override.empty()) ? exe_override : path;
    std::unique_ptr<ElfFile> elf;
    try {
      elf = ElfFile::open(file);
    } catch (const Error& e) {
      if (executable.count(path) != 0) {
        problems_.push_back(
            fmt::format("{}: missing or unreadable ({}); native frames in it are "
                        "neither unwound nor named",
                        file, e.what()));
      }
      continue;
    }
    if (elf->type() != ET_DYN && elf->type() != ET_EXEC) continue;
    uint64_t bias = 0;
    if (elf->type() == ET_DYN) {
      if (first == nullptr) {
        problems_.push_back(fmt::format("{}: its ELF header is not mapped; left out", file));
        continue;
      }
      uint64_t low = UINT64_MAX;
      for (const auto& s : elf->segments()) {
        if (s.type == PT_LOAD) low = std::min(low, s.vaddr & ~(kPage - 1));
      }
      bias = first->start.value() - (low == UINT64_MAX ? 0 : low);
    }
    if (first != nullptr) {
      std::vector<uint8_t> mem(std::min<uint64_t>(kHeaderBytes, first->end - first->start));
      size_t got = header_bytes(first->start.value(), mem);
      Bytes disk = elf->bytes().subspan(0, std::min<size_t>(got, elf->bytes().size()));
      if (got > 0 && (disk.size() != got || std::memcmp(disk.data(), mem.data(), got) != 0)) {
        problems_.push_back(
            fmt::format("{}: the file differs from the one the process mapped; "
                        "native frames in it are neither unwound nor named",
                        file));
        continue;
      }
    }
    modules_.push_back(std::make_unique<NativeModule>(file, bias, std::move(elf)));
    NativeModule* mod = modules_.back().get();
    for (const auto& m : mappings) {
      if (m.path == path) {
        ranges_.push_back(
            {m.start.value(), m.end.value(), mod, m.perms.find('w') != std::string::npos});
      }
    }
  }
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
}

NativeModules::~NativeModules() = default;

NativeModule* NativeModules::find(uint64_t pc) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), pc,
                             [](uint64_t v, const Range& r) { return v < r.start; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  return pc < it->end ? it->module : nullptr;
}

bool NativeModules::read_file(uint64_t addr, uint8_t* out, size_t size) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                             [](uint64_t v, const Range& r) { return v < r.start; });
  if (it == ranges_.begin()) return false;
  --it;
  if (addr >= it->end || it->writable) return false;
  return it->module->read(addr, out, size);
}

struct NativeUnwinder::Context {
  Memory* memory;
  NativeModules* modules;
  std::function<std::string(uint64_t)> go_function;
  unw_addr_space_t as = nullptr;
  const user_regs_struct* regs = nullptr;
  uint64_t failed_read = 0;  // the last address that could not be read, 0 if none
};

namespace {

using Ctx = NativeUnwinder::Context;

int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need_unwind_info,
                   void* arg) {
  auto* c = static_cast<Ctx*>(arg);
  NativeModule* mod = c->modules->find(ip);
  if (mod == nullptr || !mod->eh_frame_hdr()) return -UNW_ENOINFO;
  const auto& hdr = *mod->eh_frame_hdr();
  unw_dyn_info_t di{};
  di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  di.start_ip = mod->text_start();
  di.end_ip = mod->text_end();
  di.u.rti.segbase = hdr.addr;
  di.u.rti.table_data = hdr.table;
  di.u.rti.table_len = hdr.fde_count * 8 / sizeof(unw_word_t);
  return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

void put_unwind_info(unw_addr_space_t /*as*/, unw_proc_info_t* pi, void* /*arg*/) {
  free(pi->unwind_info);  // NOLINT: libunwind allocated it with malloc
  pi->unwind_info = nullptr;
}

int get_dyn_info_list_addr(unw_addr_space_t /*as*/, unw_word_t* /*addr*/, void* /*arg*/) {
  return -UNW_ENOINFO;
}

int access_mem(unw_addr_space_t /*as*/, unw_word_t addr, unw_word_t* val, int write, void* arg) {
  auto* c = static_cast<Ctx*>(arg);
  if (write != 0) return -UNW_EINVAL;  // never write the target
  uint8_t buf[sizeof(unw_word_t)];
  if (c->modules->read_file(addr, buf, sizeof buf) ||
      c->memory->read(RemoteAddr(addr), buf) == sizeof buf) {
    std::memcpy(val, buf, sizeof buf);
    return 0;
  }
  c->failed_read = addr;
  return -UNW_EINVAL;
}

int access_reg(unw_addr_space_t /*as*/, unw_regnum_t reg, unw_word_t* val, int write, void* arg) {
  auto* c = static_cast<Ctx*>(arg);
  if (write != 0) return -UNW_EINVAL;
  const user_regs_struct& r = *c->regs;
  switch (reg) {
    case UNW_X86_64_RAX:
      *val = r.rax;
      break;
    case UNW_X86_64_RDX:
      *val = r.rdx;
      break;
    case UNW_X86_64_RCX:
      *val = r.rcx;
      break;
    case UNW_X86_64_RBX:
      *val = r.rbx;
      break;
    case UNW_X86_64_RSI:
      *val = r.rsi;
      break;
    case UNW_X86_64_RDI:
      *val = r.rdi;
      break;
    case UNW_X86_64_RBP:
      *val = r.rbp;
      break;
    case UNW_X86_64_RSP:
      *val = r.rsp;
      break;
    case UNW_X86_64_R8:
      *val = r.r8;
      break;
    case UNW_X86_64_R9:
      *val = r.r9;
      break;
    case UNW_X86_64_R10:
      *val = r.r10;
      break;
    case UNW_X86_64_R11:
      *val = r.r11;
      break;
    case UNW_X86_64_R12:
      *val = r.r12;
      break;
    case UNW_X86_64_R13:
      *val = r.r13;
      break;
    case UNW_X86_64_R14:
      *val = r.r14;
      break;
    case UNW_X86_64_R15:
      *val = r.r15;
      break;
    case UNW_X86_64_RIP:
      *val = r.rip;
      break;
    default:
      return -UNW_EBADREG;
  }
  return 0;
}

int access_fpreg(unw_addr_space_t /*as*/, unw_regnum_t /*reg*/, unw_fpreg_t* /*val*/, int /*write*/,
                 void* /*arg*/) {
  return -UNW_EBADREG;
}

int resume(unw_addr_space_t /*as*/, unw_cursor_t* /*c*/, void* /*arg*/) {
  return -UNW_EINVAL;
}

int get_proc_name(unw_addr_space_t /*as*/, unw_word_t /*addr*/, char* /*buf*/, size_t /*len*/,
                  unw_word_t* /*off*/, void* /*arg*/) {
  return -UNW_ENOINFO;
}

unw_accessors_t accessors() {
  unw_accessors_t a{};
  a.find_proc_info = find_proc_info;
  a.put_unwind_info = put_unwind_info;
  a.get_dyn_info_list_addr = get_dyn_info_list_addr;
  a.access_mem = access_mem;
  a.access_reg = access_reg;
  a.access_fpreg = access_fpreg;
  a.resume = resume;
  a.get_proc_name = get_proc_name;
  return a;
}

NativeFrame make_frame(NativeModules& modules, uint64_t pc, uint64_t sp, bool innermost) {
  NativeFrame f;
  f.pc = pc;
  f.sp = sp;
  if (NativeModule* mod = modules.find(pc)) {
    f.module = mod->path();
    // A return address follows its call: name the call.
    uint64_t sym_pc = innermost || pc == 0 ? pc : pc - 1;
    NativeSymbol s = mod->symbolize(sym_pc);
    f.functions = std::move(s.functions);
    f.has_offset = s.has_offset;
    f.offset = s.offset + (pc - sym_pc);
  }
  return f;
}

}  // namespace

NativeUnwinder::NativeUnwinder(Memory& memory, NativeModules& modules,
                               std::function<std::string(uint64_t)> go_function)
    : ctx_(std::make_unique<Context>()) {
  ctx_->memory = &memory;
  ctx_->modules = &modules;
  ctx_->go_function = std::move(go_function);
  unw_accessors_t a = accessors();
  ctx_->as = unw_create_addr_space(&a, 0);
  if (ctx_->as != nullptr) unw_set_caching_policy(ctx_->as, UNW_CACHE_GLOBAL);
}

NativeUnwinder::~NativeUnwinder() {
  if (ctx_->as != nullptr) unw_destroy_addr_space(ctx_->as);
}

NativeStack NativeUnwinder::unwind(const user_regs_struct& regs, size_t max_frames,
                                   bool first_is_return) {
  NativeStack out;
  if (ctx_->as == nullptr) {
    out.error = "libunwind could not create an address space";
    return out;
  }
  ctx_->regs = &regs;
  ctx_->failed_read = 0;
  unw_cursor_t cursor;
  int rc = unw_init_remote(&cursor, ctx_->as, ctx_.get());
  if (rc < 0) {
    out.error = fmt::format("libunwind: cannot start at pc {:#x} ({})", regs.rip, unw_strerror(rc));
    return out;
  }
  std::set<std::pair<uint64_t, uint64_t>> seen;
  for (size_t depth = 0;; ++depth) {
    unw_word_t ip = 0;
    unw_word_t sp = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    unw_get_reg(&cursor, UNW_REG_SP, &sp);
    if (ip == 0) return out;  // the outermost frame (clone's CFI ends the chain with 0)
    std::string go = ctx_->go_function(ip);
    if (!go.empty()) {
      out.reached_go = go;
      return out;
    }
    if (depth >= max_frames) {
      out.truncated = true;
      return out;
    }
    if (!seen.insert({ip, sp}).second) {
      out.error = fmt::format("the frame at pc {:#x} sp {:#x} repeats", ip, sp);
      return out;
    }
    if (!out.frames.empty() && sp < out.frames.back().sp) {
      out.error = fmt::format("the stack pointer went down, to {:#x}: unwinding is lost", sp);
      return out;
    }
    // A return address outside every mapped module and outside Go is no code's: libunwind guessed
    // it (a thread caught as clone3 started it has no caller; its CFI ends there for gdb).
    if (!out.frames.empty() && ctx_->modules->find(ip) == nullptr) {
      out.error = fmt::format("return address {:#x} is in no mapped module", ip);
      return out;
    }
    out.frames.push_back(make_frame(*ctx_->modules, ip, sp, depth == 0 && !first_is_return));
    ctx_->failed_read = 0;
    rc = unw_step(&cursor);
    if (rc == 0) return out;
    if (rc < 0) {
      if (ctx_->failed_read != 0) {
        out.error = fmt::format("memory at {:#x} is unreadable: {}", ctx_->failed_read,
                                ctx_->memory->why_unreadable(RemoteAddr(ctx_->failed_read), 8));
      } else if (ctx_->modules->find(ip) == nullptr) {
        out.error = fmt::format("pc {:#x} is in no module with unwind tables", ip);
      } else {
        out.error = fmt::format("libunwind: {} after pc {:#x}", unw_strerror(rc), ip);
      }
      return out;
    }
  }
}

}  // namespace ifx
