// Named wall-clock phases of one run, for --stats: where the pause went. One process-wide list
// (ifxray runs one command on one thread); a phase entered twice adds up.
//
//   { PhaseTimer t("stop_heap_spans"); read_spans(); }
//   for (const auto& [name, ms] : phases()) ...   // in order of first entry
#pragma once

#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

namespace ifx {

inline std::vector<std::pair<std::string_view, double>>& phases() {
  static std::vector<std::pair<std::string_view, double>> list;
  return list;
}

inline void add_phase(std::string_view name, double ms) {
  for (auto& [n, v] : phases()) {
    if (n == name) {
      v += ms;
      return;
    }
  }
  phases().emplace_back(name, ms);
}

// `name` must outlive the run (a string literal).
class PhaseTimer {
 public:
  explicit PhaseTimer(std::string_view name) : name_(name), t0_(std::chrono::steady_clock::now()) {}
  ~PhaseTimer() {
    add_phase(
        name_,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count());
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  std::string_view name_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace ifx
