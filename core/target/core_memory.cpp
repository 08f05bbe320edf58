// Serves core memory piece by piece: core bytes, then backing files, then the zero rule of
// ifxray's own cores; anything else is unreadable with the reason the core gives.
#include "core/target/core_memory.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace ifx {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr std::string_view kDeleted = " (deleted)";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

void add_file_only_segments(std::vector<CoreLoad>& segments,
                            const std::vector<CoreFileMapping>& files) {
  auto by_start = [](const CoreLoad& a, const CoreLoad& b) { return a.start < b.start; };
  std::vector<CoreLoad> added;
  for (const auto& f : files) {
    auto it = std::upper_bound(segments.begin(), segments.end(), CoreLoad{f.start}, by_start);
    if (it != segments.begin() && std::prev(it)->end() > f.start) --it;
    uint64_t at = f.start;
    for (; at < f.end; ++it) {
      uint64_t next = it == segments.end() ? f.end : std::min(it->start, f.end);
      if (next > at) added.push_back({at, next - at, 0, 0, 0, PF_R});
      if (it == segments.end()) break;
      at = std::max(at, it->end());
    }
  }
  if (added.empty()) return;
  added.insert(added.end(), segments.begin(), segments.end());
  std::sort(added.begin(), added.end(), by_start);
  segments.clear();
  for (const auto& s : added) {  // overlapping NT_FILE entries would add a gap twice
    if (segments.empty() || s.start >= segments.back().end()) segments.push_back(s);
  }
}

CoreMemory::CoreMemory(Bytes core, std::vector<CoreLoad> segments,
                       std::vector<CoreFileMapping> files, bool untouched_is_zero)
    : core_(core),
      segments_(std::move(segments)),
      files_(std::move(files)),
      untouched_is_zero_(untouched_is_zero) {
  starts_.reserve(segments_.size());
  for (const auto& s : segments_) starts_.push_back(s.start);
}

const CoreLoad* CoreMemory::segment_at(uint64_t addr) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), addr);
  if (it == starts_.begin()) return nullptr;
  const CoreLoad& s = segments_[static_cast<size_t>(it - starts_.begin()) - 1];
  return addr - s.start < s.memsz ? &s : nullptr;
}

