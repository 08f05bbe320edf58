// Which waits can leak: the wait reasons of Go 1.26's isMaybeRunnable (mgc.go), and Go 1.19's
// "semacquire" told apart by the innermost sync frame.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/runtime/blocking.h"

using ifx::BlockKind;
using ifx::classify_block;

TEST_CASE("wait reasons of the runtime's leak detector") {
  std::vector<std::string> none;
  CHECK(classify_block("chan receive", none) == BlockKind::kChanRecv);
  CHECK(classify_block("chan send (nil chan)", none) == BlockKind::kNilChanSend);
  CHECK(classify_block("select (no cases)", none) == BlockKind::kSelectNoCases);
  CHECK(classify_block("sync.RWMutex.RLock", none) == BlockKind::kRWMutexRLock);
  CHECK(classify_block("sync.Cond.Wait", none) == BlockKind::kCond);
  // Internal waits are roots, never candidates.
  CHECK(classify_block("IO wait", none) == BlockKind::kNone);
  CHECK(classify_block("sleep", none) == BlockKind::kNone);
  CHECK(classify_block("select (durable)", none) == BlockKind::kNone);
  CHECK(classify_block("", none) == BlockKind::kNone);
}

TEST_CASE("Go 1.19 semacquire: the innermost sync frame decides") {
  std::vector<std::string> mutex_in_rwlock = {
      "runtime.gopark",         "runtime.goparkunlock",
      "runtime.semacquire1",    "sync.runtime_SemacquireMutex",
      "sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock",
      "sync.(*RWMutex).Lock",   "main.f"};
  CHECK(classify_block("semacquire", mutex_in_rwlock) == BlockKind::kMutex);
  std::vector<std::string> wg = {"runtime.gopark", "runtime.semacquire1", "sync.runtime_Semacquire",
                                 "sync.(*WaitGroup).Wait", "main.f"};
  CHECK(classify_block("semacquire", wg) == BlockKind::kWaitGroup);
  std::vector<std::string> poll = {"runtime.gopark", "runtime.semacquire1",
                                   "internal/poll.runtime_Semacquire",
                                   "internal/poll.(*fdMutex).rwlock", "main.f"};
  CHECK(classify_block("semacquire", poll) == BlockKind::kNone);
  // A sync frame below user code is someone else's wait.
  std::vector<std::string> deep = {"runtime.gopark", "runtime.semacquire1", "main.g",
                                   "sync.(*Mutex).Lock"};
  CHECK(classify_block("semacquire", deep) == BlockKind::kNone);
}
