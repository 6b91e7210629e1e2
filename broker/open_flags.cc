#include "broker/open_flags.h"

#include "absl/strings/str_format.h"

namespace sbox {

bool OpenFlagsWrite(uint32_t flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND | O_CREAT)) != 0;
}

std::string OpenFlagsToString(uint32_t flags) {
  static constexpr struct {
    uint32_t bit;
    const char* name;
  } kNames[] = {
      {O_CREAT, "O_CREAT"},         {O_EXCL, "O_EXCL"},
      {O_NOCTTY, "O_NOCTTY"},       {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},       {O_NONBLOCK, "O_NONBLOCK"},
      {O_DSYNC, "O_DSYNC"},         {O_ASYNC, "O_ASYNC"},
      {O_DIRECT, "O_DIRECT"},       {kKernelLargeFile, "O_LARGEFILE"},
      {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
      {O_NOATIME, "O_NOATIME"},     {O_CLOEXEC, "O_CLOEXEC"},
      {O_PATH, "O_PATH"},
  };
  std::string text;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      text = "O_RDONLY";
      break;
    case O_WRONLY:
      text = "O_WRONLY";
      break;
    case O_RDWR:
      text = "O_RDWR";
      break;
    default:
      text = "O_ACCMODE";
      break;
  }
  uint32_t rest = flags & ~static_cast<uint32_t>(O_ACCMODE);
  // O_TMPFILE and O_SYNC include other bits; name them before their parts.
  if ((rest & O_TMPFILE) == static_cast<uint32_t>(O_TMPFILE)) {
    text += "|O_TMPFILE";
    rest &= ~static_cast<uint32_t>(O_TMPFILE);
  }
  if ((rest & O_SYNC) == static_cast<uint32_t>(O_SYNC)) {
    text += "|O_SYNC";
    rest &= ~static_cast<uint32_t>(O_SYNC);
  }
  for (const auto& [bit, name] : kNames) {
    if (rest & bit) {
      text += '|';
      text += name;
      rest &= ~bit;
    }
  }
  if (rest != 0) absl::StrAppendFormat(&text, "|%#x", rest);
  return text;
}

}  // namespace sbox
