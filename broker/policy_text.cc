#include "broker/policy_text.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "broker/path_check.h"
#include "broker/sandbox_result.h"
#include "proto/errno_name.h"

namespace sbox {
namespace {

constexpr int kMaxIncludeDepth = 8;
constexpr off_t kMaxFileSize = 1 << 20;

struct Constant {
  const char* name;
  uint64_t value;
};

// The named constants a VALUE may use; POLICY_FORMAT.md lists the same names.
constexpr Constant kConstants[] = {
    // open flags
    {"O_RDONLY", O_RDONLY},
    {"O_WRONLY", O_WRONLY},
    {"O_RDWR", O_RDWR},
    {"O_ACCMODE", O_ACCMODE},
    {"O_CREAT", O_CREAT},
    {"O_EXCL", O_EXCL},
    {"O_NOCTTY", O_NOCTTY},
    {"O_TRUNC", O_TRUNC},
    {"O_APPEND", O_APPEND},
    {"O_NONBLOCK", O_NONBLOCK},
    {"O_DSYNC", O_DSYNC},
    {"O_SYNC", O_SYNC},
    {"O_DIRECTORY", O_DIRECTORY},
    {"O_NOFOLLOW", O_NOFOLLOW},
    {"O_CLOEXEC", O_CLOEXEC},
    {"O_PATH", O_PATH},
    {"O_TMPFILE", O_TMPFILE},
    {"O_NOATIME", O_NOATIME},
    // address families
    {"AF_UNSPEC", AF_UNSPEC},
    {"AF_UNIX", AF_UNIX},
    {"AF_INET", AF_INET},
    {"AF_INET6", AF_INET6},
    {"AF_NETLINK", AF_NETLINK},
    // socket types and flags
    {"SOCK_STREAM", SOCK_STREAM},
    {"SOCK_DGRAM", SOCK_DGRAM},
    {"SOCK_RAW", SOCK_RAW},
    {"SOCK_SEQPACKET", SOCK_SEQPACKET},
    {"SOCK_NONBLOCK", SOCK_NONBLOCK},
    {"SOCK_CLOEXEC", SOCK_CLOEXEC},
    // mmap and mprotect
    {"PROT_NONE", PROT_NONE},
    {"PROT_READ", PROT_READ},
    {"PROT_WRITE", PROT_WRITE},
    {"PROT_EXEC", PROT_EXEC},
    {"MAP_SHARED", MAP_SHARED},
    {"MAP_PRIVATE", MAP_PRIVATE},
    {"MAP_FIXED", MAP_FIXED},
    {"MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE},
    {"MAP_ANONYMOUS", MAP_ANONYMOUS},
    {"MAP_NORESERVE", MAP_NORESERVE},
    {"MAP_POPULATE", MAP_POPULATE},
    {"MAP_STACK", MAP_STACK},
    {"MAP_GROWSDOWN", MAP_GROWSDOWN},
    // clone flags
    {"CLONE_VM", CLONE_VM},
    {"CLONE_FS", CLONE_FS},
    {"CLONE_FILES", CLONE_FILES},
    {"CLONE_SIGHAND", CLONE_SIGHAND},
    {"CLONE_PIDFD", CLONE_PIDFD},
    {"CLONE_PTRACE", CLONE_PTRACE},
    {"CLONE_VFORK", CLONE_VFORK},
    {"CLONE_PARENT", CLONE_PARENT},
    {"CLONE_THREAD", CLONE_THREAD},
    {"CLONE_SYSVSEM", CLONE_SYSVSEM},
    {"CLONE_SETTLS", CLONE_SETTLS},
    {"CLONE_PARENT_SETTID", CLONE_PARENT_SETTID},
    {"CLONE_CHILD_CLEARTID", CLONE_CHILD_CLEARTID},
    {"CLONE_CHILD_SETTID", CLONE_CHILD_SETTID},
    {"CLONE_NEWNS", CLONE_NEWNS},
    {"CLONE_NEWCGROUP", CLONE_NEWCGROUP},
    {"CLONE_NEWUTS", CLONE_NEWUTS},
    {"CLONE_NEWIPC", CLONE_NEWIPC},
    {"CLONE_NEWUSER", CLONE_NEWUSER},
    {"CLONE_NEWPID", CLONE_NEWPID},
    {"CLONE_NEWNET", CLONE_NEWNET},
    {"CLONE_IO", CLONE_IO},
    // lseek
    {"SEEK_SET", SEEK_SET},
    {"SEEK_CUR", SEEK_CUR},
    {"SEEK_END", SEEK_END},
    {"SEEK_DATA", SEEK_DATA},
    {"SEEK_HOLE", SEEK_HOLE},
    // fcntl commands and flags
    {"F_DUPFD", F_DUPFD},
    {"F_DUPFD_CLOEXEC", F_DUPFD_CLOEXEC},
    {"F_GETFD", F_GETFD},
    {"F_SETFD", F_SETFD},
    {"F_GETFL", F_GETFL},
    {"F_SETFL", F_SETFL},
    {"F_GETLK", F_GETLK},
    {"F_SETLK", F_SETLK},
    {"F_SETLKW", F_SETLKW},
    {"F_OFD_GETLK", F_OFD_GETLK},
    {"F_OFD_SETLK", F_OFD_SETLK},
    {"F_OFD_SETLKW", F_OFD_SETLKW},
    {"F_GETPIPE_SZ", F_GETPIPE_SZ},
    {"F_SETPIPE_SZ", F_SETPIPE_SZ},
    {"F_ADD_SEALS", F_ADD_SEALS},
    {"F_GET_SEALS", F_GET_SEALS},
    {"FD_CLOEXEC", FD_CLOEXEC},
    // ioctl requests
    {"TCGETS", TCGETS},
    {"TCSETS", TCSETS},
    {"TIOCGWINSZ", TIOCGWINSZ},
    {"TIOCSWINSZ", TIOCSWINSZ},
    {"TIOCGPGRP", TIOCGPGRP},
    {"FIONREAD", FIONREAD},
    {"FIONBIO", FIONBIO},
    {"FIOCLEX", FIOCLEX},
    {"FIONCLEX", FIONCLEX},
    // futex operations
    {"FUTEX_WAIT", FUTEX_WAIT},
    {"FUTEX_WAKE", FUTEX_WAKE},
    {"FUTEX_PRIVATE_FLAG", FUTEX_PRIVATE_FLAG},
    {"FUTEX_CLOCK_REALTIME", FUTEX_CLOCK_REALTIME},
    // signals
    {"SIGHUP", SIGHUP},
    {"SIGINT", SIGINT},
    {"SIGQUIT", SIGQUIT},
    {"SIGABRT", SIGABRT},
    {"SIGKILL", SIGKILL},
    {"SIGSEGV", SIGSEGV},
    {"SIGPIPE", SIGPIPE},
    {"SIGALRM", SIGALRM},
    {"SIGTERM", SIGTERM},
    {"SIGUSR1", SIGUSR1},
    {"SIGUSR2", SIGUSR2},
    {"SIGCHLD", SIGCHLD},
    {"SIGCONT", SIGCONT},
    {"SIGSTOP", SIGSTOP},
    {"SIGSYS", SIGSYS},
};

struct GroupName {
  const char* name;
  SyscallGroup group;
};

constexpr GroupName kGroupNames[] = {
    {"basic-io", SyscallGroup::kBasicIo},
    {"memory-without-exec", SyscallGroup::kMemoryWithoutExec},
    {"time", SyscallGroup::kTime},
    {"signals", SyscallGroup::kSignals},
    {"threads", SyscallGroup::kThreads},
    {"exit", SyscallGroup::kExit},
    {"identity", SyscallGroup::kIdentity},
    {"random", SyscallGroup::kRandom},
    {"broker-channel", SyscallGroup::kBrokerChannel},
    {"file-redirection", SyscallGroup::kFileRedirection},
    {"program-startup", SyscallGroup::kProgramStartup},
    {"own-process", SyscallGroup::kOwnProcess},
    {"executable-memory", SyscallGroup::kExecutableMemory},
    {"processes", SyscallGroup::kProcesses},
    {"sanitizer-runtime", SyscallGroup::kSanitizerRuntime},
};

bool ValidErrno(uint64_t error) { return error >= 1 && error <= 4094; }

// The errno names glibc knows, to their numbers.
const std::map<std::string, int>& ErrnoNumbers() {
  static const auto* const kNumbers = [] {
    auto* numbers = new std::map<std::string, int>;
    for (int e = 1; e <= 4094; ++e) {
      const char* name = ErrnoName(e);
      if (std::strcmp(name, "E?") != 0) numbers->emplace(name, e);
    }
    return numbers;
  }();
  return *kNumbers;
}

std::string ErrnoText(int error) {
  const char* name = ErrnoName(error);
  auto it = ErrnoNumbers().find(name);
  if (it != ErrnoNumbers().end() && it->second == error) return name;
  return absl::StrCat(error);
}

std::string ValueText(uint64_t value) {
  return value < 0x1000 ? absl::StrCat(value) : absl::StrFormat("0x%x", value);
}

std::string Quote(absl::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// A path stays bare when every byte is printable ASCII other than '#', '"' and '\\'.
std::string PathText(absl::string_view path) {
  bool bare = !path.empty();
  for (char c : path) {
    if (c <= ' ' || c > '~' || c == '#' || c == '"' || c == '\\') bare = false;
  }
  return bare ? std::string(path) : Quote(path);
}

// `spelled`: the values as written (see PolicyRule::spelled), or empty for the numbers.
std::string ConditionText(const ArgCondition& c, const std::vector<std::string>& spelled) {
  std::vector<std::string> values;
  switch (c.compare) {
    case ArgCondition::Compare::kMaskedEq:
      values = {ValueText(c.mask), ValueText(c.value)};
      break;
    case ArgCondition::Compare::kIn:
      for (uint64_t v : c.values) values.push_back(ValueText(v));
      break;
    default:
      values = {ValueText(c.value)};
      break;
  }
  if (spelled.size() == values.size()) values = spelled;
  const std::string arg = absl::StrCat("arg", c.index);
  switch (c.compare) {
    case ArgCondition::Compare::kEq:
      return absl::StrCat(arg, " == ", values[0]);
    case ArgCondition::Compare::kNe:
      return absl::StrCat(arg, " != ", values[0]);
    case ArgCondition::Compare::kLt:
      return absl::StrCat(arg, " < ", values[0]);
    case ArgCondition::Compare::kLe:
      return absl::StrCat(arg, " <= ", values[0]);
    case ArgCondition::Compare::kGt:
      return absl::StrCat(arg, " > ", values[0]);
    case ArgCondition::Compare::kGe:
      return absl::StrCat(arg, " >= ", values[0]);
    case ArgCondition::Compare::kMaskedEq:
      return absl::StrCat(arg, " & ", values[0], " == ", values[1]);
    case ArgCondition::Compare::kIn:
      return absl::StrCat(arg, " in {", absl::StrJoin(values, ", "), "}");
  }
  return arg;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }
bool IsIdentChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

// Reads a regular file of at most kMaxFileSize bytes.
absl::StatusOr<std::string> ReadPolicyFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open '", path, "'"));
  std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* p) {
    close(*p);
    delete p;
  });
  struct stat st;
  if (fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("fstat '", path, "'"));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
  }
  if (st.st_size > kMaxFileSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is larger than ", kMaxFileSize, " bytes"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = read(fd, &text[done], text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read '", path, "'"));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

