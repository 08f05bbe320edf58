// Native frames (`frames --native`) for the text, go and JSON renderers of goroutines.
#pragma once

#include <string>
#include <string_view>

#include "core/report/goroutines.h"
#include "formats/json_writer.h"

namespace ifx::formats {

// Frames of one native stack as indented text lines.
void append_native_text(std::string& out, const report::NativeStack& s, std::string_view indent);
// The threads in C code running no goroutine, as text blocks; empty without --native.
std::string render_native_threads_text(const report::Goroutines& gs);
// The go format's trailing blocks: native frames per goroutine, then per C thread.
std::string render_native_go(const report::Goroutines& gs);
void write_native_json(JsonWriter& w, const report::NativeStack& s);
// "native_threads": [...] (only with --native).
void write_native_threads_json(JsonWriter& w, const report::Goroutines& gs);

}  // namespace ifx::formats
