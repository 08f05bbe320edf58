// Iteration over a Go map in target memory, for any key and value types: the classic hash map
// (runtime.hmap with 8-slot buckets, Go 1.0 to 1.23, and 1.24+ built with noswissmap). The
// caller says how big keys and values are; it gets the addresses of each live key and value and
// reads them with whatever decoder fits their types. Everything read is bounded: bucket counts,
// overflow chains and entries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/target/memory.h"

namespace ifx {

// Where a bucket keeps its slots (cmd/compile's MapBucketType: tophash [8]uint8, keys [8]K,
// elems [8]V, overflow *bucket). Keys or values over 128 bytes are stored behind a pointer.
struct GoMapBucketLayout {
  uint64_t key_slot = 0;  // bytes per key slot (8 when indirect)
  uint64_t value_slot = 0;
  bool key_indirect = false;
  bool value_indirect = false;
  uint64_t keys_offset = 8;
  uint64_t values_offset = 0;
  uint64_t overflow_offset = 0;
  uint64_t bucket_size = 0;

  // The layout the compiler gives map[K]V, from K's and V's size and alignment.
  static GoMapBucketLayout classic(uint64_t key_size, uint64_t key_align, uint64_t value_size,
                                   uint64_t value_align);
};

// Offsets inside runtime.hmap (stable from Go 1.12 to 1.23; DWARF may override them).
struct GoHmapLayout {
  uint64_t count = 0;
  uint64_t flags = 8;
  uint64_t log2_buckets = 9;  // B
  uint64_t buckets = 16;
  uint64_t oldbuckets = 24;
  uint64_t size = 48;
};

struct GoMapEntry {
  RemoteAddr key;    // the key's bytes (indirection followed)
  RemoteAddr value;  // the value's bytes
};

struct GoMapContents {
  uint64_t count = 0;  // what the map header claims
  std::vector<GoMapEntry> entries;
  bool truncated = false;  // stopped at max_entries
  std::string error;       // why not every entry could be read (partial entries are kept)
};

// Every live entry of the map whose header (*hmap) is at `hmap`: new buckets, and old buckets
// not yet evacuated while the map grows; each entry once. At most max_entries entries.
GoMapContents read_go_map(Memory& mem, RemoteAddr hmap, const GoMapBucketLayout& bucket,
                          size_t max_entries, const GoHmapLayout& header = {});

}  // namespace ifx
