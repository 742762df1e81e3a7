// ThreadSanitizer annotations for Debian's (uninstrumented) Abseil.
//
// absl::Mutex, CondVar and Notification are implemented in
// libabsl_synchronization.so, which Debian builds without -fsanitize=thread:
// TSan sees none of their synchronization and would report every access to
// ABSL_GUARDED_BY state as a race. (Likewise absl::Status's reference count,
// in libabsl_status.so.) Abseil's own TSan build annotates these
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
#include <sanitizer/tsan_interface.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

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

using absl::Condition;
using absl::CondVar;
using absl::Mutex;
using absl::Notification;

// How many of the functions below this thread is inside. The library's
// functions call one another (Notification::Notify locks its mutex,
// LockWhenWithTimeout calls LockWhenWithDeadline), and those calls reach these
// definitions too; only the outermost call is annotated, nested ones go
// straight to the library.
thread_local int t_depth = 0;
bool Nested() { return t_depth > 0; }

// While the library's function runs: this thread's memory accesses are
// ignored, and calls back into these functions are nested.
class InLibrary {
 public:
  InLibrary() {
    ++t_depth;
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~InLibrary() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    --t_depth;
  }
  InLibrary(const InLibrary&) = delete;
  InLibrary& operator=(const InLibrary&) = delete;
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
  InLibrary in_library;
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

// Happens-before edges for Notification, on its flag `notified_yet_` (the
// atomic right after its mutex): Notify releases it, a wait that saw the
// notification acquires it, as does the inline (so instrumented)
// HasBeenNotified(), an acquire load of the flag. (Not on the object's own
// address: that is its mutex's.)
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
// Mutex::~Mutex; CondVar::Wait*; Notification; Status's reference count.
// (Tessera uses no BlockingCounter or Barrier; annotate them here before it
// does.)
extern "C" {

void _ZN4absl7debian35Mutex4LockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex4LockEv);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex4LockEv)(mu);
  Locked(mu, 0, [&] { REAL(_ZN4absl7debian35Mutex4LockEv)(mu); });
}

void _ZN4absl7debian35Mutex6UnlockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex6UnlockEv);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex6UnlockEv)(mu);
  __tsan_mutex_pre_unlock(mu, 0);
  {
    InLibrary in_library;
    REAL(_ZN4absl7debian35Mutex6UnlockEv)(mu);
  }
  __tsan_mutex_post_unlock(mu, 0);
}

bool _ZN4absl7debian35Mutex7TryLockEv(Mutex* mu) {
  DECLARE_REAL(bool(Mutex*), _ZN4absl7debian35Mutex7TryLockEv);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex7TryLockEv)(mu);
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_lock);
  bool locked;
  {
    InLibrary in_library;
    locked = REAL(_ZN4absl7debian35Mutex7TryLockEv)(mu);
  }
  __tsan_mutex_post_lock(mu, locked ? __tsan_mutex_try_lock : __tsan_mutex_try_lock_failed, 0);
  return locked;
}

void _ZN4absl7debian35Mutex10ReaderLockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex10ReaderLockEv);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex10ReaderLockEv)(mu);
  Locked(mu, __tsan_mutex_read_lock, [&] { REAL(_ZN4absl7debian35Mutex10ReaderLockEv)(mu); });
}

void _ZN4absl7debian35Mutex12ReaderUnlockEv(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35Mutex12ReaderUnlockEv);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex12ReaderUnlockEv)(mu);
  __tsan_mutex_pre_unlock(mu, __tsan_mutex_read_lock);
  {
    InLibrary in_library;
    REAL(_ZN4absl7debian35Mutex12ReaderUnlockEv)(mu);
  }
  __tsan_mutex_post_unlock(mu, __tsan_mutex_read_lock);
}

bool _ZN4absl7debian35Mutex13ReaderTryLockEv(Mutex* mu) {
  DECLARE_REAL(bool(Mutex*), _ZN4absl7debian35Mutex13ReaderTryLockEv);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex13ReaderTryLockEv)(mu);
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_read_lock);
  bool locked;
  {
    InLibrary in_library;
    locked = REAL(_ZN4absl7debian35Mutex13ReaderTryLockEv)(mu);
  }
  __tsan_mutex_post_lock(
      mu, locked ? __tsan_mutex_try_read_lock : __tsan_mutex_try_read_lock_failed, 0);
  return locked;
}

void _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(Mutex* mu, const Condition& c) {
  DECLARE_REAL(void(Mutex*, const Condition&), _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE)(mu, c);
  Locked(mu, 0, [&] { REAL(_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE)(mu, c); });
}

bool _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(Mutex* mu,
                                                                                 const Condition& c,
                                                                                 absl::Duration d) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Duration),
               _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  if (Nested())
    return REAL(_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE)(mu, c,
                                                                                             d);
  return Locked(mu, 0, [&] {
    return REAL(_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE)(mu, c,
                                                                                             d);
  });
}

bool _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(Mutex* mu,
                                                                              const Condition& c,
                                                                              absl::Time t) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Time),
               _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  if (Nested())
    return REAL(_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE)(mu, c, t);
  return Locked(mu, 0, [&] {
    return REAL(_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE)(mu, c, t);
  });
}

void _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(Mutex* mu, const Condition& c) {
  DECLARE_REAL(void(Mutex*, const Condition&),
               _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE)(mu, c);
  Locked(mu, __tsan_mutex_read_lock, [&] {
    REAL(_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE)(mu, c);
  });
}

