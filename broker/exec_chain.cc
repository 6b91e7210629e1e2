#include "broker/exec_chain.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/unique_fd.h"

namespace sbox {
namespace {

// The kernel's BINPRM_BUF_SIZE ("#!" lines are cut there) and its limit on nested
// interpreters.
constexpr size_t kHeadSize = 256;
constexpr int kMaxInterpreters = 4;

absl::Status FileError(int error, const std::string& path, const char* what) {
  const std::string message = absl::StrFormat("%s \"%s\": %s", what, path, strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

// Reads exactly `size` bytes at `offset`: 0, or the errno (EIO for a short file).
int ReadAt(int fd, void* out, size_t size, off_t offset) {
  const ssize_t got = pread(fd, out, size, offset);
  if (got < 0) return errno;
  return static_cast<size_t>(got) == size ? 0 : EIO;
}

// The PT_INTERP path of the 64-bit ELF file `fd`, "" when it has none.
absl::StatusOr<std::string> ElfInterpreter(int fd, const std::string& path) {
  Elf64_Ehdr header;
  if (const int error = ReadAt(fd, &header, sizeof(header), 0); error != 0) {
    return FileError(error, path, "reading the ELF header of");
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_phentsize != sizeof(Elf64_Phdr) ||
      header.e_phnum > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\": not a 64-bit ELF file sbox can read"));
  }
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    if (const int error = ReadAt(fd, &segment, sizeof(segment),
                                 static_cast<off_t>(header.e_phoff + i * sizeof(segment)));
        error != 0) {
      return FileError(error, path, "reading the ELF program headers of");
    }
    if (segment.p_type != PT_INTERP) continue;
    if (segment.p_filesz == 0 || segment.p_filesz > PATH_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("\"", path, "\": PT_INTERP out of bounds"));
    }
    std::string interpreter(segment.p_filesz, '\0');
    if (const int error = ReadAt(fd, interpreter.data(), interpreter.size(),
                                 static_cast<off_t>(segment.p_offset));
        error != 0) {
      return FileError(error, path, "reading PT_INTERP of");
    }
    interpreter.resize(strnlen(interpreter.c_str(), interpreter.size()));
    return interpreter;
  }
  return std::string();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExecChain(const std::string& program,
                                                   const std::string& working_directory) {
  std::vector<std::string> chain;
  std::string path = program;
  for (int level = 0; level <= kMaxInterpreters + 1 && !path.empty(); ++level) {
    if (path[0] != '/') path = absl::StrCat(working_directory, "/", path);
    chain.push_back(path);
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) return FileError(errno, path, "opening");
    char head[kHeadSize];
    const ssize_t got = pread(fd.get(), head, sizeof(head), 0);
    if (got < 0) return FileError(errno, path, "reading");
    const std::string_view text(head, static_cast<size_t>(got));
    if (text.substr(0, 2) == "#!") {
      // "#!  /usr/bin/env python3": the interpreter is the first word after the blanks.
      std::string_view line =
          text.substr(2, text.find('\n') == std::string_view::npos ? std::string_view::npos
                                                                   : text.find('\n') - 2);
      const size_t start = line.find_first_not_of(" \t");
      if (start == std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", path, "\": \"#!\" names no interpreter"));
      }
      line.remove_prefix(start);
      path = std::string(line.substr(0, line.find_first_of(" \t")));
      continue;
    }
    if (text.substr(0, 4) == std::string_view(ELFMAG, SELFMAG)) {
      absl::StatusOr<std::string> interpreter = ElfInterpreter(fd.get(), path);
      if (!interpreter.ok()) return interpreter.status();
      path = *std::move(interpreter);
      continue;
    }
    break;
  }
  return chain;
}

}  // namespace sbox
