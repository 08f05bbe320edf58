// `core` as text sections or one JSON object made of each command's JSON document.
#include "formats/core_report.h"

#include "formats/goroutines.h"
#include "formats/leaks.h"
#include "formats/target.h"

namespace ifx::formats {
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

std::string render_core(const CoreSections& s, Format format) {
  FramesStyle grouped;
  grouped.group = true;
  if (format == Format::kJson) {
    std::string out = "{\n\"info\": " + trimmed(render_target(*s.info, Format::kJson));
    out += ",\n\"goroutines\": " + trimmed(render_goroutines_json(*s.goroutines));
    out += ",\n\"leaks\": " + trimmed(render_leaks_json(*s.leaks));
    out += ",\n\"pitfalls\": ";
    out += trimmed(s.pitfalls_json);
    return out + "\n}\n";
  }
  std::string out = "== core ==\n" + render_target(*s.info, Format::kText);
  out += "\n== leaks ==\n" + render_leaks_text(*s.leaks);
  out += "\n== pitfalls ==\n";
  out += s.pitfalls_text;
  out += "\n== goroutines ==\n" + render_goroutines_text(*s.goroutines, grouped);
  return out;
}

}  // namespace ifx::formats
