// `ifxray core FILE`: the whole report of a core dump on one page: what `info` says, the leaks,
// the pitfalls, and the goroutine groups.
#include <CLI/CLI.hpp>

#include "cmd/commands.h"
#include "cmd/session.h"
#include "core/analysis/leaks.h"
#include "core/analysis/pitfalls.h"
#include "core/analysis/target_info.h"
#include "core/analysis/value_capture.h"
#include "formats/core_report.h"
#include "formats/pitfalls.h"

namespace ifx::cmd {
namespace {

struct CoreCmdOptions {
  std::string core;
  std::string format = "text";
  std::string fail_on = "proven";
  bool stats = false;
  LeaksOptions leaks;
  PitfallOptions pitfalls;
  TargetOptions target_opts;
};

ExitCode run_core(const CoreCmdOptions& o) {
  TargetKind kind = classify_target(o.core);
  if (kind != TargetKind::kCore) {
    throw Error(fmt::format("{} is not a core file: core reads a core dump (for a live process "
                            "use `ifxray gcore` first, or info, frames and leaks)",
                            o.core),
                ExitCode::kUsage);
  }
  Session s = open_session(o.core, kind, o.target_opts);
  RuntimeReading reading = read_runtime(*s.runtime);
  LeaksSnapshot snap = snapshot_leaks(*s.runtime, o.leaks);
  // A core copies nothing here; it is the same call as `pitfalls` makes, for the same reads.
  HeapCapture heap_capture;
  std::vector<std::string> value_problems =
      capture_for_values(*s.runtime, snap.goroutines, &heap_capture);
  finish_leaks_snapshot(*s.runtime, snap, o.leaks);
  report::TargetInfo info = describe_target(*s.runtime, std::move(reading));
  report::Goroutines goroutines;
  report::Leaks leaks = build_leaks(*s.runtime, snap, o.leaks, &goroutines);
  for (const auto& w : s.runtime->problems()) leaks.warnings.push_back(w);
  // The pitfalls section: the same analysis as `ifxray pitfalls`, over the same goroutines.
  VariableSession vars(*s.runtime, ValueLimits{});
  std::unique_ptr<HeapIndex> heap;  // stripped: typed heap objects are the roots
  if (!vars.no_dwarf().empty())
    heap = std::make_unique<HeapIndex>(*s.runtime, std::move(heap_capture));
  report::Pitfalls pitfalls =
      find_pitfalls(vars, goroutines, o.pitfalls, heap.get(), &snap.blocking);
  for (auto& p : value_problems) pitfalls.warnings.push_back(std::move(p));
  // The goroutines section is what `frames` prints: without the runtime's own goroutines.
  std::erase_if(goroutines.goroutines, [](const report::Goroutine& g) { return g.system; });
  goroutines.include_system = false;
  formats::CoreSections sections;
  sections.info = &info;
  sections.goroutines = &goroutines;
  sections.leaks = &leaks;
  sections.pitfalls_text = formats::render_pitfalls(pitfalls, formats::Format::kText);
  sections.pitfalls_json = formats::render_pitfalls(pitfalls, formats::Format::kJson);
  auto format = formats::parse_format(o.format);
  formats::emit(formats::render_core(sections, *format));
  if (o.format != "json") {
    for (const auto& w : leaks.warnings) fmt::print(stderr, "ifxray: warning: {}\n", w);
  }
  if (o.stats) print_stats(s);
  bool fail = (o.fail_on == "proven" && leaks.proven > 0) ||
              (o.fail_on == "suspect" && leaks.proven + leaks.suspect > 0);
  return fail ? ExitCode::kFindings : ExitCode::kOk;
}

}  // namespace

void register_core(CLI::App& app, Action& action) {
  auto o = std::make_shared<CoreCmdOptions>();
  CLI::App* sub = app.add_subcommand(
      "core", "The whole report of a core dump: info, leaks, pitfalls and goroutine groups");
  sub->add_option("--format", o->format, "text (one page) or json (one object of sections)")
      ->check(CLI::IsMember({"text", "json"}));
  sub->add_option("--fail-on", o->fail_on,
                  "Exit 1 on a proven leak (proven, the default), on a suspect too, or never")
      ->check(CLI::IsMember({"proven", "suspect", "never"}));
  sub->add_option("--min-wait", o->leaks.min_wait_minutes,
                  "Leaks: suspects blocked at least this many minutes (default 1)");
  sub->add_option("--min-group", o->leaks.min_group,
                  "Leaks: suspects in a group at least this large (default 100)");
  sub->add_flag("--stats", o->stats, "Print read statistics to stderr");
  sub->add_option("--exe", o->target_opts.exe,
                  "The executable of the core, when not where the core says");
  sub->add_flag("--force", o->target_opts.force,
                "Read the core even if its executable's build id differs");
  sub->add_option("core", o->core, "A core file")->required();
  sub->callback([o, &action] { action = [o] { return run_core(*o); }; });
}

}  // namespace ifx::cmd
