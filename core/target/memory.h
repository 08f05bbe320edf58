// One interface for target memory, whatever serves it: a live process, a core file with its
// executable, a snapshot copied while the process was stopped, or a fake in a unit test.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/target/remote.h"

namespace ifx {

// One range of a batched read: the caller owns `out`; `done` receives the bytes read from the
// start of the range (short when the range runs into memory that cannot be read).
struct ReadRequest {
  RemoteAddr addr;
  std::span<uint8_t> out;
  size_t done = 0;
};

// Bytes of [start, start + size) that were copied before the process was stopped, at `data`.
struct AdoptedRange {
  RemoteAddr start;
  uint64_t size = 0;
  const uint8_t* data = nullptr;
};

class Memory {
 public:
  virtual ~Memory() = default;

  // Copies what it can of [addr, addr + out.size()) into out and returns how many bytes, from
  // the start, it copied. Never throws for unreadable memory; 0 means nothing there.
  virtual size_t read(RemoteAddr addr, std::span<uint8_t> out) = 0;
  // Many ranges at once; live sources batch them into few system calls.
  virtual void read_many(std::span<ReadRequest> requests) {
    for (auto& r : requests) r.done = read(r.addr, r.out);
  }
  // Copy these ranges now, for reads later: a live snapshot fetches them in a few system calls
  // while the process is stopped and keeps them without a second copy. Other sources need
  // nothing ahead of time.
  virtual void capture(std::span<const RemoteRange> /*ranges*/) {}
  // Keep bytes copied before the process was stopped, which the caller has proved unchanged
  // since, as if captured now (no second copy); `owner` keeps them alive. False when this
  // source keeps nothing (the caller then captures those ranges instead).
  virtual bool adopt(std::span<const AdoptedRange> /*ranges*/,
                     std::shared_ptr<const void> /*owner*/) {
    return false;
  }
  // True while capture() copies (a snapshot of a stopped process): worth batching reads ahead.
  virtual bool captures() const { return false; }
  // The bytes of [addr, addr + size) in place, without a copy, when this source holds them in
  // one piece that stays put for its whole life (a snapshot's bulk captures); nullptr otherwise
  // (then read()). For scanning a captured heap object by object without copying it.
  virtual const uint8_t* view(RemoteAddr /*addr*/, uint64_t /*size*/) { return nullptr; }
  // Why [addr, addr+size) cannot be read, in a few words ("not mapped", "not in the core:
  // skipped by the dumper", "not captured in the snapshot").
  virtual std::string why_unreadable(RemoteAddr addr, uint64_t size) = 0;

  // True when the whole range was copied.
  bool read_exact(RemoteAddr addr, std::span<uint8_t> out) { return read(addr, out) == out.size(); }
  template <typename T>
  std::optional<T> read_value(RemoteAddr addr) {
    T v{};
    std::span<uint8_t> out(reinterpret_cast<uint8_t*>(&v), sizeof v);
    if (!read_exact(addr, out)) return std::nullopt;
    return v;
  }
  std::optional<uint64_t> read_u64(RemoteAddr addr) { return read_value<uint64_t>(addr); }
  std::optional<RemoteAddr> read_ptr(RemoteAddr addr) {
    auto v = read_u64(addr);
    return v ? std::optional<RemoteAddr>(RemoteAddr(*v)) : std::nullopt;
  }
};

}  // namespace ifx
