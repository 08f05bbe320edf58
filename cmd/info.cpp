// `ifxray info EXE`: what a Go executable is, and where its pcs and functions are.
#include <CLI/CLI.hpp>

#include <memory>

#include "cmd/commands.h"
#include "core/analysis/executable_info.h"
#include "core/binary/go_binary.h"
#include "formats/executable.h"

namespace ifx::cmd {
namespace {

struct InfoOptions {
  std::string target;
  std::string format = "text";
  std::vector<std::string> pcs;
  std::vector<std::string> funcs;
};

ExitCode run_info(const InfoOptions& opts) {
  auto format = formats::parse_format(opts.format);
  std::vector<uint64_t> pcs;
  for (const auto& p : opts.pcs) pcs.push_back(parse_address(p, "--pc"));
  auto bin = GoBinary::open(opts.target);
  report::Executable report = describe_executable(*bin);
  for (uint64_t pc : pcs) report.pcs.push_back(lookup_pc(*bin, pc));
  for (const auto& name : opts.funcs) report.funcs.push_back(lookup_func(*bin, name));
  formats::emit(formats::render_executable(report, *format));
  return ExitCode::kOk;
}

}  // namespace

void register_info(CLI::App& app, Action& action) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info",
                                     "What a Go executable is: version, build info, "
                                     "layout; resolve pcs and functions");
  sub->add_option("--format", opts->format, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  sub->add_option("--pc", opts->pcs, "Resolve this pc (0x... or decimal) to its frames; repeatable")
      ->allow_extra_args(false);
  sub->add_option("--func", opts->funcs, "Describe the function of this name; repeatable")
      ->allow_extra_args(false);
  sub->add_option("target", opts->target, "The Go executable")->required();
  sub->callback([opts, &action] { action = [opts] { return run_info(*opts); }; });
}

}  // namespace ifx::cmd
