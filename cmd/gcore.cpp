// `ifxray gcore PID [-o FILE]`: a compact core of a live process (only touched pages).
#include <CLI/CLI.hpp>

#include <charconv>
#include <memory>

#include "cmd/commands.h"
#include "core/target/gcore.h"
#include "formats/escape.h"

namespace ifx::cmd {
namespace {

struct GcoreOptions {
  std::string pid;
  std::string output;
};

int parse_pid(const std::string& text) {
  int pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) {
    throw Error(fmt::format("pid: {:?} is not a process id", text), ExitCode::kUsage);
  }
  return pid;
}

ExitCode run_gcore(const GcoreOptions& opts) {
  int pid = parse_pid(opts.pid);
  std::string path = opts.output.empty() ? fmt::format("core.{}", pid) : opts.output;
  GcoreResult r = gcore(pid, path);
  for (const auto& w : r.warnings) {
    fmt::print(stderr, "ifxray: warning: {}\n", formats::escape_terminal(w));
  }
  fmt::print(stderr,
             "ifxray: wrote {} ({:.1f} MiB, {} threads, {} segments); process {} was stopped "
             "for {:.1f} ms\n",
             formats::escape_terminal(r.path), static_cast<double>(r.file_size) / (1 << 20),
             r.threads, r.segments, pid, r.pause_ms);
  return ExitCode::kOk;
}

}  // namespace

void register_gcore(CLI::App& app, Action& action) {
  auto opts = std::make_shared<GcoreOptions>();
  CLI::App* sub = app.add_subcommand(
      "gcore", "Write a compact ELF core of a live process (only the pages it has touched)");
  sub->add_option("-o,--output", opts->output, "Core file to write (default: core.PID)");
  sub->add_option("pid", opts->pid, "The process id")->required();
  sub->callback([opts, &action] { action = [opts] { return run_gcore(*opts); }; });
}

}  // namespace ifx::cmd
