// Reading mheap_.allspans: every mspan, kept when in use and sane, its allocation bits, and the
// replay of a pre-read in the stop (see span_reader.h and SpanPreread in heap.h).
#include "core/heap/span_reader.h"

#include <algorithm>
#include <cstring>

#include "core/util/phases.h"

namespace ifx {
namespace {

constexpr uint64_t kPageSize = 8192;
constexpr uint8_t kSpanInUse = 1;  // mSpanInUse since Go 1.14

uint64_t get_le(const uint8_t* p, uint64_t size) {
  uint64_t v = 0;
  for (uint64_t i = 0; i < size && i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

void read_clustered(Memory& mem, std::span<ReadRequest> reqs,
                    std::vector<RemoteRange>* groups_out) {
  constexpr uint64_t kGap = 4096, kMaxGroup = 4 << 20;
  std::vector<size_t> order(reqs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return reqs[a].addr < reqs[b].addr; });
  struct Group {
    uint64_t start, end;
    size_t first, last;  // into order
  };
  std::vector<Group> groups;
  for (size_t k = 0; k < order.size(); ++k) {
    const ReadRequest& r = reqs[order[k]];
    uint64_t s = r.addr.value(), e = s + r.out.size();
    if (e < s || r.out.empty()) continue;
    if (!groups.empty() && s <= groups.back().end + kGap &&
        std::max(e, groups.back().end) - groups.back().start <= kMaxGroup) {
      groups.back().end = std::max(groups.back().end, e);
      groups.back().last = k;
    } else {
      groups.push_back({s, e, k, k});
    }
  }
  std::vector<uint8_t> buf;
  uint64_t total = 0;
  for (const auto& g : groups) total += g.end - g.start;
  buf.resize(total);
  std::vector<ReadRequest> big(groups.size());
  uint64_t at = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    big[i].addr = RemoteAddr(groups[i].start);
    big[i].out = std::span<uint8_t>(buf.data() + at, groups[i].end - groups[i].start);
    at += groups[i].end - groups[i].start;
  }
  mem.read_many(big);
  if (groups_out != nullptr) {
    for (const auto& g : groups) groups_out->push_back({RemoteAddr(g.start), g.end - g.start});
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    for (size_t k = groups[i].first; k <= groups[i].last; ++k) {
      ReadRequest& r = reqs[order[k]];
      uint64_t off = r.addr.value() - groups[i].start;
      if (r.out.empty()) continue;
      size_t avail = big[i].done > off ? big[i].done - off : 0;
      if (avail < r.out.size()) {
        r.done = mem.read(r.addr, r.out);  // the group stopped early: this one on its own
      } else {
        std::memcpy(r.out.data(), big[i].out.data() + off, r.out.size());
        r.done = r.out.size();
      }
    }
  }
}

// Reads mspan fields from a copy of the struct.
struct SpanFields {
  const Layout& l;
  uint64_t size;  // of one mspan
  std::optional<uint64_t> get(const uint8_t* mspan, Fld f) const {
    auto info = l.field(f);
    if (!info || info->offset + info->size > size) return std::nullopt;
    return get_le(mspan + info->offset, info->size);
  }
};

void SpanReader::keep_spans(SpanPreread& keep) {
  // Chunks were grouped apart: merge what overlaps, so that each cluster is one kept range the
  // stop can view whole.
  keep.clusters = merge_nearby(std::move(keep.clusters), 0, UINT64_MAX);
  keep.usable = out_.problems.empty() && out_.skipped.empty() && !out_.skipped_unbounded;
  keep.spans = std::move(out_.spans);
  keep.entry_of_span = std::move(entries_);
  keep.alloc_words = std::move(out_.alloc_words);
}

// mheap_.allspans: its array and the entries to read (bounded).
std::optional<std::pair<RemoteAddr, uint64_t>> SpanReader::allspans() {
  const Layout& l = rt_.layout();
  auto mheap = rt_.global(Glob::kMheap);
  auto span_size = l.size(Typ::kMspan);
  if (!mheap || !span_size || !l.field(Fld::kMheapAllspansArray) ||
      !l.field(Fld::kMspanStartAddr) || !l.field(Fld::kMspanState)) {
    problem("runtime.mheap_ or the mspan layout is unknown: the heap cannot be read");
    return std::nullopt;
  }
  auto arr = rt_.read_field(*mheap, Fld::kMheapAllspansArray);
  auto len = rt_.read_field(*mheap, Fld::kMheapAllspansLen);
  if (!arr || !len) {
    problem(fmt::format("mheap_.allspans unreadable: {}", mem_.why_unreadable(*mheap, 8)));
    return std::nullopt;
  }
  uint64_t n = *len;
  if (n > opts_.max_spans) {
    problem(fmt::format("mheap_.allspans has {} entries, more than the bound {}; reading {}", n,
                        opts_.max_spans, opts_.max_spans));
    n = opts_.max_spans;
  }
  return std::make_pair(RemoteAddr(*arr), n);
}

bool SpanReader::read_spans(SpanPreread* keep) {
  keep_ = keep;
  auto all = allspans();
  if (!all) return false;
  auto [arr, n] = *all;
  // In chunks, so that a corrupt length costs no more memory than the entries that can be
  // read; a chunk without one readable mspan ends the walk.
  constexpr uint64_t kChunk = 1 << 16;
  uint64_t ssize = *rt_.layout().size(Typ::kMspan);
  SpanFields f{rt_.layout(), ssize};
  uint64_t total = 0;
  size_t unreadable = 0;
  std::vector<uint8_t> ptrs, structs;
  std::vector<ReadRequest> reqs;
  if (keep_ != nullptr) keep_->struct_size = ssize;
  for (uint64_t c = 0; c < n; c += kChunk) {
    uint64_t m = std::min(kChunk, n - c);
    ptrs.resize(m * 8);
    size_t got = mem_.read(arr + c * 8, ptrs);
    if (got < ptrs.size()) {
      problem(fmt::format("mheap_.allspans: only {} of {} entries readable ({})", c + got / 8, n,
                          mem_.why_unreadable(arr + c * 8 + got, 8)));
      m = got / 8;
      n = c + m;
    }
    structs.resize(m * ssize);
    reqs.assign(m, ReadRequest{});
    for (uint64_t i = 0; i < m; ++i) {
      reqs[i].addr = RemoteAddr(get_le(&ptrs[i * 8], 8));
      reqs[i].out = std::span<uint8_t>(structs.data() + i * ssize, ssize);
    }
    read_clustered(mem_, reqs, keep_ != nullptr ? &keep_->clusters : nullptr);
    if (keep_ != nullptr) {
      for (uint64_t i = 0; i < m; ++i) {
        keep_->ptrs.push_back(reqs[i].addr.value());
        keep_->read_whole.push_back(reqs[i].done == ssize ? 1 : 0);
      }
      keep_->structs.insert(keep_->structs.end(), structs.begin(), structs.end());
    }
    size_t readable = 0;
    for (uint64_t i = 0; i < m; ++i) {
      if (reqs[i].done < ssize) {
        ++unreadable;
        continue;
      }
      ++readable;
      if (!add_span(f, structs.data() + i * ssize, reqs[i].addr, total, c + i)) {
        n = 0;
        break;
      }
    }
    if (m > 0 && readable == 0) {
      problem(
          fmt::format("mheap_.allspans: no readable mspan among entries {}-{}; stopped", c, c + m));
      break;
    }
  }
  if (unreadable > 0) problem(fmt::format("{} mspan structs unreadable", unreadable));
  sort_and_check_overlaps(0);
  return true;
}

// The stop with a pre-read (SpanPreread): copy allspans and the mspan structs again, keep the
// spans whose mspan bytes did not change, decode the others and the new entries. False, with
// nothing changed, when the pre-read cannot serve (then read_spans reads everything).
bool SpanReader::replay(SpanPreread& p) {
  uint64_t ssize = p.struct_size;
  if (!p.usable || ssize == 0 || ssize != rt_.layout().size(Typ::kMspan).value_or(0)) {
    return false;
  }
  size_t problems_before = out_.problems.size();
  auto all = allspans();
  if (!all || all->second < p.ptrs.size() || out_.problems.size() != problems_before) {
    out_.problems.resize(problems_before);
    return false;
  }
  auto [arr, n] = *all;
  // A length far past the pre-read's is corrupt or a heap that grew a lot: the full read,
  // which reads a bad length in bounded chunks, handles both.
  if (n - p.ptrs.size() > p.ptrs.size() + 65536) return false;
  std::vector<uint64_t> ptrs(n);
  std::span<uint8_t> raw(reinterpret_cast<uint8_t*>(ptrs.data()), n * 8);
  // allspans only grows; its prefix must still name the same mspans.
  if (mem_.read(arr, raw) != raw.size() ||
      std::memcmp(ptrs.data(), p.ptrs.data(), p.ptrs.size() * 8) != 0) {
    return false;
  }
  mem_.capture(p.clusters);
  std::vector<const uint8_t*> views(p.clusters.size());
  for (size_t k = 0; k < views.size(); ++k) {
    views[k] = mem_.view(p.clusters[k].start, p.clusters[k].size);
  }
  std::vector<uint8_t> changed(n, 1);
  for (size_t i = 0; i < p.ptrs.size(); ++i) {
    if (p.read_whole[i] == 0) continue;
    auto c = std::upper_bound(p.clusters.begin(), p.clusters.end(), p.ptrs[i],
                              [](uint64_t a, const RemoteRange& r) { return a < r.start.value(); });
    if (c == p.clusters.begin()) continue;
    --c;
    const uint8_t* base = views[static_cast<size_t>(c - p.clusters.begin())];
    uint64_t off = p.ptrs[i] - c->start.value();
    if (base == nullptr || off + ssize > c->size) continue;
    changed[i] = std::memcmp(base + off, &p.structs[i * ssize], ssize) != 0 ? 1 : 0;
  }
  // The unchanged spans as decoded before the stop, with their allocation bits.
  out_.spans = std::move(p.spans);
  out_.alloc_words = std::move(p.alloc_words);
  size_t kept = 0;
  uint64_t total = 0;
  for (size_t k = 0; k < out_.spans.size(); ++k) {
    if (changed[p.entry_of_span[k]] != 0) continue;
    total += out_.spans[k].bytes();
    out_.spans[kept++] = out_.spans[k];
  }
  out_.spans.resize(kept);
  out_.spans_reused = kept;
  // The others decoded now.
  std::vector<uint64_t> todo;
  for (uint64_t i = 0; i < n; ++i) {
    if (changed[i] != 0) todo.push_back(i);
  }
  std::vector<uint8_t> structs(todo.size() * ssize);
  std::vector<ReadRequest> reqs(todo.size());
  for (size_t k = 0; k < todo.size(); ++k) {
    reqs[k].addr = RemoteAddr(ptrs[todo[k]]);
    reqs[k].out = std::span<uint8_t>(structs.data() + k * ssize, ssize);
  }
  read_clustered(mem_, reqs);
  SpanFields f{rt_.layout(), ssize};
  size_t unreadable = 0;
  for (size_t k = 0; k < todo.size(); ++k) {
    if (reqs[k].done < ssize) {
      ++unreadable;
      continue;
    }
    if (!add_span(f, structs.data() + k * ssize, reqs[k].addr, total, todo[k])) break;
  }
  if (unreadable > 0) problem(fmt::format("{} mspan structs unreadable", unreadable));
  out_.spans_decoded = out_.spans.size() - kept;
  read_alloc_bits(kept);
  sort_and_check_overlaps(kept);
  return true;
}

// For tests (precopy_check_requested): the spans and bits the replay gave, against a full
// read in the same stop; the full read's are kept.
void SpanReader::check_replay() {
  std::vector<HeapSpan> replayed = std::move(out_.spans);
  std::vector<uint64_t> words = std::move(out_.alloc_words);
  size_t problems = out_.problems.size();
  out_.spans.clear();
  out_.alloc_words.clear();
  entries_.clear();
  if (!read_spans()) return;
  read_alloc_bits(0);
  auto same = [&](const HeapSpan& a, const HeapSpan& b) {
    size_t nw = (a.nelems + 63) / 64;
    return a.start == b.start && a.npages == b.npages && a.elemsize == b.elemsize &&
           a.nelems == b.nelems && a.freeindex == b.freeindex && a.spanclass == b.spanclass &&
           a.span_struct == b.span_struct && a.alloc_bits == b.alloc_bits &&
           a.large_type == b.large_type && a.allocated == b.allocated &&
           a.alloc_count == b.alloc_count && a.specials == b.specials &&
           std::equal(&words[a.bits_at], &words[a.bits_at] + nw, &out_.alloc_words[b.bits_at]);
  };
  size_t differ = 0;
  for (size_t i = 0; i < std::max(replayed.size(), out_.spans.size()); ++i) {
    if (i >= replayed.size() || i >= out_.spans.size() || !same(replayed[i], out_.spans[i])) {
      ++differ;
    }
  }
  out_.problems.resize(std::min(problems, out_.problems.size()));
  out_.problems.push_back(fmt::format(
      "pre-read check: {} of {} spans differ from the stop's own read ({} reused, {} decoded "
      "in the stop)",
      differ, out_.spans.size(), out_.spans_reused, out_.spans_decoded));
}

// One mspan copy: kept when in use and sane. False once the byte bound is reached.
bool SpanReader::add_span(const SpanFields& f, const uint8_t* mspan, RemoteAddr addr,
                          uint64_t& total, uint64_t entry) {
  auto state = f.get(mspan, Fld::kMspanState);
  if (!state || *state != kSpanInUse) return true;
  HeapSpan s;
  s.span_struct = addr;
  s.start = RemoteAddr(f.get(mspan, Fld::kMspanStartAddr).value_or(0));
  s.npages = f.get(mspan, Fld::kMspanNpages).value_or(0);
  s.elemsize = f.get(mspan, Fld::kMspanElemsize).value_or(0);
  s.nelems = static_cast<uint32_t>(
      std::min<uint64_t>(f.get(mspan, Fld::kMspanNelems).value_or(0), UINT32_MAX));
  s.freeindex = static_cast<uint32_t>(
      std::min<uint64_t>(f.get(mspan, Fld::kMspanFreeindex).value_or(0), UINT32_MAX));
  s.spanclass = static_cast<uint8_t>(f.get(mspan, Fld::kMspanSpanclass).value_or(0));
  s.alloc_bits = RemoteAddr(f.get(mspan, Fld::kMspanAllocBits).value_or(0));
  s.large_type = RemoteAddr(f.get(mspan, Fld::kMspanLargeType).value_or(0));
  s.alloc_count = f.get(mspan, Fld::kMspanAllocCount);
  std::string why = check(s);
  if (!why.empty()) {
    problem(fmt::format("span {} (mspan {}) skipped: {}", s.start, s.span_struct, why));
    if (s.npages > 0 && s.npages <= opts_.max_heap_bytes / kPageSize &&
        s.start.value() % kPageSize == 0) {
      out_.skipped.push_back({s.start, s.bytes()});
    } else {
      out_.skipped_unbounded = true;
    }
    return true;
  }
  total += s.bytes();
  if (total > opts_.max_heap_bytes) {
    problem(
        fmt::format("in-use spans exceed {} bytes; the rest are skipped", opts_.max_heap_bytes));
    return false;
  }
  s.specials = RemoteAddr(f.get(mspan, Fld::kMspanSpecials).value_or(0));
  out_.spans.push_back(s);
  entries_.push_back(static_cast<uint32_t>(entry));
  return true;
}

std::string SpanReader::check(const HeapSpan& s) {
  if (s.start.is_null() || s.start.value() % kPageSize != 0) return "start not page-aligned";
  if (s.npages == 0 || s.npages > (uint64_t{1} << 36) / kPageSize) return "bad npages";
  if (s.start.value() + s.bytes() < s.start.value()) return "wraps around";
  if (s.elemsize == 0 || s.nelems == 0) return "no objects";
  if (s.elemsize * s.nelems > s.bytes()) return "objects exceed the span";
  if (s.freeindex > s.nelems) return "freeindex past nelems";
  if (s.large() && s.nelems != 1) return "large span with several objects";
  if (s.sizeclass() >= 68) return "size class out of range";
  if (s.alloc_bits.is_null()) return "no allocBits";
  return "";
}

// Spans [0, sorted) are in address order already (and checked): the rest are sorted and
// merged in, then overlaps are dropped.
void SpanReader::sort_and_check_overlaps(size_t sorted) {
  if (sorted == out_.spans.size()) return;
  std::vector<size_t> order(out_.spans.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto by_start = [&](size_t a, size_t b) { return out_.spans[a].start < out_.spans[b].start; };
  std::sort(order.begin() + static_cast<std::ptrdiff_t>(sorted), order.end(), by_start);
  std::inplace_merge(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(sorted),
                     order.end(), by_start);
  bool entries = entries_.size() == out_.spans.size();
  std::vector<HeapSpan> kept;
  std::vector<uint32_t> kept_entries;
  kept.reserve(order.size());
  for (size_t i : order) {
    const HeapSpan& s = out_.spans[i];
    if (!kept.empty() && kept.back().end() > s.start) {
      problem(fmt::format("span {} overlaps span {}: skipped", s.start, kept.back().start));
      out_.skipped.push_back({s.start, s.bytes()});
      // Which of the two lies is unknown: the other one's true range may be anywhere.
      out_.skipped_unbounded = true;
      continue;
    }
    kept.push_back(s);
    if (entries) kept_entries.push_back(entries_[i]);
  }
  out_.spans = std::move(kept);
  entries_ = std::move(kept_entries);
}

// The allocation bits of spans [from, end), after those of the others.
void SpanReader::read_alloc_bits(size_t from) {
  if (from == 0) out_.alloc_words.clear();
  uint64_t words = out_.alloc_words.size();
  for (size_t i = from; i < out_.spans.size(); ++i) {
    out_.spans[i].bits_at = words;
    words += (out_.spans[i].nelems + 63) / 64;
  }
  out_.alloc_words.resize(words, 0);
  std::vector<ReadRequest> reqs(out_.spans.size() - from);
  for (size_t k = 0; k < reqs.size(); ++k) {
    size_t i = from + k;
    const HeapSpan& s = out_.spans[i];
    auto& r = reqs[k];
    r.addr = s.alloc_bits;
    r.out = std::span<uint8_t>(reinterpret_cast<uint8_t*>(&out_.alloc_words[s.bits_at]),
                               (s.nelems + 7) / 8);
  }
  read_clustered(mem_, reqs);
  size_t bad = 0, inconsistent = 0;
  for (size_t r = 0; r < reqs.size(); ++r) {
    HeapSpan& s = out_.spans[from + r];
    uint64_t* w = &out_.alloc_words[s.bits_at];
    size_t nw = (s.nelems + 63) / 64;
    if (reqs[r].done < reqs[r].out.size()) {
      // Unknown allocation state: count every slot as allocated (over-approximation).
      ++bad;
      for (size_t k = 0; k < nw; ++k) w[k] = ~uint64_t{0};
    }
    // Slots below freeindex were allocated since the last sweep.
    for (uint32_t k = 0; k < s.freeindex / 64; ++k) w[k] = ~uint64_t{0};
    if (s.freeindex % 64 != 0) w[s.freeindex / 64] |= (uint64_t{1} << (s.freeindex % 64)) - 1;
    // Bits past nelems mean nothing.
    if (s.nelems % 64 != 0) w[nw - 1] &= (uint64_t{1} << (s.nelems % 64)) - 1;
    uint64_t c = 0;
    for (size_t k = 0; k < nw; ++k) c += static_cast<uint64_t>(__builtin_popcountll(w[k]));
    // allocCount is what the runtime counts allocated (sweep and each allocation keep it):
    // bits or freeindex that disagree are corrupt, and then every slot counts as allocated.
    // One off is a stop between an allocation's freeindex and allocCount updates.
    if (s.alloc_count && (c > *s.alloc_count + 1 || *s.alloc_count > c + 1)) {
      ++inconsistent;
      for (size_t k = 0; k < nw; ++k) w[k] = ~uint64_t{0};
      if (s.nelems % 64 != 0) w[nw - 1] &= (uint64_t{1} << (s.nelems % 64)) - 1;
      c = s.nelems;
    }
    s.allocated = c;
  }
  if (bad > 0) {
    problem(
        fmt::format("{} spans' allocBits unreadable: all their slots counted as allocated", bad));
  }
  if (inconsistent > 0) {
    problem(fmt::format(
        "{} spans' allocBits and freeindex disagree with their allocCount: all their slots "
        "counted as allocated",
        inconsistent));
  }
}

uint64_t SpanPreread::bytes() const {
  uint64_t b = 0;
  for (const auto& c : clusters) b += c.size;
  return b;
}

}  // namespace ifx
