#include "ps/stream_limiter.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tessera {

std::string PeerHost(absl::string_view peer) {
  const size_t colon = peer.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == peer.size()) return std::string(peer);
  for (char c : peer.substr(colon + 1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::string(peer);
  }
  const absl::string_view host = peer.substr(0, colon);
  // "ipv6:[::1]" and "ipv4:1.2.3.4" end in ']' or a digit; "unix:/a/b:1" has
  // no port but a path that may end in digits: only ipv4/ipv6 peers have one.
  if (host.substr(0, 5) != "ipv4:" && host.substr(0, 5) != "ipv6:") return std::string(peer);
  return std::string(host);
}

StreamLimiter::Slot& StreamLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    peer_ = std::move(other.peer_);
  }
  return *this;
}

void StreamLimiter::Slot::Release() {
  if (limiter_ != nullptr) limiter_->Release(peer_);
  limiter_ = nullptr;
}

StreamLimiter::StreamLimiter(int max_per_peer) : max_per_peer_(max_per_peer) {}

absl::StatusOr<StreamLimiter::Slot> StreamLimiter::Acquire(const std::string& peer,
                                                           absl::string_view method) {
  absl::MutexLock lock(&mu_);
  int64_t& open = open_[peer];
  if (open >= max_per_peer_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many open streams from ", peer, ": this ", method, " would make ", open + 1,
        " open Pull, Push and Snapshot streams; --max_streams_per_peer is ", max_per_peer_));
  }
  ++open;
  ++total_;
  return Slot(this, peer);
}

void StreamLimiter::Release(const std::string& peer) {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(peer);
  if (it == open_.end()) return;
  --total_;
  if (--it->second == 0) open_.erase(it);
}

StreamLimiter::Usage StreamLimiter::usage() const {
  absl::MutexLock lock(&mu_);
  Usage usage;
  usage.open = total_;
  usage.peers = static_cast<int64_t>(open_.size());
  for (const auto& [peer, open] : open_) {
    if (open > usage.busiest || (open == usage.busiest && peer < usage.busiest_peer)) {
      usage.busiest = open;
      usage.busiest_peer = peer;
    }
  }
  return usage;
}

}  // namespace tessera
