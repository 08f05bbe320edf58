// The goroutine profile in pprof's format (github.com/google/pprof proto/profile.proto), built
// as runtime/pprof builds it (printCountProfile, profileBuilder): sample type goroutine/count,
// one sample per distinct stack valued by its number of goroutines, one location per pc with its
// inlined calls as further lines (innermost first), functions by name, the whole gzipped.
#define ZLIB_CONST
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <map>
#include <span>
#include <unordered_map>

#include "core/util/error.h"
#include "formats/goroutines.h"
#include "formats/protobuf_writer.h"

namespace ifx::formats {
namespace {

// Field numbers of profile.proto.
enum : uint32_t {
  kProfileSampleType = 1,
  kProfileSample = 2,
  kProfileMapping = 3,
  kProfileLocation = 4,
  kProfileFunction = 5,
  kProfileStringTable = 6,
  kProfileTimeNanos = 9,
  kProfilePeriodType = 11,
  kProfilePeriod = 12,
};
enum : uint32_t { kValueTypeType = 1, kValueTypeUnit = 2 };
enum : uint32_t { kSampleLocation = 1, kSampleValue = 2, kSampleLabel = 3 };
enum : uint32_t { kLabelKey = 1, kLabelStr = 2 };
enum : uint32_t {
  kMappingId = 1,
  kMappingStart = 2,
  kMappingLimit = 3,
  kMappingOffset = 4,
  kMappingFilename = 5,
  kMappingBuildId = 6,
  kMappingHasFunctions = 7,
  kMappingHasFilenames = 8,
  kMappingHasLineNumbers = 9,
  kMappingHasInlineFrames = 10,
};
enum : uint32_t {
  kLocationId = 1,
  kLocationMappingId = 2,
  kLocationAddress = 3,
  kLocationLine = 4
};
enum : uint32_t { kLineFunctionId = 1, kLineLine = 2 };
enum : uint32_t {
  kFunctionId = 1,
  kFunctionName = 2,
  kFunctionSystemName = 3,
  kFunctionFilename = 4,
  kFunctionStartLine = 5,
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// A wrapper the runtime leaves out of profiles (elideWrapperCalling), runtime ones included
// (Go 1.19 counts runtime.deferCallSave and runOpenDeferFrame as wrappers).
bool elided_wrapper(const report::Frame& f) {
  return f.elided_wrapper;
}

class ProfileBuilder {
 public:
  explicit ProfileBuilder(const FramesStyle& style) : style_(style) {}

  // The id of the location of one physical frame: its source frames, innermost first.
  uint64_t location(std::span<const report::Frame* const> lines) {
    const report::Frame& phys = *lines.front();
    uint64_t address = phys.pc > phys.entry ? phys.pc - 1 : phys.pc;  // the call, not the return
    std::string key = std::to_string(address);
    for (const auto* f : lines) key += fmt::format("|{}:{}", f->function, f->line);
    auto [it, added] = location_ids_.emplace(key, location_ids_.size() + 1);
    if (!added) return it->second;
    ProtobufWriter loc;
    loc.uint64_field(kLocationId, it->second).uint64_opt(kLocationMappingId, mapping_id(address));
    loc.uint64_opt(kLocationAddress, address);
    for (const auto* f : lines) {
      ProtobufWriter line;
      line.uint64_field(kLineFunctionId, function(*f)).int64_opt(kLineLine, f->line);
      loc.message(kLocationLine, line);
    }
    locations_.message(kProfileLocation, loc);
    return it->second;
  }

  void sample(int64_t count, const std::vector<uint64_t>& locations, const Labels& labels) {
    ProtobufWriter s;
    s.packed_int64s(kSampleValue, std::span<const int64_t>(&count, 1));
    s.packed_uint64s(kSampleLocation, locations);
    for (const auto& [k, v] : labels) {
      ProtobufWriter l;
      l.int64_field(kLabelKey, str(k)).int64_field(kLabelStr, str(v));
      s.message(kSampleLabel, l);
    }
    samples_.message(kProfileSample, s);
  }

  std::string finish() {
    ProtobufWriter p;
    p.message(kProfileSampleType, value_type("goroutine", "count"));
    std::string out = p.bytes() + samples_.bytes();
    p.clear();
    if (style_.mappings.empty()) {
      placeholder_mapping(p);
    } else {
      for (size_t i = 0; i < style_.mappings.size(); ++i) mapping(p, i);
    }
    out += p.bytes() + locations_.bytes() + functions_.bytes();
    p.clear();
    p.int64_opt(kProfileTimeNanos, style_.time_nanos);
    p.message(kProfilePeriodType, value_type("goroutine", "count"));
    p.int64_field(kProfilePeriod, 1);
    for (const auto& s : strings_) p.bytes_field(kProfileStringTable, s);  // indexes are final
    return out + p.bytes();
  }

 private:
  int64_t str(std::string_view s) {
    auto [it, added] = string_ids_.emplace(std::string(s), strings_.size());
    if (added) strings_.emplace_back(s);
    return it->second;
  }

