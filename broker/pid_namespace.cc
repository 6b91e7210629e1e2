#include "broker/pid_namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "proto/unique_fd.h"

namespace sbox {

absl::StatusOr<pid_t> InnermostPid(pid_t id) {
  const std::string path = absl::StrCat("/proc/", id, "/status");
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("open(\"", path, "\")"));
  std::string text;
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd.get(), buffer, sizeof(buffer))) > 0) {
    text.append(buffer, static_cast<size_t>(got));
  }
  if (got < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read(\"", path, "\")"));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "NSpid:")) continue;
    std::vector<absl::string_view> ids = absl::StrSplit(line, '\t', absl::SkipWhitespace());
    pid_t innermost = 0;
    if (ids.empty() || !absl::SimpleAtoi(ids.back(), &innermost)) break;
    return innermost;
  }
  return absl::InternalError(absl::StrCat(path, ": no NSpid line"));
}

}  // namespace sbox
