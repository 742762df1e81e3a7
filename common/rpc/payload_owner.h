#ifndef TESSERA_COMMON_RPC_PAYLOAD_OWNER_H_
#define TESSERA_COMMON_RPC_PAYLOAD_OWNER_H_

// Keeps the memory of a payload alive and unchanged while others (gRPC, when
// common/rpc/chunk_coding.h sends it without a copy) reference it. Each holder
// calls Ref() once and Unref() when done, from any thread, possibly after the
// RPC that sent it has ended. Implementations must be thread-safe.

namespace tessera {

class PayloadOwner {
 public:
  virtual void Ref() = 0;
  virtual void Unref() = 0;

 protected:
  ~PayloadOwner() = default;
};

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_PAYLOAD_OWNER_H_
