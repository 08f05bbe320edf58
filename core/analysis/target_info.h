// Builds the `info` report of a live process or core: runtime figures read while the target is
// stopped, everything else derived after it runs again.
#pragma once

#include <map>
#include <optional>

#include "core/report/target.h"
#include "core/runtime/go_runtime.h"

namespace ifx {

// An M (OS thread of the runtime) and the goroutine it runs.
struct MachineInfo {
  int64_t id = 0;
  std::optional<uint64_t> curg_goid;
};

struct RuntimeReading {
  report::RuntimeFacts facts;
  std::map<uint64_t, MachineInfo> m_by_tid;  // keyed by m.procid
};

// Reads the runtime figures and thread-to-goroutine links (the target must still be stopped).
RuntimeReading read_runtime(GoRuntime& rt);
// Everything else: threads symbolised, mappings summarised; no target memory is read.
report::TargetInfo describe_target(GoRuntime& rt, RuntimeReading reading);

}  // namespace ifx
