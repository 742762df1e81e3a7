#ifndef TESSERA_COMMON_RECORDS_JPEG_ERROR_H_
#define TESSERA_COMMON_RECORDS_JPEG_ERROR_H_

// A libjpeg error manager that never calls exit(): errors (and, for decoding,
// warnings such as "Premature end of JPEG file" or "Corrupt JPEG data") jump back
// to the caller's setjmp with the library's message saved.
//
// Use (the function that calls setjmp must stay on the stack while libjpeg runs,
// and hold no local with a non-trivial destructor alive across libjpeg calls):
//
//   JpegErrorManager err;
//   cinfo.err = InstallJpegErrorManager(&err, /*warnings_are_errors=*/true);
//   if (setjmp(err.jump)) { ... err.message ...; jpeg_abort(...); return error; }
//
// Not thread-safe; one per libjpeg object.

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

namespace tessera {

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first, so libjpeg's pointer is ours too
  std::jmp_buf jump;
  bool warnings_are_errors = true;
  char message[JMSG_LENGTH_MAX] = {0};
};

// Sets up `err` (borrowed; must outlive its libjpeg object) and returns the
// pointer to store in cinfo.err.
jpeg_error_mgr* InstallJpegErrorManager(JpegErrorManager* err,
                                        bool warnings_are_errors);

}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_JPEG_ERROR_H_
