#ifndef TESSERA_COMMON_SIGNAL_WATCHER_H_
#define TESSERA_COMMON_SIGNAL_WATCHER_H_

// SIGTERM and SIGINT for a daemon, without work in a signal handler: the
// handler only records the signal; a watcher thread polls for it and runs the
// daemon's reaction there.
//
//   SignalWatcher watcher([&](int signal) { worker->RequestStop(); });
//   ... serve or train ...
//   watcher.Stop();  // or let the destructor do it
//
// One watcher per process (the handler records into a process-wide flag).
// Stop() and the destructor are thread-safe and wait for a reaction already
// running to return.

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace tessera {

class SignalWatcher {
 public:
  // Installs handlers for SIGTERM and SIGINT and starts the thread, which
  // calls `on_signal(signal)` once, at the first of them, within `poll`.
  explicit SignalWatcher(std::function<void(int signal)> on_signal,
                         absl::Duration poll = absl::Milliseconds(100));
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  ~SignalWatcher();

  // Ends watching; returns after a running `on_signal` returned. Idempotent.
  void Stop();

 private:
  const std::function<void(int)> on_signal_;
  const absl::Duration poll_;
  absl::Mutex stop_mu_;  // serializes Stop()
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace tessera

#endif  // TESSERA_COMMON_SIGNAL_WATCHER_H_
