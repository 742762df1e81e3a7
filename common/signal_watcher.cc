#include "common/signal_watcher.h"

#include <csignal>
#include <utility>

namespace tessera {
namespace {

volatile std::sig_atomic_t g_signal = 0;
void RecordSignal(int signal) { g_signal = signal; }

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal, absl::Duration poll)
    : on_signal_(std::move(on_signal)), poll_(poll) {
  g_signal = 0;
  std::signal(SIGTERM, RecordSignal);
  std::signal(SIGINT, RecordSignal);
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(poll_)) {
      if (g_signal != 0) {
        on_signal_(g_signal);
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
