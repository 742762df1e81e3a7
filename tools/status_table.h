#ifndef TESSERA_TOOLS_STATUS_TABLE_H_
#define TESSERA_TOOLS_STATUS_TABLE_H_

// Formatting of `tessera_ctl status` output from the tasks' StatusResponses:
// a human-readable table and a JSON document for scripts. Pure functions of
// their arguments (no network, no clock); thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/admin/cluster_admin.h"

namespace tessera {

// A rate in decimal units: "0 B/s", "950 B/s", "12.3 kB/s", "12.3 MB/s", "1.2 GB/s".
std::string FormatBytesPerSec(double bytes_per_sec);

// A size in binary units: "512 B", "1.5 KiB", "220.4 MiB", "3.1 GiB".
std::string FormatBytes(int64_t bytes);

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);

// One line naming what a task reports, for progress messages:
// "unreachable: UNAVAILABLE: ...", "state training, step 120, waiting for ps:1".
std::string DescribeTask(const TaskStatus& task);

// The status table: a header line, then one line per task in the order given,
// columns
//   JOB TASK ADDRESS STATE STEP LOCAL IMG/S LOSS PUSH PULL RSS WAITING_FOR LAST_ERROR
// where a column that does not apply to the task's job shows "-". An
// unreachable task shows state "unreachable" and the RPC error as its error; a
// task whose answer names another job or index than the cluster file shows
// that mismatch as its error. When a ps reports worker progress, a section
// listing each worker's last step follows the table, then one line per ps
// with its limits and their use (bytes held, blocks, streams open, requests
// refused; docs/security.md). Ends with a newline.
std::string FormatStatusTable(const std::vector<TaskStatus>& tasks);

// One JSON object, on one line ending with a newline:
//   {"tasks": [{"job": "ps", "task": 0, "address": "h:2222", "reachable": true,
//               "error": "", "status": {<StatusResponse, proto3 JSON mapping with
//               field names as in admin.proto and every field present>}}, ...],
//    "all_reachable": true}
// "status" is null for an unreachable task. int64 fields are JSON strings, as
// the proto3 JSON mapping prescribes.
std::string FormatStatusJson(const std::vector<TaskStatus>& tasks);

}  // namespace tessera

#endif  // TESSERA_TOOLS_STATUS_TABLE_H_
