#include "common/signal_watcher.h"

#include <atomic>
#include <csignal>
#include <utility>

namespace tessera {
namespace {

// Written by the handler, on whichever thread the signal lands, and read by
// the watcher thread: an atomic (lock-free, so signal-safe), not a
// `volatile sig_atomic_t`, which is only safe within one thread.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free atomic");
void RecordSignal(int signal) { g_signal.store(signal, std::memory_order_relaxed); }

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal, absl::Duration poll)
    : on_signal_(std::move(on_signal)), poll_(poll) {
  g_signal.store(0, std::memory_order_relaxed);
  std::signal(SIGTERM, RecordSignal);
  std::signal(SIGINT, RecordSignal);
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(poll_)) {
      if (const int signal = g_signal.load(std::memory_order_relaxed); signal != 0) {
        on_signal_(signal);
        return;
      }
    }
  });
}

SignalWatcher::~SignalWatcher() { Stop(); }

void SignalWatcher::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tessera
