// Entry point: parse the command line, run the chosen subcommand, map failures to exit statuses.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "cmd/commands.h"

#ifndef IFXRAY_VERSION
#define IFXRAY_VERSION "0.0.0"
#endif

namespace ifx::cmd {

uint64_t parse_address(const std::string& text, const char* flag) {
  std::string_view s = text;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    throw Error(fmt::format("{}: {:?} is not an address (use 0x... or decimal)", flag, text),
                ExitCode::kUsage);
  }
  return v;
}

namespace {

// CLI11 reports an unknown command as a missing one; name it instead.
std::string usage_message(CLI::App& app, int argc, char** argv, const CLI::ParseError& e) {
  if (argc > 1 && argv[1][0] != '-') {
    std::string word = argv[1];
    bool known = false;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == word;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) return fmt::format("unknown command '{}' (commands: {})", word, names);
  }
  std::string msg = e.what();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return msg;
}

int run(int argc, char** argv) {
  CLI::App app{"ifxray: an X-ray for Go programs: goroutines, leaks and interface pitfalls",
               "ifxray"};
  app.set_version_flag("--version", "ifxray " IFXRAY_VERSION);
  app.require_subcommand(1);
  Action action;
  register_info(app, action);
  register_frames(app, action);
  register_gcore(app, action);
  register_pitfalls(app, action);
  register_leaks(app, action);
  register_core(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::fputs("ifxray " IFXRAY_VERSION "\n", stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Subcommand help is raised from inside the subcommand; CLI11 formats it for us.
    if (e.get_exit_code() == 0) return app.exit(e);
    fmt::print(stderr, "ifxray: {} (see ifxray --help)\n", usage_message(app, argc, argv, e));
    return static_cast<int>(ExitCode::kUsage);
  }
  return static_cast<int>(action());
}

}  // namespace
}  // namespace ifx::cmd

int main(int argc, char** argv) {
  try {
    return ifx::cmd::run(argc, argv);
  } catch (const ifx::Error& e) {
    fmt::print(stderr, "ifxray: {}\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "ifxray: out of memory\n");
    return static_cast<int>(ifx::ExitCode::kUnreadableTarget);
  } catch (const std::exception& e) {
    fmt::print(stderr, "ifxray: internal error: {}\n", e.what());
    return static_cast<int>(ifx::ExitCode::kUnreadableTarget);
  }
}
