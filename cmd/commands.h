// The subcommands: each file in cmd/ registers one on the application and, when the user picks
// it, sets the action main runs.
#pragma once

#include <functional>

#include "core/util/error.h"

namespace CLI {
class App;
}

namespace ifx::cmd {

using Action = std::function<ExitCode()>;

void register_info(CLI::App& app, Action& action);
void register_frames(CLI::App& app, Action& action);
void register_gcore(CLI::App& app, Action& action);
void register_pitfalls(CLI::App& app, Action& action);
void register_leaks(CLI::App& app, Action& action);
void register_core(CLI::App& app, Action& action);

// Parses "0x4a2f10" or "4862736"; fails with a usage error naming the flag.
uint64_t parse_address(const std::string& text, const char* flag);

}  // namespace ifx::cmd
