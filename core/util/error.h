// Errors that cross layers: what went wrong, in one line, and which exit status it maps to.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ifx {

// Exit statuses are part of the CLI contract (man/ifxray.1 lists them).
enum class ExitCode : int {
  kOk = 0,
  kFindings = 1,
  kUsage = 2,
  kUnreadableTarget = 3,  // missing, not ELF/core/Go, corrupt
  kNotPermitted = 4,      // ptrace refused: CAP_SYS_PTRACE, ptrace_scope, another user's process
  kTargetBusy = 5,        // already traced by another debugger
  kMismatch = 6,          // core and executable are not from the same build
};

// A checked failure caused by the input (a file, target memory, flags), never by our own bugs.
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ExitCode code = ExitCode::kUnreadableTarget)
      : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ifx