bool _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    Mutex* mu, const Condition& c, absl::Duration d) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Duration),
               _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  if (Nested())
    return REAL(_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE)(
        mu, c, d);
  return Locked(mu, __tsan_mutex_read_lock, [&] {
    return REAL(_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE)(
        mu, c, d);
  });
}

bool _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    Mutex* mu, const Condition& c, absl::Time t) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Time),
               _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  if (Nested())
    return REAL(_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE)(
        mu, c, t);
  return Locked(mu, __tsan_mutex_read_lock, [&] {
    return REAL(_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE)(
        mu, c, t);
  });
}

void _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(Mutex* mu, const Condition& c) {
  DECLARE_REAL(void(Mutex*, const Condition&), _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE);
  if (Nested()) return REAL(_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE)(mu, c);
  ReleasedWhile(mu, [&] { REAL(_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE)(mu, c); });
}

bool _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(Mutex* mu,
                                                                              const Condition& c,
                                                                              absl::Duration d) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Duration),
               _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  if (Nested())
    return REAL(_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE)(mu, c, d);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE)(mu, c, d);
  });
}

bool _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(Mutex* mu,
                                                                           const Condition& c,
                                                                           absl::Time t) {
  DECLARE_REAL(bool(Mutex*, const Condition&, absl::Time),
               _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  if (Nested())
    return REAL(_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE)(mu, c, t);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE)(mu, c, t);
  });
}

void _ZN4absl7debian35MutexD1Ev(Mutex* mu) {
  DECLARE_REAL(void(Mutex*), _ZN4absl7debian35MutexD1Ev);
  if (Nested()) return REAL(_ZN4absl7debian35MutexD1Ev)(mu);
  __tsan_mutex_destroy(mu, 0);
  InLibrary in_library;
  REAL(_ZN4absl7debian35MutexD1Ev)(mu);
}

void _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(CondVar* cv, Mutex* mu) {
  DECLARE_REAL(void(CondVar*, Mutex*), _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE);
  if (Nested()) return REAL(_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE)(cv, mu);
  ReleasedWhile(mu, [&] { REAL(_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE)(cv, mu); });
}

bool _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(CondVar* cv, Mutex* mu,
                                                                          absl::Duration d) {
  DECLARE_REAL(bool(CondVar*, Mutex*, absl::Duration),
               _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE);
  if (Nested())
    return REAL(_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE)(cv, mu, d);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE)(cv, mu, d);
  });
}

bool _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(CondVar* cv, Mutex* mu,
                                                                       absl::Time t) {
  DECLARE_REAL(bool(CondVar*, Mutex*, absl::Time),
               _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE);
  if (Nested())
    return REAL(_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE)(cv, mu, t);
  return ReleasedWhile(mu, [&] {
    return REAL(_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE)(cv, mu, t);
  });
}

void _ZN4absl7debian312Notification6NotifyEv(Notification* n) {
  DECLARE_REAL(void(Notification*), _ZN4absl7debian312Notification6NotifyEv);
  if (Nested()) return REAL(_ZN4absl7debian312Notification6NotifyEv)(n);
  __tsan_release(NotifiedFlag(n));
  InLibrary in_library;
  REAL(_ZN4absl7debian312Notification6NotifyEv)(n);
}

void _ZNK4absl7debian312Notification19WaitForNotificationEv(const Notification* n) {
  DECLARE_REAL(void(const Notification*), _ZNK4absl7debian312Notification19WaitForNotificationEv);
  if (Nested()) return REAL(_ZNK4absl7debian312Notification19WaitForNotificationEv)(n);
  {
    InLibrary in_library;
    REAL(_ZNK4absl7debian312Notification19WaitForNotificationEv)(n);
  }
  __tsan_acquire(NotifiedFlag(n));
}

bool _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const Notification* n, absl::Duration d) {
  DECLARE_REAL(bool(const Notification*, absl::Duration),
               _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE);
  if (Nested()) {
    return REAL(_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE)(n,
                                                                                                d);
  }
  bool notified;
  {
    InLibrary in_library;
    notified =
        REAL(_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE)(n, d);
  }
  if (notified) __tsan_acquire(NotifiedFlag(n));
  return notified;
}

bool _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const Notification* n, absl::Time t) {
  DECLARE_REAL(bool(const Notification*, absl::Time),
               _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE);
  if (Nested()) {
    return REAL(_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE)(n, t);
  }
  bool notified;
  {
    InLibrary in_library;
    notified =
        REAL(_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE)(n, t);
  }
  if (notified) __tsan_acquire(NotifiedFlag(n));
  return notified;
}

// absl::Status shares its representation between copies, with a reference
// count that libabsl_status decrements (acquire-release) and frees at zero:
// the thread that frees it must be seen to come after every other holder's
// reads. The same edges, on the representation's address. (Not InLibrary:
// the free stays checked.)
void _ZN4absl7debian36Status15UnrefNonInlinedEm(uintptr_t rep) {
  DECLARE_REAL(void(uintptr_t), _ZN4absl7debian36Status15UnrefNonInlinedEm);
  if (Nested()) return REAL(_ZN4absl7debian36Status15UnrefNonInlinedEm)(rep);
  void* const shared = reinterpret_cast<void*>(rep);
  __tsan_release(shared);
  __tsan_acquire(shared);
  REAL(_ZN4absl7debian36Status15UnrefNonInlinedEm)(rep);
}

}  // extern "C"
