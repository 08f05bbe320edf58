// The roots of a mark phase (runtime/mgcmark.go markroot): data and bss through the modules'
// pointer masks, goroutine stacks (stack_roots.cpp), and the specials of spans.
#include <algorithm>
#include <cstring>

#include <elf.h>

#include "core/heap/heap.h"
#include "core/heap/stack_roots.h"

namespace ifx {
namespace {

constexpr uint64_t kMaxGlobalBytes = uint64_t{1} << 34;

// Data symbols sorted by address, to name a global root.
class SymbolNames {
 public:
  explicit SymbolNames(const ElfFile& elf) {
    for (const ElfSymbol& s : elf.symbols()) {
      if (s.type == STT_OBJECT && s.size > 0) syms_.push_back(&s);
    }
    std::sort(syms_.begin(), syms_.end(),
              [](const ElfSymbol* a, const ElfSymbol* b) { return a->value < b->value; });
  }
  const ElfSymbol* find(uint64_t link_addr) const {
    auto it = std::upper_bound(syms_.begin(), syms_.end(), link_addr,
                               [](uint64_t a, const ElfSymbol* s) { return a < s->value; });
    if (it == syms_.begin()) return nullptr;
    const ElfSymbol* s = *(it - 1);
    return link_addr - s->value < s->size ? s : nullptr;
  }

 private:
  std::vector<const ElfSymbol*> syms_;
};

void global_roots(GoRuntime& rt, const HeapIndex& heap, RootSet& out) {
  SymbolNames names(rt.binary().elf());
  Memory& mem = rt.memory();
  for (const ModuleRoots& m : heap.capture().modules) {
    for (bool bss : {false, true}) {
      RemoteRange r = bss ? m.bss : m.data;
      RemoteAddr mask_at = bss ? m.bss_mask : m.data_mask;
      if (r.size == 0 || r.size > kMaxGlobalBytes) continue;
      std::vector<uint8_t> bytes(r.size);
      std::vector<uint8_t> mask((r.size / 8 + 7) / 8);
      if (!mem.read_exact(r.start, bytes) || !mem.read_exact(mask_at, mask)) {
        out.problems.push_back(fmt::format("{} section at {} or its pointer mask unreadable: {}",
                                           bss ? "bss" : "data", r.start,
                                           mem.why_unreadable(r.start, r.size)));
        continue;
      }
      for (uint64_t w = 0; w < r.size / 8; ++w) {
        if (((mask[w / 8] >> (w % 8)) & 1) == 0) continue;
        uint64_t v = 0;
        std::memcpy(&v, &bytes[w * 8], 8);
        if (v == 0) continue;
        Root root;
        root.kind = bss ? RootKind::kBss : RootKind::kData;
        root.slot = r.start + w * 8;
        root.value = RemoteAddr(v);
        if (const ElfSymbol* s = names.find(root.slot.value() - rt.bias())) {
          root.name = s->name;
          root.offset = root.slot.value() - rt.bias() - s->value;
        } else {
          root.name = bss ? "bss" : "data";
          root.offset = w * 8;
        }
        out.roots.push_back(root);
      }
    }
  }
}

void special_roots(GoRuntime& rt, const HeapIndex& heap, RootSet& out) {
  for (const SpecialRoot& sp : heap.capture().specials) {
    Root r;
    r.kind = RootKind::kFinalizer;
    r.name = sp.kind == SpecialRoot::kFinalizer ? "finalizer"
             : sp.kind == SpecialRoot::kCleanup ? "cleanup"
                                                : "weak handle";
    if (!sp.value.is_null()) {
      r.slot = sp.slot;
      r.value = sp.value;
      r.offset = sp.object.value();
      out.roots.push_back(r);
    }
    if (sp.kind != SpecialRoot::kFinalizer) continue;
    // A finalizer keeps everything its object points to alive, not the object itself.
    auto obj = heap.object_at(sp.object);
    if (!obj) continue;
    heap.for_each_pointer(*obj, [&](RemoteAddr slot, RemoteAddr value) {
      Root inner = r;
      inner.slot = slot;
      inner.value = value;
      out.roots.push_back(inner);
    });
  }
  for (const RootBlock& b : heap.capture().blocks) {
    std::vector<uint8_t> bytes(b.words.size);
    size_t got = rt.memory().read(b.words.start, bytes);
    for (size_t w = 0; w + 8 <= got; w += 8) {
      uint64_t v = 0;
      std::memcpy(&v, &bytes[w], 8);
      if (v == 0) continue;
      Root r;
      r.kind = RootKind::kFinalizer;
      r.slot = b.words.start + w;
      r.value = RemoteAddr(v);
      r.conservative = true;
      r.name = b.name;
      r.offset = r.slot.value();
      out.roots.push_back(r);
    }
  }
}

}  // namespace

std::string_view root_kind_name(RootKind k) {
  switch (k) {
    case RootKind::kData:
      return "data";
    case RootKind::kBss:
      return "bss";
    case RootKind::kStack:
      return "stack";
    case RootKind::kFinalizer:
      return "finalizer";
    case RootKind::kRuntime:
      return "runtime";
  }
  return "?";
}

std::string Root::where() const {
  switch (kind) {
    case RootKind::kData:
    case RootKind::kBss:
      return offset == 0 ? fmt::format("global {}", name)
                         : fmt::format("global {}+{:#x}", name, offset);
    case RootKind::kStack:
      return fmt::format("goroutine {} frame {} sp+{:#x}{}", goid, name, offset,
                         conservative ? " (conservative)" : "");
    case RootKind::kFinalizer:
      return fmt::format("{} of {:#x}", name, offset);
    case RootKind::kRuntime:
      return goid >= 0 ? fmt::format("goroutine {} {}", goid, name) : std::string(name);
  }
  return "?";
}

RootSet collect_roots(GoRuntime& rt, const HeapIndex& heap, std::span<const Goroutine> goroutines,
                      const RootOptions& opts) {
  RootSet out;
  if (opts.globals) global_roots(rt, heap, out);
  if (opts.stacks) {
    StackScanner scanner(rt, heap, opts);
    for (const Goroutine& g : goroutines) scanner.scan(g, out);
  }
  if (opts.specials) special_roots(rt, heap, out);
  return out;
}

}  // namespace ifx
