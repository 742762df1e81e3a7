#include "common/records/jpeg_error.h"

namespace tessera {
namespace {

void JumpBack(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// libjpeg calls this with level -1 for warnings (corrupt or truncated data it
// can work around) and 0 or more for trace messages, which are dropped.
void OnMessage(j_common_ptr cinfo, int msg_level) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (msg_level < 0) {
    err->pub.num_warnings++;
    if (err->warnings_are_errors) JumpBack(cinfo);
  }
}

}  // namespace

jpeg_error_mgr* InstallJpegErrorManager(JpegErrorManager* err,
                                        bool warnings_are_errors) {
  jpeg_error_mgr* pub = jpeg_std_error(&err->pub);
  pub->error_exit = JumpBack;
  pub->emit_message = OnMessage;
  err->warnings_are_errors = warnings_are_errors;
  err->message[0] = '\0';
  return pub;
}

}  // namespace tessera
