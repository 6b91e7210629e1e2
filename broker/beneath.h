#ifndef SBOX_BROKER_BENEATH_H_
#define SBOX_BROKER_BENEATH_H_

#include <linux/openat2.h>

#include <cstdint>
#include <string_view>

#include "broker/file_policy.h"

namespace sbox {

// The resolve flags of every open the broker makes for a request: the kernel keeps the path
// beneath the directory it starts from, never follows a magic link, and never follows a
// symlink (the broker follows them itself, hop by hop, each judged by the policy:
// broker/path_walk.h).
inline constexpr uint64_t kBeneathNoSymlinks =
    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;

// openat2(2) of `path` (at most PATH_MAX - 1 bytes) from `dirfd`, close-on-exec, never a
// controlling terminal. Retries the EAGAIN a concurrent rename causes, a bounded number of
// times. Returns the descriptor or -errno.
int OpenAt2(int dirfd, std::string_view path, uint64_t flags, uint64_t mode, uint64_t resolve);

// Opens `beneath` (a path relative to the rule's root directory, "." for the directory itself)
// under `rule` with kBeneathNoSymlinks and `extra_resolve`: from the rule's root descriptor, or,
// for a root that did not exist when the policy was built, through the names it still lacks.
// Returns the descriptor or -errno.
int OpenBeneath(const Rule& rule, std::string_view beneath, uint64_t flags, uint64_t mode,
                uint64_t extra_resolve = 0);

}  // namespace sbox

#endif  // SBOX_BROKER_BENEATH_H_