class Parser {
 public:
  explicit Parser(const ParseOptions& options) : options_(options) {}

  absl::Status ParseFile(const std::string& file, absl::string_view text) {
    open_files_.push_back(IdentityOf(file));
    absl::Status status = ParseText(file, text);
    open_files_.pop_back();
    return status;
  }

  std::vector<PolicyRule> TakeRules() { return std::move(rules_); }

 private:
  // A file's identity for cycle detection: its real path when it has one.
  static std::string IdentityOf(const std::string& file) {
    char* real = realpath(file.c_str(), nullptr);
    if (real == nullptr) return file;
    std::string identity(real);
    free(real);
    return identity;
  }

  absl::Status ParseText(const std::string& file, absl::string_view text) {
    int line_number = 0;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == absl::string_view::npos) end = text.size();
      ++line_number;
      file_ = file;
      line_number_ = line_number;
      line_ = text.substr(start, end - start);
      pos_ = 0;
      if (absl::Status status = ParseLine(); !status.ok()) return status;
      start = end + 1;
    }
    return absl::OkStatus();
  }

  // ---- Errors ----

  std::string Found(size_t at) const {
    size_t end = at;
    while (end < line_.size() && !IsSpace(line_[end]) && line_[end] != '#' && end - at < 24) {
      ++end;
    }
    if (at >= line_.size() || line_[at] == '#') return "end of line";
    return absl::StrCat("'", absl::CHexEscape(line_.substr(at, end - at)), "'");
  }

  absl::Status Error(size_t at, absl::string_view expected) const {
    return ErrorWithFound(at, expected, Found(at));
  }

  absl::Status ErrorWithFound(size_t at, absl::string_view expected,
                              absl::string_view found) const {
    std::string message = absl::StrFormat("%s:%d:%d: expected %s, found %s", file_, line_number_,
                                          at + 1, expected, found);
    for (auto it = include_sites_.rbegin(); it != include_sites_.rend(); ++it) {
      absl::StrAppend(&message, "\n  included from ", it->first, ":", it->second);
    }
    return absl::InvalidArgumentError(message);
  }

  // ---- Lexing ----

  void SkipSpace() {
    while (pos_ < line_.size() && IsSpace(line_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ >= line_.size() || line_[pos_] == '#'; }

  absl::string_view ReadWhile(bool (*pred)(char)) {
    const size_t start = pos_;
    while (pos_ < line_.size() && pred(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }

  bool Consume(absl::string_view token) {
    if (line_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  // True and past the keyword when the next word is exactly `keyword`.
  bool ConsumeKeyword(absl::string_view keyword) {
    const size_t start = pos_;
    if (ReadWhile(IsWordChar) == keyword) return true;
    pos_ = start;
    return false;
  }

  absl::Status ReadString(std::string* out) {
    if (pos_ >= line_.size() || line_[pos_] != '"') return Error(pos_, "'\"'");
    ++pos_;
    out->clear();
    while (true) {
      if (pos_ >= line_.size()) return ErrorWithFound(pos_, "closing '\"'", "end of line");
      const char c = line_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c == '\\') {
        ++pos_;
        if (pos_ >= line_.size() || (line_[pos_] != '"' && line_[pos_] != '\\')) {
          return Error(pos_, "'\"' or '\\' after a backslash");
        }
      }
      out->push_back(line_[pos_]);
      ++pos_;
    }
  }

  // ---- Values ----

  absl::Status ReadNumber(uint64_t* value, absl::string_view what) {
    const size_t start = pos_;
    const absl::string_view word = ReadWhile(IsIdentChar);
    uint64_t result = 0;
    bool ok = !word.empty() && absl::ascii_isdigit(word[0]);
    if (ok && word.size() > 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'X')) {
      for (char c : word.substr(2)) {
        if (!absl::ascii_isxdigit(c) || result >> 60 != 0) {
          ok = false;
          break;
        }
        result = result * 16 + static_cast<uint64_t>(absl::ascii_isdigit(c)
                                                         ? c - '0'
                                                         : absl::ascii_tolower(c) - 'a' + 10);
      }
    } else if (ok) {
      ok = word.size() == 1 || word[0] != '0';  // no leading zeros: 0755 is not decimal 755
      for (char c : word) {
        if (!ok) break;
        const uint64_t digit = static_cast<uint64_t>(c - '0');
        if (!absl::ascii_isdigit(c) || result > (UINT64_MAX - digit) / 10) {
          ok = false;
          break;
        }
        result = result * 10 + digit;
      }
    }
    if (!ok) return Error(start, what);
    *value = result;
    return absl::OkStatus();
  }

  // atom ('|' atom)*, atom: a number or a named constant. `spelled` gets the atoms joined
  // with '|', numbers canonical.
  absl::Status ReadValue(uint64_t* value, std::vector<std::string>* spelled) {
    *value = 0;
    std::vector<std::string> atoms;
    while (true) {
      SkipSpace();
      const size_t start = pos_;
      uint64_t atom = 0;
      if (pos_ < line_.size() && absl::ascii_isdigit(line_[pos_])) {
        if (absl::Status s = ReadNumber(&atom, "a decimal or 0x hex number below 2^64"); !s.ok()) {
          return s;
        }
        atoms.push_back(ValueText(atom));
      } else if (pos_ < line_.size() && (absl::ascii_isalpha(line_[pos_]) || line_[pos_] == '_')) {
        const absl::string_view name = ReadWhile(IsIdentChar);
        bool known = false;
        for (const Constant& constant : kConstants) {
          if (name == constant.name) {
            atom = constant.value;
            known = true;
            break;
          }
        }
        if (!known) return Error(start, "a known constant (see broker/POLICY_FORMAT.md)");
        atoms.emplace_back(name);
      } else {
        return Error(start, "a value (number or constant)");
      }
      *value |= atom;
      SkipSpace();
      if (pos_ < line_.size() && line_[pos_] == '|' &&
          (pos_ + 1 >= line_.size() || line_[pos_ + 1] != '|')) {
        ++pos_;
        continue;
      }
      spelled->push_back(absl::StrJoin(atoms, "|"));
      return absl::OkStatus();
    }
  }

  absl::Status ReadErrno(int* error) {
    SkipSpace();
    const size_t start = pos_;
    if (pos_ < line_.size() && absl::ascii_isdigit(line_[pos_])) {
      uint64_t number = 0;
      if (absl::Status s = ReadNumber(&number, "an errno name or number 1..4094"); !s.ok()) {
        return s;
      }
      if (!ValidErrno(number)) return Error(start, "an errno name or number 1..4094");
      *error = static_cast<int>(number);
      return absl::OkStatus();
    }
    const absl::string_view name = ReadWhile(IsIdentChar);
    auto it = ErrnoNumbers().find(std::string(name));
    if (it == ErrnoNumbers().end()) return Error(start, "an errno name or number 1..4094");
    *error = it->second;
    return absl::OkStatus();
  }

  absl::Status ReadSyscall(std::string* name) {
    SkipSpace();
    const size_t start = pos_;
    const absl::string_view word = ReadWhile(IsIdentChar);
    if (word.empty()) return Error(start, "a syscall name");
    *name = std::string(word);
    if (SyscallNumber(*name) < 0) {
      return Error(start, "a syscall name known to libseccomp");
    }
    return absl::OkStatus();
  }

  absl::Status ReadPath(std::string* path) {
    SkipSpace();
    const size_t start = pos_;
    if (pos_ < line_.size() && line_[pos_] == '"') {
      if (absl::Status s = ReadString(path); !s.ok()) return s;
    } else {
      *path = std::string(ReadWhile([](char c) { return !IsSpace(c) && c != '#' && c != '"'; }));
      if (path->empty()) return Error(start, "a path");
    }
    if (CheckAbsoluteNormalizedPath(*path) != PathProblem::kNone) {
      return ErrorWithFound(start, "an absolute normalized path",
                            absl::StrCat("'", absl::CHexEscape(*path), "' (",
                                         PathProblemText(CheckAbsoluteNormalizedPath(*path)), ")"));
    }
    return absl::OkStatus();
  }

  absl::Status ReadPermissions(Permissions* permissions) {
    SkipSpace();
    const size_t start = pos_;
    const absl::string_view word = ReadWhile(IsWordChar);
    *permissions = 0;
    for (char c : word) {
      const char* letters = "rwcdsx";
      const char* at = std::strchr(letters, c);
      const Permissions bit = at == nullptr ? 0 : Permissions{1} << (at - letters);
      if (c == '\0' || bit == 0 || (*permissions & bit) != 0) {
        *permissions = 0;
        break;
      }
      *permissions |= bit;
    }
    if (*permissions == 0) return Error(start, "permissions (letters of rwcdsx, each once)");
    return absl::OkStatus();
  }

  absl::Status ReadMode(mode_t* mode) {
    SkipSpace();
    const size_t start = pos_;
    const absl::string_view word = ReadWhile(IsIdentChar);
    bool ok = word.size() >= 2 && word.size() <= 4 && word[0] == '0';
    mode_t result = 0;
    for (char c : word) {
      if (c < '0' || c > '7') ok = false;
      if (ok) result = result * 8 + static_cast<mode_t>(c - '0');
    }
    if (!ok) return Error(start, "an octal mode 00..0777 with a leading 0");
    *mode = result;
    return absl::OkStatus();
  }

  // argN OP VALUE | argN & MASK == VALUE | argN in {V, ...}
  // `spelled` gets the values as written (PolicyRule::spelled).
  absl::Status ReadCondition(ArgCondition* condition, std::vector<std::string>* spelled) {
    SkipSpace();
    const size_t start = pos_;
    const absl::string_view word = ReadWhile(IsWordChar);
    if (word.size() != 4 || word.substr(0, 3) != "arg" || word[3] < '0' || word[3] > '5') {
      return Error(start, "an argument arg0..arg5");
    }
    condition->index = word[3] - '0';
    condition->mask = 0;
    condition->values.clear();
    condition->value = 0;
    SkipSpace();
    using C = ArgCondition::Compare;
    static constexpr std::pair<const char*, C> kOperators[] = {
        {"==", C::kEq}, {"!=", C::kNe}, {"<=", C::kLe},
        {">=", C::kGe}, {"<", C::kLt},  {">", C::kGt},
    };
    for (const auto& [text, compare] : kOperators) {
      if (Consume(text)) {
        condition->compare = compare;
        return ReadValue(&condition->value, spelled);
      }
    }
    if (pos_ < line_.size() && line_[pos_] == '&' &&
        (pos_ + 1 >= line_.size() || line_[pos_ + 1] != '&')) {
      ++pos_;
      condition->compare = C::kMaskedEq;
      if (absl::Status s = ReadValue(&condition->mask, spelled); !s.ok()) return s;
      SkipSpace();
      if (!Consume("==")) return Error(pos_, "'==' after the mask");
      return ReadValue(&condition->value, spelled);
    }
    if (ConsumeKeyword("in")) {
      condition->compare = C::kIn;
      SkipSpace();
      if (!Consume("{")) return Error(pos_, "'{'");
      while (true) {
        uint64_t value = 0;
        if (absl::Status s = ReadValue(&value, spelled); !s.ok()) return s;
        condition->values.push_back(value);
        SkipSpace();
        if (Consume("}")) return absl::OkStatus();
        if (!Consume(",")) return Error(pos_, "',' or '}'");
      }
    }
    return Error(pos_, "a comparison (==, !=, <, <=, >, >=, & or in)");
  }

  // [justify "TEXT"] end of line. `also` names what else could have come here.
  absl::Status ReadTail(PolicyRule* rule, absl::string_view also) {
    SkipSpace();
    const std::string expected = absl::StrCat(also, "'justify' or end of line");
    if (AtEnd()) return absl::OkStatus();
    if (!ConsumeKeyword("justify")) return Error(pos_, expected);
    SkipSpace();
    const size_t start = pos_;
    if (pos_ >= line_.size() || line_[pos_] != '"') return Error(pos_, "a quoted justification");
    if (absl::Status s = ReadString(&rule->justification); !s.ok()) return s;
    if (rule->justification.empty()) {
      return ErrorWithFound(start, "a non-empty justification", "\"\"");
    }
    SkipSpace();
    if (!AtEnd()) return Error(pos_, "end of line");
    return absl::OkStatus();
  }

  absl::Status ParseLine() {
    SkipSpace();
    if (AtEnd()) return absl::OkStatus();
    const size_t start = pos_;
    const std::string keyword(ReadWhile(IsWordChar));
    PolicyRule rule;
    rule.file = file_;
    rule.line = line_number_;
    absl::Status status;
    absl::string_view also;
    if (keyword == "include") {
      return ParseInclude();
    } else if (keyword == "default") {
      status = ParseDefault(start, &rule);
    } else if (keyword == "allow") {
      SkipSpace();
      if (ConsumeKeyword("group")) {
        rule.kind = PolicyRule::Kind::kAllowGroup;
        SkipSpace();
        const size_t at = pos_;
        const absl::string_view name = ReadWhile(IsWordChar);
        bool known = false;
        for (const GroupName& group : kGroupNames) {
          if (name == group.name) {
            rule.group = group.group;
            known = true;
          }
        }
        if (!known) status = Error(at, "a group name (basic-io, memory-without-exec, ...)");
      } else {
        rule.kind = PolicyRule::Kind::kAllow;
        status = ReadSyscall(&rule.name);
        also = "'if', ";
        SkipSpace();
        if (status.ok() && ConsumeKeyword("if")) {
          also = "'&&', ";
          do {
            ArgCondition condition{0, ArgCondition::Compare::kEq, 0};
            std::vector<std::string> spelled;
            status = ReadCondition(&condition, &spelled);
            if (!status.ok()) break;
            rule.all_of.push_back(std::move(condition));
            rule.spelled.push_back(std::move(spelled));
            SkipSpace();
          } while (Consume("&&"));
        }
      }
    } else if (keyword == "errno") {
      rule.kind = PolicyRule::Kind::kErrno;
      status = ReadErrno(&rule.error);
      if (status.ok()) status = ReadSyscall(&rule.name);
    } else if (keyword == "trap") {
      rule.kind = PolicyRule::Kind::kTrap;
      status = ReadSyscall(&rule.name);
    } else if (keyword == "file" || keyword == "tree") {
      rule.kind = keyword == "file" ? PolicyRule::Kind::kFile : PolicyRule::Kind::kTree;
      status = ReadPermissions(&rule.permissions);
      if (status.ok()) status = ReadPath(&rule.name);
    } else if (keyword == "temporary" || keyword == "deny") {
      rule.kind = keyword == "deny" ? PolicyRule::Kind::kDeny : PolicyRule::Kind::kTemporary;
      status = ReadPath(&rule.name);
      if (status.ok() && rule.kind == PolicyRule::Kind::kDeny) {
        SkipSpace();
        if (ConsumeKeyword("errno")) {
          status = ReadErrno(&rule.error);
        } else {
          also = "'errno', ";
        }
      }
    } else if (keyword == "private-tmp") {
      rule.kind = PolicyRule::Kind::kPrivateTmp;
    } else if (keyword == "uncovered-paths") {
      rule.kind = PolicyRule::Kind::kUncoveredPaths;
      status = ReadErrno(&rule.error);
    } else if (keyword == "create-modes") {
      rule.kind = PolicyRule::Kind::kCreateModes;
      status = ReadMode(&rule.file_mode);
      if (status.ok()) status = ReadMode(&rule.directory_mode);
    } else {
      return Error(start,
                   "a rule (allow, errno, trap, default, file, tree, temporary, deny, "
                   "create-modes, uncovered-paths, private-tmp or include)");
    }
    if (status.ok()) status = ReadTail(&rule, also);
    if (!status.ok()) return status;
    rules_.push_back(std::move(rule));
    return absl::OkStatus();
  }

  absl::Status ParseDefault(size_t start, PolicyRule* rule) {
    rule->kind = PolicyRule::Kind::kDefault;
    if (!default_site_.empty()) {
      return ErrorWithFound(start, "one 'default' per policy",
                            absl::StrCat("a second one (the first is at ", default_site_, ")"));
    }
    SkipSpace();
    const size_t at = pos_;
    const absl::string_view action = ReadWhile(IsWordChar);
    if (action == "kill-and-report") {
      rule->default_action = DefaultAction::kKillAndReport;
    } else if (action == "kill-process") {
      rule->default_action = DefaultAction::kKillProcess;
    } else if (action == "trap") {
      rule->default_action = DefaultAction::kTrap;
    } else if (action == "errno") {
      int error = 0;
      if (absl::Status s = ReadErrno(&error); !s.ok()) return s;
      rule->default_action = DefaultAction::Errno(error);
    } else {
      return Error(at, "kill-and-report, kill-process, trap or errno");
    }
    default_site_ = absl::StrCat(file_, ":", line_number_);
    return absl::OkStatus();
  }

  absl::Status ParseInclude() {
    SkipSpace();
    const size_t start = pos_;
    if (!options_.allow_includes) return ErrorWithFound(start, "no include", "one (disabled)");
    std::string target;
    if (absl::Status s = ReadString(&target); !s.ok()) return s;
    if (target.empty() || target.find('\0') != std::string::npos) {
      return Error(start, "a file name");
    }
    SkipSpace();
    if (!AtEnd()) return Error(pos_, "end of line");
    if (include_sites_.size() >= static_cast<size_t>(kMaxIncludeDepth)) {
      return ErrorWithFound(start, absl::StrCat("at most ", kMaxIncludeDepth, " nested includes"),
                            absl::StrCat("include number ", kMaxIncludeDepth + 1));
    }
    std::string path = target;
    if (target[0] != '/') {
      const size_t slash = file_.rfind('/');
      if (slash != std::string::npos) path = absl::StrCat(file_.substr(0, slash + 1), target);
    }
    const std::string identity = IdentityOf(path);
    for (size_t i = 0; i < open_files_.size(); ++i) {
      if (open_files_[i] == identity) {
        std::vector<std::string> chain;
        for (const auto& site : include_sites_) chain.push_back(site.first);
        chain.push_back(file_);
        chain.push_back(path);
        return ErrorWithFound(
            start, "an include that is not a cycle",
            absl::StrJoin(chain.begin() + static_cast<ptrdiff_t>(i), chain.end(), " -> "));
      }
    }
    absl::StatusOr<std::string> text = ReadPolicyFile(path);
    if (!text.ok()) return ErrorWithFound(start, "a readable policy file", text.status().message());

    // Save this line's state: the included file's lines replace it.
    const std::string file = file_;
    const int line_number = line_number_;
    const absl::string_view line = line_;
    const size_t pos = pos_;
    include_sites_.emplace_back(file, line_number);
    open_files_.push_back(identity);
    absl::Status status = ParseText(path, *text);
    open_files_.pop_back();
    include_sites_.pop_back();
    file_ = file;
    line_number_ = line_number;
    line_ = line;
    pos_ = pos;
    return status;
  }

  const ParseOptions options_;
  std::vector<PolicyRule> rules_;
  std::vector<std::string> open_files_;                     // identities, outermost first
  std::vector<std::pair<std::string, int>> include_sites_;  // outermost first
  std::string default_site_;

  // The line being parsed.
  std::string file_;
  int line_number_ = 0;
  absl::string_view line_;
  size_t pos_ = 0;
};

absl::StatusOr<ParsedPolicy> Parse(absl::string_view text, const std::string& file,
                                   const ParseOptions& options) {
  Parser parser(options);
  if (absl::Status status = parser.ParseFile(file, text); !status.ok()) return status;
  ParsedPolicy policy;
  policy.rules = parser.TakeRules();
  for (const PolicyRule& rule : policy.rules) {
    const std::string source = absl::StrCat(rule.file, ":", rule.line);
    switch (rule.kind) {
      case PolicyRule::Kind::kDefault:
        policy.syscalls.SetDefaultAction(rule.default_action);
        break;
      case PolicyRule::Kind::kAllow:
        policy.syscalls.Allow(rule.name, rule.all_of);
        break;
      case PolicyRule::Kind::kAllowGroup:
        policy.syscalls.AllowGroup(rule.group);
        break;
      case PolicyRule::Kind::kErrno:
        policy.syscalls.ReturnErrno(rule.name, rule.error);
        break;
      case PolicyRule::Kind::kTrap:
        policy.syscalls.Trap(rule.name);
        break;
      case PolicyRule::Kind::kFile:
        policy.files.AllowFile(rule.name, rule.permissions, source);
        break;
      case PolicyRule::Kind::kTree:
        policy.files.AllowTree(rule.name, rule.permissions, source);
        break;
      case PolicyRule::Kind::kTemporary:
        policy.files.AllowTemporaryFiles(rule.name, source);
        break;
      case PolicyRule::Kind::kDeny:
        policy.files.Deny(rule.name, rule.error != 0 ? rule.error : EACCES, source);
        break;
      case PolicyRule::Kind::kCreateModes:
        policy.files.SetCreateModes(rule.file_mode, rule.directory_mode);
        break;
      case PolicyRule::Kind::kUncoveredPaths:
        policy.files.SetUncoveredErrno(rule.error);
        break;
      case PolicyRule::Kind::kPrivateTmp:
        policy.private_tmp = true;
        break;
    }
  }
  return policy;
}

}  // namespace

absl::StatusOr<ParsedPolicy> ParsePolicyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadPolicyFile(path);
  if (!text.ok()) return text.status();
  return Parse(*text, path, ParseOptions());
}

absl::StatusOr<ParsedPolicy> ParsePolicyText(absl::string_view text,
                                             absl::string_view name_for_errors,
                                             const ParseOptions& options) {
  return Parse(text, std::string(name_for_errors), options);
}

std::string FormatRule(const PolicyRule& rule) {
  std::string text;
  switch (rule.kind) {
    case PolicyRule::Kind::kDefault:
      switch (rule.default_action.kind) {
        case DefaultAction::kKillAndReport:
          text = "default kill-and-report";
          break;
        case DefaultAction::kKillProcess:
          text = "default kill-process";
          break;
        case DefaultAction::kTrap:
          text = "default trap";
          break;
        case DefaultAction::kErrno:
          text = absl::StrCat("default errno ", ErrnoText(rule.default_action.error));
          break;
      }
      break;
    case PolicyRule::Kind::kAllow: {
      text = absl::StrCat("allow ", rule.name);
      std::vector<std::string> conditions;
      const bool spelled = rule.spelled.size() == rule.all_of.size();
      for (size_t i = 0; i < rule.all_of.size(); ++i) {
        conditions.push_back(
            ConditionText(rule.all_of[i], spelled ? rule.spelled[i] : std::vector<std::string>()));
      }
      if (!conditions.empty()) absl::StrAppend(&text, " if ", absl::StrJoin(conditions, " && "));
      break;
    }
    case PolicyRule::Kind::kAllowGroup:
      for (const GroupName& group : kGroupNames) {
        if (group.group == rule.group) text = absl::StrCat("allow group ", group.name);
      }
      break;
    case PolicyRule::Kind::kErrno:
      text = absl::StrCat("errno ", ErrnoText(rule.error), " ", rule.name);
      break;
    case PolicyRule::Kind::kTrap:
      text = absl::StrCat("trap ", rule.name);
      break;
    case PolicyRule::Kind::kFile:
      text = absl::StrCat("file ", PermissionsText(rule.permissions), " ", PathText(rule.name));
      break;
    case PolicyRule::Kind::kTree:
      text = absl::StrCat("tree ", PermissionsText(rule.permissions), " ", PathText(rule.name));
      break;
    case PolicyRule::Kind::kTemporary:
      text = absl::StrCat("temporary ", PathText(rule.name));
      break;
    case PolicyRule::Kind::kDeny:
      text = absl::StrCat("deny ", PathText(rule.name));
      if (rule.error != 0) absl::StrAppend(&text, " errno ", ErrnoText(rule.error));
      break;
    case PolicyRule::Kind::kCreateModes:
      text = absl::StrFormat("create-modes 0%03o 0%03o", rule.file_mode, rule.directory_mode);
      break;
    case PolicyRule::Kind::kUncoveredPaths:
      text = absl::StrCat("uncovered-paths ", ErrnoText(rule.error));
      break;
    case PolicyRule::Kind::kPrivateTmp:
      text = "private-tmp";
      break;
  }
  if (!rule.justification.empty()) absl::StrAppend(&text, " justify ", Quote(rule.justification));
  return text;
}

std::string FormatPolicy(const ParsedPolicy& policy) {
  std::string text;
  for (const PolicyRule& rule : policy.rules) absl::StrAppend(&text, FormatRule(rule), "\n");
  return text;
}

}  // namespace sbox
