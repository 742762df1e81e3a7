#ifndef TESSERA_PS_CHUNK_SOURCE_H_
#define TESSERA_PS_CHUNK_SOURCE_H_

// A response stream of chunks (Pull: ps/pull_session.h, Snapshot:
// ps/snapshot_session.h), produced one at a time for the service adapter
// (ps/ps_service.h) to send. Not thread-safe: one stream, one thread at a time.

#include <cstdint>

#include "protos/ps_service.pb.h"
#include "ps/block_values.h"

namespace tessera {

class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual bool Done() const = 0;
  // The next chunk (at most max_elements > 0 elements) and its *header. The
  // payload is not copied: it stays valid and unchanged while the returned
  // SharedFloats, or a reference taken from it, lives (gRPC sends straight
  // from it). Requires !Done().
  virtual SharedFloats NextChunk(int64_t max_elements, ChunkHeader* header) = 0;
};

}  // namespace tessera

#endif  // TESSERA_PS_CHUNK_SOURCE_H_
