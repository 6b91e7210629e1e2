#include "proto/errno_name.h"

#include <string.h>

namespace sbox {

const char* ErrnoName(int error) {
  const char* name = strerrorname_np(error);
  return name != nullptr ? name : "E?";
}

}  // namespace sbox
