// /proc parsing for live targets. The kernel's text formats are stable but the process can
// vanish between two reads, so every reader can come back empty.
#include "core/target/proc_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace ifx::procfs {
namespace {

// Splits off the next field of s separated by spaces or tabs (skipping leading ones).
std::string_view next_field(std::string_view& s) {
  size_t start = s.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    s = {};
    return {};
  }
  s.remove_prefix(start);
  size_t end = s.find_first_of(" \t");
  std::string_view f = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return f;
}

template <typename T>
bool parse_num(std::string_view s, T& out, int base = 10) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string pid_path(int pid, std::string_view rest) {
  return fmt::format("/proc/{}/{}", pid, rest);
}

std::string task_path(int pid, int tid, std::string_view rest) {
  return fmt::format("/proc/{}/task/{}/{}", pid, tid, rest);
}

std::optional<std::string> read_file(const std::string& path, int* err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err != nullptr) *err = errno;
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (err != nullptr) *err = errno;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::vector<int> list_tasks(int pid) {
  std::vector<int> tids;
  DIR* dir = ::opendir(pid_path(pid, "task").c_str());
  if (dir == nullptr) return tids;
  while (const dirent* e = ::readdir(dir)) {
    int tid = 0;
    if (parse_num(std::string_view(e->d_name), tid) && tid > 0) tids.push_back(tid);
  }
  ::closedir(dir);
  std::sort(tids.begin(), tids.end());
  return tids;
}

std::optional<TaskStat> parse_stat(std::string_view text) {
  // comm may hold spaces and parentheses: it ends at the last ')'.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  TaskStat st;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  std::string_view rest = text.substr(close + 1);
  std::vector<std::string_view> f;  // f[0] is field (3)
  while (!rest.empty() && f.size() < 20) {
    auto field = next_field(rest);
    if (!field.empty()) f.push_back(trim(field));
  }
  if (f.size() < 17 || f[0].size() != 1) return std::nullopt;
  st.state = f[0][0];
  bool ok = parse_num(f[1], st.ppid) && parse_num(f[2], st.pgrp) && parse_num(f[3], st.session) &&
            parse_num(f[6], st.flags) && parse_num(f[11], st.utime) && parse_num(f[12], st.stime) &&
            parse_num(f[13], st.cutime) && parse_num(f[14], st.cstime) && parse_num(f[16], st.nice);
  if (!ok) return std::nullopt;
  return st;
}

std::optional<TaskStat> read_stat(int pid, int tid) {
  auto text = read_file(task_path(pid, tid, "stat"));
  if (!text) return std::nullopt;
  return parse_stat(*text);
}

std::optional<Status> parse_status(std::string_view text) {
  Status st;
  bool have_state = false;
  auto hex = [](std::string_view v) {
    uint64_t x = 0;
    parse_num(trim(v), x, 16);
    return x;
  };
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view val = trim(line.substr(colon + 1));
    if (key == "State" && !val.empty()) {
      st.state = val[0];
      have_state = true;
    } else if (key == "Tgid") {
      parse_num(val, st.tgid);
    } else if (key == "TracerPid") {
      parse_num(val, st.tracer_pid);
    } else if (key == "Uid" || key == "Gid") {
      std::string_view v = val;
      auto real = trim(next_field(v));
      auto eff = trim(next_field(v));
      if (key == "Uid") {
        parse_num(real, st.uid);
        parse_num(eff, st.euid);
      } else {
        parse_num(real, st.gid);
        parse_num(eff, st.egid);
      }
    } else if (key == "SigPnd" || key == "ShdPnd") {
      st.sig_pending |= hex(val);
    } else if (key == "SigBlk") {
      st.sig_blocked = hex(val);
    } else if (key == "CapEff") {
      st.cap_effective = hex(val);
    }
  }
  if (!have_state) return std::nullopt;
  return st;
}

std::optional<Status> read_status(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  return parse_status(*text);
}

std::vector<Mapping> parse_maps(std::string_view text) {
  std::vector<Mapping> maps;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    // start-end perms offset dev inode [path]; the path may contain spaces.
    std::string_view range = next_field(line);
    std::string_view perms = next_field(line);
    std::string_view offset = next_field(line);
    next_field(line);  // dev
    next_field(line);  // inode
    size_t dash = range.find('-');
    uint64_t start = 0, end = 0, off = 0;
    if (dash == std::string_view::npos || !parse_num(range.substr(0, dash), start, 16) ||
        !parse_num(range.substr(dash + 1), end, 16) || !parse_num(offset, off, 16) ||
        perms.size() != 4 || end < start) {
      continue;
    }
    size_t path_start = line.find_first_not_of(' ');
    std::string_view path =
        path_start == std::string_view::npos ? std::string_view() : line.substr(path_start);
    maps.push_back(
        Mapping{RemoteAddr(start), RemoteAddr(end), off, std::string(perms), std::string(path)});
  }
  return maps;
}

std::vector<AuxEntry> parse_auxv(std::span<const uint8_t> raw) {
  std::vector<AuxEntry> aux;
  for (size_t off = 0; off + 16 <= raw.size(); off += 16) {
    AuxEntry e;
    std::memcpy(&e.type, raw.data() + off, 8);
    std::memcpy(&e.value, raw.data() + off + 8, 8);
    if (e.type == 0) break;  // AT_NULL ends the vector
    aux.push_back(e);
  }
  return aux;
}

std::vector<std::string> parse_cmdline(std::string_view raw) {
  std::vector<std::string> args;
  while (!raw.empty()) {
    size_t nul = raw.find('\0');
    args.emplace_back(raw.substr(0, nul));
    raw.remove_prefix(nul == std::string_view::npos ? raw.size() : nul + 1);
  }
  return args;
}

std::optional<BlockedAt> parse_syscall(std::string_view text) {
  // "running", or "NR a1 .. a6 SP PC" in a system call, or "-1 SP PC" blocked outside one.
  std::vector<std::string_view> f;
  text = trim(text);
  while (!text.empty()) f.push_back(next_field(text));
  if (f.size() != 3 && f.size() != 9) return std::nullopt;
  auto hex = [](std::string_view v, uint64_t& out) {
    if (v.starts_with("0x")) v.remove_prefix(2);
    return parse_num(v, out, 16);
  };
  BlockedAt at;
  if (!hex(f[f.size() - 2], at.sp) || !hex(f[f.size() - 1], at.pc)) return std::nullopt;
  return at;
}

std::optional<std::string> read_link(const std::string& path) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0 || static_cast<size_t>(n) >= buf.size()) return std::nullopt;
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace ifx::procfs
