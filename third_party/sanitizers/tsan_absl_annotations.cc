// ThreadSanitizer annotations for Debian's (uninstrumented) Abseil.
//
// absl::Mutex, CondVar, Notification and BlockingCounter are implemented in
// libabsl_synchronization.so, which Debian builds without -fsanitize=thread:
// TSan sees none of their synchronization and would report every access to
// ABSL_GUARDED_BY state as a race. Abseil's own TSan build annotates these
// classes with TSan's mutex API; this file does the same from the outside.
//
// It defines the library's functions once more, under their own (mangled)
// names. In --config=tsan, third_party/debian_libs.bzl links it into every
// binary that uses @debian//:absl (statically, and the binary exports its
// symbols), so the dynamic linker binds every call, ours and the shared
// libraries' alike, to these definitions; each annotates around the
// library's own function, found with dlsym(RTLD_NEXT).
//
// Conditions (absl::Condition) may run inside Lock, Unlock, Await and
// LockWhen, in the waiting thread or in the one that unlocks; they only read
// guarded state while the mutex is really held, but between an annotation
// and the real call TSan would see those reads outside the annotated critical
// section. Memory accesses are therefore ignored while a library call runs
// (conditions' own races go unchecked; everything else is checked).
//
// The symbols are Debian 12's Abseil 20220623 (inline namespace debian3).
// Built only in --config=tsan.

#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <sanitizer/tsan_interface.h>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" {
void AnnotateIgnoreReadsBegin(const char* file, int line);
void AnnotateIgnoreReadsEnd(const char* file, int line);
void AnnotateIgnoreWritesBegin(const char* file, int line);
void AnnotateIgnoreWritesEnd(const char* file, int line);
}

namespace {

using absl::BlockingCounter;
using absl::CondVar;
using absl::Condition;
using absl::Mutex;
using absl::Notification;

// Ignores this thread's memory accesses while the library call runs.
class IgnoreAccesses {
 public:
  IgnoreAccesses() {
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~IgnoreAccesses() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  }
};

// The mutex `mu` is (re)acquired with `flags` (0 or __tsan_mutex_read_lock)
// around `lock`, which returns with it held.
template <typename F>
auto Locked(Mutex* mu, unsigned flags, F lock) {
  __tsan_mutex_pre_lock(mu, flags);
  struct PostLock {
    Mutex* mu;
    unsigned flags;
    ~PostLock() { __tsan_mutex_post_lock(mu, flags, 0); }
  } post{mu, flags};
  IgnoreAccesses ignore;
  return lock();
}

void Released(Mutex* mu, unsigned flags) {
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
}

// The mutex is held before and after `wait`, which releases it meanwhile.
template <typename F>
auto ReleasedWhile(Mutex* mu, F wait) {
  Released(mu, 0);
  return Locked(mu, 0, wait);
}

// Happens-before edges for Notification: its flag is read by the inline (so
// instrumented) HasBeenNotified() as an acquire load of `notified_yet_`, the
// atomic right after the mutex in the object.
void* NotifiedFlag(const Notification* n) {
  return const_cast<char*>(reinterpret_cast<const char*>(n) + sizeof(Mutex));
}
static_assert(sizeof(Notification) == 2 * sizeof(Mutex),
              "absl::Notification's layout changed: update NotifiedFlag");

// The library's definition of `symbol` (the next one after this binary's).
template <typename Fn>
Fn* Real(const char* symbol) {
  void* f = dlsym(RTLD_NEXT, symbol);
  if (f == nullptr) {
    fprintf(stderr, "tsan_absl_annotations: %s not found: %s\n", symbol, dlerror());
    abort();
  }
  return reinterpret_cast<Fn*>(f);
}

}  // namespace

// DECLARE_REAL(type, sym): real_<sym> is the library's function `sym`.
// REAL(sym) names it.
#define REAL(sym) real_##sym
#define DECLARE_REAL(type, sym) static auto* const real_##sym = Real<type>(#sym)

// The library's functions, by their mangled names: Mutex::Lock, Unlock,
// TryLock and their reader forms; Mutex::LockWhen* (they return with the mutex
// held, whatever they return); Mutex::Await* (held before and after);
// Mutex::~Mutex; CondVar::Wait*; Notification and BlockingCounter.
extern "C" {

void _ZN4absl7debian35Mutex4LockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex4LockEv);
  Locked(mu, 0, [&] { REAL(_ZN4absl7debian35Mutex4LockEv)(mu); });
}

void _ZN4absl7debian35Mutex6UnlockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex6UnlockEv);
  __tsan_mutex_pre_unlock(mu, 0);
  {
    IgnoreAccesses ignore;
    REAL(_ZN4absl7debian35Mutex6UnlockEv)(mu);
  }
  __tsan_mutex_post_unlock(mu, 0);
}

bool _ZN4absl7debian35Mutex7TryLockEv(Mutex* mu) {
  DECLARE_REAL(bool(Mutex*), _ZN4absl7debian35Mutex7TryLockEv);
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_lock);
  bool locked;
  {
    IgnoreAccesses ignore;
    locked = REAL(_ZN4absl7debian35Mutex7TryLockEv)(mu);
  }
  __tsan_mutex_post_lock(mu, locked ? __tsan_mutex_try_lock : __tsan_mutex_try_lock_failed, 0);
  return locked;
}

