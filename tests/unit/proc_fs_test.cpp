// /proc parsers: stat with awkward comm names, status, maps with spaces, auxv, syscall.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "core/target/proc_fs.h"

namespace procfs = ifx::procfs;

TEST_CASE("stat: comm may hold spaces and parentheses") {
  auto st = procfs::parse_stat(
      "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 -5 6 0 1234 "
      "1000000 200 18446744073709551615\n");
  REQUIRE(st);
  CHECK(st->comm == "my (odd) name");
  CHECK(st->state == 'S');
  CHECK(st->ppid == 1);
  CHECK(st->pgrp == 4242);
  CHECK(st->flags == 4194560);
  CHECK(st->utime == 7);
  CHECK(st->stime == 3);
  CHECK(st->nice == -5);
  CHECK_FALSE(procfs::parse_stat("4242 (x S 1"));
  CHECK_FALSE(procfs::parse_stat("4242 (x) S 1 2"));
}

TEST_CASE("status: state, tracer, ids, signals, capabilities") {
  auto st = procfs::parse_status(
      "Name:\tticker\nState:\tt (tracing stop)\nTgid:\t77\nPid:\t78\nTracerPid:\t99\n"
      "Uid:\t1000\t1001\t1000\t1000\nGid:\t50\t51\t50\t50\nSigPnd:\t0000000000000100\n"
      "ShdPnd:\t0000000000000001\nSigBlk:\tfffffffe7ffbfeff\nCapEff:\t000001ffffffffff\n");
  REQUIRE(st);
  CHECK(st->state == 't');
  CHECK(st->tgid == 77);
  CHECK(st->tracer_pid == 99);
  CHECK(st->uid == 1000);
  CHECK(st->euid == 1001);
  CHECK(st->gid == 50);
  CHECK(st->sig_pending == 0x101);
  CHECK(st->sig_blocked == 0xfffffffe7ffbfeffULL);
  CHECK(st->cap_effective == 0x1ffffffffffULL);
  CHECK_FALSE(procfs::parse_status("Name:\tx\n"));
}

TEST_CASE("maps: paths with spaces, anonymous and special mappings") {
  auto maps = procfs::parse_maps(
      "00400000-00401000 r-xp 00000000 08:01 123   /opt/my app/bin (deleted)\n"
      "c000000000-c000400000 rw-p 00000000 00:00 0 \n"
      "7ffd1000-7ffd3000 rw-p 00000000 00:00 0                          [stack]\n"
      "garbage line\n"
      "7fff0000-7fff2000 r--p 00001000 00:00 0");
  REQUIRE(maps.size() == 4);
  CHECK(maps[0].start.value() == 0x400000);
  CHECK(maps[0].end.value() == 0x401000);
  CHECK(maps[0].perms == "r-xp");
  CHECK(maps[0].path == "/opt/my app/bin (deleted)");
  CHECK(maps[1].path.empty());
  CHECK(maps[2].path == "[stack]");
  CHECK(maps[3].offset == 0x1000);
}

TEST_CASE("auxv stops at AT_NULL; cmdline splits at NULs") {
  uint64_t raw[] = {6, 4096, 25, 0x7ffd0000, 0, 0, 33, 1};
  std::vector<uint8_t> bytes(sizeof raw);
  std::memcpy(bytes.data(), raw, sizeof raw);
  auto aux = procfs::parse_auxv(bytes);
  REQUIRE(aux.size() == 2);
  CHECK(aux[1].type == 25);
  CHECK(aux[1].value == 0x7ffd0000);
  auto args = procfs::parse_cmdline(std::string_view("./srv\0-v\0\0x\0", 12));
  REQUIRE(args.size() == 4);
  CHECK(args[0] == "./srv");
  CHECK(args[2].empty());
  CHECK(args[3] == "x");
}

TEST_CASE("syscall: sp and pc of a blocked thread") {
  auto in = procfs::parse_syscall("202 0xc000 0x80 0x0 0x0 0x0 0x0 0x7ffc1000 0x46e2a3\n");
  REQUIRE(in);
  CHECK(in->sp == 0x7ffc1000);
  CHECK(in->pc == 0x46e2a3);
  auto blocked = procfs::parse_syscall("-1 0x7ffc2000 0x401000\n");
  REQUIRE(blocked);
  CHECK(blocked->pc == 0x401000);
  CHECK_FALSE(procfs::parse_syscall("running\n"));
}
