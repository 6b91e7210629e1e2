#ifndef SBOX_PROTO_ERRNO_NAME_H_
#define SBOX_PROTO_ERRNO_NAME_H_

namespace sbox {

// "EACCES" for EACCES; "E?" for a number glibc does not name. Async-signal-safe.
const char* ErrnoName(int error);

}  // namespace sbox

#endif  // SBOX_PROTO_ERRNO_NAME_H_