const CoreFileMapping* CoreMemory::file_at(uint64_t addr) const {
  auto it = std::upper_bound(files_.begin(), files_.end(), addr,
                             [](uint64_t a, const CoreFileMapping& f) { return a < f.start; });
  if (it == files_.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

void CoreMemory::substitute_file(const std::string& core_path, const std::string& local_path) {
  substitutes_[core_path] = local_path;
  backings_.erase(core_path);
}

const CoreMemory::Backing& CoreMemory::backing(const std::string& core_path) {
  auto found = backings_.find(core_path);
  if (found != backings_.end()) return found->second;
  Backing b;
  auto sub = substitutes_.find(core_path);
  if (sub != substitutes_.end()) {
    try {
      b.file = std::make_unique<MappedFile>(sub->second);
    } catch (const Error& e) {
      b.error = e.what();
    }
  } else if (ends_with(core_path, kDeleted)) {
    // Whatever is at that path now is not the file that was mapped.
    b.error =
        fmt::format("{} was deleted", core_path.substr(0, core_path.size() - kDeleted.size()));
  } else {
    try {
      b.file = std::make_unique<MappedFile>(core_path);
    } catch (const Error& e) {
      b.error = e.what();
    }
  }
  return backings_.emplace(core_path, std::move(b)).first->second;
}

CoreMemory::Piece CoreMemory::from_file(const CoreFileMapping& f, uint64_t addr, uint64_t limit) {
  const Backing& b = backing(f.path);
  if (!b.file) return {Piece::kMissing, 0, nullptr, "not in the core, and " + b.error};
  Bytes bytes = b.file->bytes();
  uint64_t delta = addr - f.start;
  if (f.offset > UINT64_MAX - delta) return {Piece::kMissing, 0, nullptr, "bad NT_FILE offset"};
  uint64_t off = f.offset + delta;
  if (off < bytes.size())
    return {Piece::kFile, std::min(limit, bytes.size() - off), bytes.data() + off, {}};
  // A mapping reads zeros in the rest of the file's last page, and faults after it.
  uint64_t page_end = (bytes.size() + kPageSize - 1) / kPageSize * kPageSize;
  if (off < page_end) return {Piece::kZero, std::min(limit, page_end - off), nullptr, {}};
  return {Piece::kMissing, 0, nullptr,
          fmt::format("not in the core, and past the end of {}", b.file->path())};
}

CoreMemory::Piece CoreMemory::locate(uint64_t addr, bool core_only) {
  const CoreLoad* s = segment_at(addr);
  if (s == nullptr) return {Piece::kMissing, 0, nullptr, "not mapped"};
  uint64_t off = addr - s->start;
  if (off < s->present) {
    return {Piece::kCore, s->present - off, core_.data() + s->offset + off, {}};
  }
  bool truncated = off < s->filesz;
  std::string reason = truncated ? "not in the core: the core is truncated"
                                 : "not in the core: the dumper skipped it";
  if (core_only) return {Piece::kMissing, 0, nullptr, std::move(reason)};
  if ((s->flags & PF_R) == 0) {
    return {Piece::kMissing, 0, nullptr, "not in the core: mapped without read permission"};
  }
  // Pieces stop where the cut-off part ends, so each piece has one rule.
  uint64_t limit = truncated ? s->filesz - off : s->memsz - off;
  bool writable = (s->flags & PF_W) != 0;
  if (const CoreFileMapping* f = file_at(addr)) {
    // A written private page is in the core unless the core was cut off; a page the dumper
    // skipped is one the process never wrote (the kernel dumps every mapping with anonymous
    // pages; gdb and ifxray mimic it), so the file holds its bytes even when writable.
    bool use_file = truncated ? !writable : (!writable || s->filesz == 0 || untouched_is_zero_);
    if (use_file) return from_file(*f, addr, std::min(limit, f->end - addr));
  } else if (!truncated && untouched_is_zero_) {
    return {Piece::kZero, limit, nullptr, {}};
  }
  return {Piece::kMissing, 0, nullptr, std::move(reason)};
}

size_t CoreMemory::copy(uint64_t addr, std::span<uint8_t> out, bool core_only) {
  size_t done = 0;
  while (done < out.size()) {
    uint64_t a = addr + done;
    if (a < addr) break;  // wrapped around the address space
    Piece p = locate(a, core_only);
    if (p.kind == Piece::kMissing) break;
    size_t n = static_cast<size_t>(std::min<uint64_t>(out.size() - done, p.len));
    if (p.kind == Piece::kZero) {
      std::memset(out.data() + done, 0, n);
    } else {
      std::memcpy(out.data() + done, p.data, n);
    }
    done += n;
  }
  return done;
}

size_t CoreMemory::read(RemoteAddr addr, std::span<uint8_t> out) {
  size_t n = copy(addr.value(), out, false);
  ++reads_;
  bytes_read_ += n;
  return n;
}

size_t CoreMemory::read_core_only(RemoteAddr addr, std::span<uint8_t> out) {
  return copy(addr.value(), out, true);
}

std::string CoreMemory::why_unreadable(RemoteAddr addr, uint64_t size) {
  uint64_t a = addr.value();
  uint64_t end = a + size < a ? UINT64_MAX : a + size;
  while (a < end) {
    Piece p = locate(a, false);
    if (p.kind == Piece::kMissing) {
      return a == addr.value() ? p.reason : fmt::format("{:#x}: {}", a, p.reason);
    }
    if (p.len > end - a) break;
    a += p.len;
  }
  return {};
}

}  // namespace ifx
