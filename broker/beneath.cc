#include "broker/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace sbox {

int OpenAt2(int dirfd, std::string_view path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  if (path.size() > PATH_MAX - 1) return -ENAMETOOLONG;
  open_how how = {};
  // openat2 rejects O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC.
  how.flags = flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY);
  how.mode = mode;
  how.resolve = resolve;
  char name[PATH_MAX];
  memcpy(name, path.data(), path.size());
  name[path.size()] = '\0';
  // A rename anywhere on the system while ".." is resolved beneath a root makes openat2 fail
  // with EAGAIN, to be retried; a bounded number of tries keeps a flood of renames from
  // holding the broker.
  long fd = -1;
  for (int attempt = 0; attempt < 16; ++attempt) {
    fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

int OpenBeneath(const Rule& rule, std::string_view beneath, uint64_t flags, uint64_t mode,
                uint64_t extra_resolve) {
  const uint64_t resolve = kBeneathNoSymlinks | extra_resolve;
  if (rule.root_rest.empty()) return OpenAt2(rule.root, beneath, flags, mode, resolve);
  std::string path = rule.root_rest;
  if (beneath != ".") {
    path += '/';
    path.append(beneath.data(), beneath.size());
  }
  return OpenAt2(rule.root, path, flags, mode, resolve);
}

}  // namespace sbox