void _ZN4absl7debian35Mutex10ReaderLockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex10ReaderLockEv);
  Locked(mu, __tsan_mutex_read_lock, [&] { REAL(_ZN4absl7debian35Mutex10ReaderLockEv)(mu); });
}

void _ZN4absl7debian35Mutex12ReaderUnlockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex12ReaderUnlockEv);
  __tsan_mutex_pre_unlock(mu, __tsan_mutex_read_lock);
  {
    IgnoreAccesses ignore;
    REAL(_ZN4absl7debian35Mutex12ReaderUnlockEv)(mu);
  }
  __tsan_mutex_post_unlock(mu, __tsan_mutex_read_lock);
}

bool _ZN4absl7debian35Mutex13ReaderTryLockEv(Mutex* mu) {
  DECLARE_REAL(bool(Mutex*), _ZN4absl7debian35Mutex13ReaderTryLockEv);
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_read_lock);
  bool locked;
  {
    IgnoreAccesses ignore;
    locked = REAL(_ZN4absl7debian35Mutex13ReaderTryLockEv)(mu);
  }
  __tsan_mutex_post_lock(
      mu, locked ? __tsan_mutex_try_read_lock : __tsan_mutex_try_read_lock_failed, 0);
  return locked;
}

void _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(Mutex* mu, const Condition& c) {
  DECLARE_REAL(void(Mutex*, const Condition&), _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE);
  Locked(mu, 0, [&] { REAL(_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE)(mu, c); });
}

bool _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, absl::Duration d) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Duration), _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  return Locked(mu, 0, [&] {
    return REAL(_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE)(
        mu, c, d);
  });
}

bool _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, absl::Time t) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Time), _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  return Locked(mu, 0, [&] {
    return REAL(_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE)(mu, c,
                                                                                         t);
  });
}

void _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(Mutex* mu,
                                                                   const Condition& c) {
  DECLARE_REAL(void(Mutex*, const Condition&), _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE);
  Locked(mu, __tsan_mutex_read_lock,
         [&] { REAL(_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE)(mu, c); });
}

bool _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, absl::Duration d) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Duration), _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  return Locked(mu, __tsan_mutex_read_lock, [&] {
    return REAL(
        _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE)(mu, c,
                                                                                           d);
  });
}

bool _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, absl::Time t) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Time), _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  return Locked(mu, __tsan_mutex_read_lock, [&] {
    return REAL(_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE)(
        mu, c, t);
  });
}

void _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex* mu, const Condition& c) {
  DECLARE_REAL(void(Mutex*, const Condition&), _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE);
  ReleasedWhile(mu, [&] { REAL(_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE)(mu, c); });
}

bool _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, absl::Duration d) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Duration), _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE)(mu, c,
                                                                                         d);
  });
}

bool _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, absl::Time t) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Time), _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE)(mu, c, t);
  });
}

void _ZN4absl7debian35MutexD1Ev(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35MutexD1Ev);
  __tsan_mutex_destroy(mu, 0);
  REAL(_ZN4absl7debian35MutexD1Ev)(mu);
}

void _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar* cv, Mutex* mu) {
  DECLARE_REAL(void(CondVar*, Mutex*), _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE);
  ReleasedWhile(mu, [&] { REAL(_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE)(cv, mu); });
}

bool _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    CondVar* cv, Mutex* mu, absl::Duration d) {
  DECLARE_REAL(bool(CondVar*, Mutex*, absl::Duration), _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE)(cv, mu, d);
  });
}

bool _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(CondVar* cv,
                                                                              Mutex* mu,
                                                                              absl::Time t) {
  DECLARE_REAL(bool(CondVar*, Mutex*, absl::Time), _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE)(cv, mu, t);
  });
}

void _ZN4absl7debian312Notification6NotifyEv(Notification* n) {
  DECLARE_REAL(void(Notification*), _ZN4absl7debian312Notification6NotifyEv);
  __tsan_release(n);
  __tsan_release(NotifiedFlag(n));
  REAL(_ZN4absl7debian312Notification6NotifyEv)(n);
}

void _ZNK4absl7debian312Notification19WaitForNotificationEv(const Notification* n) {
  DECLARE_REAL(void(const Notification*), _ZNK4absl7debian312Notification19WaitForNotificationEv);
  REAL(_ZNK4absl7debian312Notification19WaitForNotificationEv)(n);
  __tsan_acquire(const_cast<Notification*>(n));
}

bool _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification* n, absl::Duration d) {
  DECLARE_REAL(bool(const Notification*, absl::Duration), _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE);
  const bool notified =
      REAL(_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE)(n, d);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}

bool _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const Notification* n, absl::Time t) {
  DECLARE_REAL(bool(const Notification*, absl::Time), _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE);
  const bool notified =
      REAL(_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE)(n, t);
  if (notified) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}

bool _ZN4absl7debian315BlockingCounter14DecrementCountEv(BlockingCounter* b) {
  DECLARE_REAL(bool(BlockingCounter*), _ZN4absl7debian315BlockingCounter14DecrementCountEv);
  __tsan_release(b);
  return REAL(_ZN4absl7debian315BlockingCounter14DecrementCountEv)(b);
}

void _ZN4absl7debian315BlockingCounter4WaitEv(BlockingCounter* b) {
  DECLARE_REAL(void(BlockingCounter*), _ZN4absl7debian315BlockingCounter4WaitEv);
  REAL(_ZN4absl7debian315BlockingCounter4WaitEv)(b);
  __tsan_acquire(b);
}

}  // extern "C"
