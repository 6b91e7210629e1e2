#ifndef SBOX_BROKER_OPEN_FLAGS_H_
#define SBOX_BROKER_OPEN_FLAGS_H_

#include <fcntl.h>

#include <cstdint>
#include <string>

namespace sbox {

// The kernel's O_LARGEFILE. glibc defines O_LARGEFILE as 0 on x86_64, but a raw open(2) may carry
// the kernel's bit, which means nothing on a 64-bit kernel.
inline constexpr uint32_t kKernelLargeFile = 0100000;

// Every open(2) flag a sandboxee may ask for. Any other bit (O_PATH, O_TMPFILE, O_DIRECT,
// O_SYNC, O_ASYNC, O_NOATIME, unknown bits) is refused with EINVAL. O_CLOEXEC and O_NOCTTY are
// always added by the broker, whatever the request says.
inline constexpr uint32_t kAllowedOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC |
                                              O_APPEND | O_NONBLOCK | O_DIRECTORY | O_NOFOLLOW |
                                              O_CLOEXEC | kKernelLargeFile;

// True when `flags` asks to change the file: write access, O_TRUNC, O_APPEND or O_CREAT.
// O_RDONLY|O_TRUNC counts as a write, because the kernel truncates it.
bool OpenFlagsWrite(uint32_t flags);

// "O_RDONLY|O_CLOEXEC", with unknown bits as a hexadecimal remainder ("O_RDWR|0x8000000").
std::string OpenFlagsToString(uint32_t flags);

}  // namespace sbox

#endif  // SBOX_BROKER_OPEN_FLAGS_H_