  ProtobufWriter value_type(std::string_view type, std::string_view unit) {
    ProtobufWriter v;
    v.int64_field(kValueTypeType, str(type)).int64_field(kValueTypeUnit, str(unit));
    return v;
  }

  uint64_t function(const report::Frame& f) {
    auto [it, added] = function_ids_.emplace(f.function, function_ids_.size() + 1);
    if (added) {
      ProtobufWriter fn;
      fn.uint64_field(kFunctionId, it->second).int64_opt(kFunctionName, str(f.function));
      fn.int64_opt(kFunctionSystemName, str(f.function)).int64_opt(kFunctionFilename, str(f.file));
      fn.int64_opt(kFunctionStartLine, f.start_line);
      functions_.message(kProfileFunction, fn);
    }
    return it->second;
  }

  uint64_t mapping_id(uint64_t address) const {
    if (style_.mappings.empty()) return 1;  // the placeholder covers every location
    for (size_t i = 0; i < style_.mappings.size(); ++i) {
      const auto& m = style_.mappings[i];
      if (m.start <= address && address < m.limit) return i + 1;
    }
    return 0;
  }

  void mapping(ProtobufWriter& p, size_t i) {
    const ProfileMapping& m = style_.mappings[i];
    ProtobufWriter w;
    w.uint64_field(kMappingId, i + 1).uint64_opt(kMappingStart, m.start);
    w.uint64_opt(kMappingLimit, m.limit).uint64_opt(kMappingOffset, m.offset);
    w.int64_opt(kMappingFilename, str(m.file)).int64_opt(kMappingBuildId, str(m.build_id));
    symbolized(w);
    p.message(kProfileMapping, w);
  }

  void placeholder_mapping(ProtobufWriter& p) {
    ProtobufWriter w;
    w.uint64_field(kMappingId, 1);
    symbolized(w);
    p.message(kProfileMapping, w);
  }

  // Every location carries its functions, files, lines and inlined calls: pprof must not try
  // to symbolize them again.
  static void symbolized(ProtobufWriter& w) {
    w.bool_field(kMappingHasFunctions, true).bool_field(kMappingHasFilenames, true);
    w.bool_field(kMappingHasLineNumbers, true).bool_field(kMappingHasInlineFrames, true);
  }

  const FramesStyle& style_;
  std::vector<std::string> strings_{""};  // index 0 is the empty string, as pprof requires
  std::unordered_map<std::string, int64_t> string_ids_{{"", 0}};
  std::unordered_map<std::string, uint64_t> location_ids_;
  std::unordered_map<std::string, uint64_t> function_ids_;
  ProtobufWriter samples_;
  ProtobufWriter locations_;
  ProtobufWriter functions_;
};

std::string gzip(const std::string& data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    fail("gzip: cannot initialise zlib");
  }
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<const Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) fail("gzip: zlib failed ({})", rc);
  return out;
}

}  // namespace

size_t profile_depth(int go_minor) {
  return go_minor >= 23 ? 128 : 32;
}

std::vector<const report::Frame*> profile_stack(const report::Goroutine& g, size_t max_depth) {
  std::vector<const report::Frame*> out;
  size_t depth = 0;  // runtime.goexit takes a slot in the runtime's buffer too
  for (size_t i = 0; i < g.frames.size(); ++i) {
    const report::Frame& f = g.frames[i];
    if (elided_wrapper(f)) continue;
    if (max_depth != 0 && depth == max_depth) {
      // runtime_expandFinalInlineFrame: a cut inside a physical frame keeps its outer lines.
      if (out.empty() || !out.back()->inlined || f.physical_index != out.back()->physical_index) {
        break;
      }
    } else {
      ++depth;
    }
    if (f.function != "runtime.goexit") out.push_back(&f);
  }
  return out;
}

std::string render_goroutines_pprof(const report::Goroutines& gs, const FramesStyle& style) {
  ProfileBuilder builder(style);
  // As the runtime's profile: one sample per distinct stack and label set.
  using Key = std::pair<std::vector<uint64_t>, Labels>;
  std::map<Key, size_t> index;
  std::vector<std::pair<Key, int64_t>> samples;
  size_t depth = profile_depth(gs.go_minor);
  for (const auto& g : gs.goroutines) {
    // As the go format; a goroutine without frames (unreadable) is left out.
    if ((g.system && !gs.include_system) || g.frames.empty()) continue;
    std::vector<const report::Frame*> stack = profile_stack(g, depth);
    std::vector<uint64_t> locations;
    for (size_t i = 0; i < stack.size();) {
      size_t end = i + 1;
      while (end < stack.size() && stack[end]->physical_index == stack[i]->physical_index) ++end;
      locations.push_back(builder.location(std::span(stack).subspan(i, end - i)));
      i = end;
    }
    Key key(std::move(locations), g.labels);
    auto [it, added] = index.emplace(key, samples.size());
    if (added) samples.emplace_back(std::move(key), 0);
    ++samples[it->second].second;
  }
  std::stable_sort(samples.begin(), samples.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [key, count] : samples) builder.sample(count, key.first, key.second);
  return gzip(builder.finish());
}

}  // namespace ifx::formats
