#include "broker/syscall_decoder.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "broker/open_flags.h"
#include "broker/policy_text.h"
#include "broker/syscall_policy.h"
#include "broker/syscall_reach.h"
#include "proto/errno_name.h"
#include "proto/file_syscalls.h"

namespace sbox {
namespace {

enum class Kind {
  kFd,            // signed decimal
  kDirFd,         // kFd, AT_FDCWD by name
  kPath,          // string in the sandboxee's memory
  kPointer,       // NULL or hexadecimal
  kOpenFlags,     // O_RDONLY|O_CLOEXEC
  kMode,          // octal
  kProt,          // PROT_READ|PROT_EXEC
  kMapFlags,      // MAP_PRIVATE|MAP_ANONYMOUS
  kSocketDomain,  // AF_INET
  kSocketType,    // SOCK_STREAM|SOCK_CLOEXEC
  kSignal,        // SIGKILL
  kCloneFlags,    // CLONE_VM|...|SIGCHLD
  kPtraceRequest,
  kPrctlOption,
  kPid,  // signed decimal
  kDec,  // unsigned decimal
  kHex,
};

struct SyscallShape {
  const char* name;
  std::vector<Kind> args;  // only the arguments the call takes
};

using K = Kind;

const std::vector<SyscallShape>& Shapes() {
  static const auto* shapes = new std::vector<SyscallShape>{
      {"open", {K::kPath, K::kOpenFlags, K::kMode}},
      {"openat", {K::kDirFd, K::kPath, K::kOpenFlags, K::kMode}},
      // struct open_how lives in the sandboxee's memory: the path only.
      {"openat2", {K::kDirFd, K::kPath, K::kPointer, K::kDec}},
      {"creat", {K::kPath, K::kMode}},
      {"stat", {K::kPath, K::kPointer}},
      {"lstat", {K::kPath, K::kPointer}},
      {"newfstatat", {K::kDirFd, K::kPath, K::kPointer, K::kHex}},
      {"statx", {K::kDirFd, K::kPath, K::kHex, K::kHex, K::kPointer}},
      {"access", {K::kPath, K::kDec}},
      {"faccessat", {K::kDirFd, K::kPath, K::kDec}},
      {"faccessat2", {K::kDirFd, K::kPath, K::kDec, K::kHex}},
      {"execve", {K::kPath, K::kPointer, K::kPointer}},
      {"execveat", {K::kDirFd, K::kPath, K::kPointer, K::kPointer, K::kHex}},
      {"socket", {K::kSocketDomain, K::kSocketType, K::kDec}},
      {"connect", {K::kFd, K::kPointer, K::kDec}},
      {"mmap", {K::kPointer, K::kDec, K::kProt, K::kMapFlags, K::kFd, K::kDec}},
      {"mprotect", {K::kPointer, K::kDec, K::kProt}},
      {"pkey_mprotect", {K::kPointer, K::kDec, K::kProt, K::kFd}},
      // x86_64 order: flags, stack, parent_tid, child_tid, tls.
      {"clone", {K::kCloneFlags, K::kPointer, K::kPointer, K::kPointer, K::kHex}},
      {"kill", {K::kPid, K::kSignal}},
      {"tkill", {K::kPid, K::kSignal}},
      {"tgkill", {K::kPid, K::kPid, K::kSignal}},
      {"ioctl", {K::kFd, K::kHex, K::kHex}},
      {"ptrace", {K::kPtraceRequest, K::kPid, K::kPointer, K::kPointer}},
      {"unlink", {K::kPath}},
      {"unlinkat", {K::kDirFd, K::kPath, K::kHex}},
      {"rmdir", {K::kPath}},
      {"mkdir", {K::kPath, K::kMode}},
      {"mkdirat", {K::kDirFd, K::kPath, K::kMode}},
      {"rename", {K::kPath, K::kPath}},
      {"renameat", {K::kDirFd, K::kPath, K::kDirFd, K::kPath}},
      {"renameat2", {K::kDirFd, K::kPath, K::kDirFd, K::kPath, K::kHex}},
      {"prctl", {K::kPrctlOption, K::kHex, K::kHex, K::kHex, K::kHex}},
  };
  return *shapes;
}

using Names = std::vector<std::pair<uint64_t, const char*>>;

// Names of the bits set in `value`, then any bits left over in hexadecimal; "0" for none.
std::string FlagsToString(uint64_t value, const Names& names, std::vector<std::string> parts = {}) {
  for (const auto& [bit, name] : names) {
    if (bit != 0 && (value & bit) == bit) {
      parts.push_back(name);
      value &= ~bit;
    }
  }
  if (value != 0) parts.push_back(absl::StrFormat("%#x", value));
  return parts.empty() ? "0" : absl::StrJoin(parts, "|");
}

std::string Lookup(uint64_t value, const Names& names) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return absl::StrCat(value);
}

std::string ProtToString(uint64_t prot) {
  if (prot == PROT_NONE) return "PROT_NONE";
  static const auto* names = new Names{{PROT_READ, "PROT_READ"},
                                       {PROT_WRITE, "PROT_WRITE"},
                                       {PROT_EXEC, "PROT_EXEC"},
                                       {PROT_GROWSDOWN, "PROT_GROWSDOWN"},
                                       {PROT_GROWSUP, "PROT_GROWSUP"}};
  return FlagsToString(prot, *names);
}

std::string MapFlagsToString(uint64_t flags) {
  // The low bits are a type, not independent flags.
  static const auto* types = new Names{
      {MAP_SHARED, "MAP_SHARED"}, {MAP_PRIVATE, "MAP_PRIVATE"}, {0x03, "MAP_SHARED_VALIDATE"}};
  static const auto* names = new Names{{MAP_FIXED, "MAP_FIXED"},
                                       {MAP_ANONYMOUS, "MAP_ANONYMOUS"},
                                       {MAP_32BIT, "MAP_32BIT"},
                                       {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
                                       {MAP_DENYWRITE, "MAP_DENYWRITE"},
                                       {MAP_EXECUTABLE, "MAP_EXECUTABLE"},
                                       {MAP_LOCKED, "MAP_LOCKED"},
                                       {MAP_NORESERVE, "MAP_NORESERVE"},
                                       {MAP_POPULATE, "MAP_POPULATE"},
                                       {MAP_NONBLOCK, "MAP_NONBLOCK"},
                                       {MAP_STACK, "MAP_STACK"},
                                       {MAP_HUGETLB, "MAP_HUGETLB"},
                                       {0x80000, "MAP_SYNC"},
                                       {0x100000, "MAP_FIXED_NOREPLACE"}};
  std::vector<std::string> parts;
  const uint64_t type = flags & 0x03;
  if (type != 0) parts.push_back(Lookup(type, *types));
  return FlagsToString(flags & ~uint64_t{0x03}, *names, std::move(parts));
}

const Names& SocketDomains() {
  static const auto* names =
      new Names{{AF_UNSPEC, "AF_UNSPEC"}, {AF_UNIX, "AF_UNIX"},       {AF_INET, "AF_INET"},
                {AF_INET6, "AF_INET6"},   {AF_NETLINK, "AF_NETLINK"}, {AF_PACKET, "AF_PACKET"}};
  return *names;
}

std::string SocketTypeToString(uint64_t type) {
  static const auto* types = new Names{
      {SOCK_STREAM, "SOCK_STREAM"},       {SOCK_DGRAM, "SOCK_DGRAM"}, {SOCK_RAW, "SOCK_RAW"},
      {SOCK_SEQPACKET, "SOCK_SEQPACKET"}, {SOCK_RDM, "SOCK_RDM"},     {SOCK_PACKET, "SOCK_PACKET"}};
  static const auto* flags =
      new Names{{SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {SOCK_CLOEXEC, "SOCK_CLOEXEC"}};
  const uint64_t base = type & 0xf;  // the kernel's SOCK_TYPE_MASK
  std::vector<std::string> parts = {Lookup(base, *types)};
  return FlagsToString(type & ~uint64_t{0xf}, *flags, std::move(parts));
}

std::string SignalToString(uint64_t signal) {
  const char* name = signal < 1024 ? sigabbrev_np(static_cast<int>(signal)) : nullptr;
  if (name == nullptr) return absl::StrCat(static_cast<int64_t>(signal));
  return absl::StrCat("SIG", name);
}

std::string CloneFlagsToString(uint64_t flags) {
  static const auto* names = new Names{
      {CLONE_VM, "CLONE_VM"},
      {CLONE_FS, "CLONE_FS"},
      {CLONE_FILES, "CLONE_FILES"},
      {CLONE_SIGHAND, "CLONE_SIGHAND"},
      {CLONE_PIDFD, "CLONE_PIDFD"},
      {CLONE_PTRACE, "CLONE_PTRACE"},
      {CLONE_VFORK, "CLONE_VFORK"},
      {CLONE_PARENT, "CLONE_PARENT"},
      {CLONE_THREAD, "CLONE_THREAD"},
      {CLONE_NEWNS, "CLONE_NEWNS"},
      {CLONE_SYSVSEM, "CLONE_SYSVSEM"},
      {CLONE_SETTLS, "CLONE_SETTLS"},
      {CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
      {CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
      {CLONE_UNTRACED, "CLONE_UNTRACED"},
      {CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
      {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
      {CLONE_NEWUTS, "CLONE_NEWUTS"},
      {CLONE_NEWIPC, "CLONE_NEWIPC"},
      {CLONE_NEWUSER, "CLONE_NEWUSER"},
      {CLONE_NEWPID, "CLONE_NEWPID"},
      {CLONE_NEWNET, "CLONE_NEWNET"},
      {CLONE_IO, "CLONE_IO"},
  };
  // The low byte (CSIGNAL) is the signal sent to the parent when the child exits.
  std::vector<std::string> parts;
  const uint64_t exit_signal = flags & CSIGNAL;
  if (exit_signal != 0) parts.push_back(SignalToString(exit_signal));
  std::string rest = FlagsToString(flags & ~uint64_t{CSIGNAL}, *names);
  if (rest != "0" || parts.empty()) parts.insert(parts.begin(), rest);
  return absl::StrJoin(parts, "|");
}

std::string PtraceRequestToString(uint64_t request) {
  static const auto* names = new Names{
      {PTRACE_TRACEME, "PTRACE_TRACEME"},
      {PTRACE_PEEKTEXT, "PTRACE_PEEKTEXT"},
      {PTRACE_PEEKDATA, "PTRACE_PEEKDATA"},
      {PTRACE_PEEKUSER, "PTRACE_PEEKUSER"},
      {PTRACE_POKETEXT, "PTRACE_POKETEXT"},
      {PTRACE_POKEDATA, "PTRACE_POKEDATA"},
      {PTRACE_POKEUSER, "PTRACE_POKEUSER"},
      {PTRACE_CONT, "PTRACE_CONT"},
      {PTRACE_KILL, "PTRACE_KILL"},
      {PTRACE_SINGLESTEP, "PTRACE_SINGLESTEP"},
      {PTRACE_GETREGS, "PTRACE_GETREGS"},
      {PTRACE_SETREGS, "PTRACE_SETREGS"},
      {PTRACE_ATTACH, "PTRACE_ATTACH"},
      {PTRACE_DETACH, "PTRACE_DETACH"},
      {PTRACE_SYSCALL, "PTRACE_SYSCALL"},
      {PTRACE_SETOPTIONS, "PTRACE_SETOPTIONS"},
      {PTRACE_GETEVENTMSG, "PTRACE_GETEVENTMSG"},
      {PTRACE_SEIZE, "PTRACE_SEIZE"},
      {PTRACE_INTERRUPT, "PTRACE_INTERRUPT"},
      {PTRACE_LISTEN, "PTRACE_LISTEN"},
  };
  return Lookup(request, *names);
}

std::string PrctlOptionToString(uint64_t option) {
  static const auto* names = new Names{
      {PR_SET_PDEATHSIG, "PR_SET_PDEATHSIG"},
      {PR_GET_PDEATHSIG, "PR_GET_PDEATHSIG"},
      {PR_GET_DUMPABLE, "PR_GET_DUMPABLE"},
      {PR_SET_DUMPABLE, "PR_SET_DUMPABLE"},
      {PR_SET_NAME, "PR_SET_NAME"},
      {PR_GET_NAME, "PR_GET_NAME"},
      {PR_GET_SECCOMP, "PR_GET_SECCOMP"},
      {PR_SET_SECCOMP, "PR_SET_SECCOMP"},
      {PR_CAPBSET_READ, "PR_CAPBSET_READ"},
      {PR_CAPBSET_DROP, "PR_CAPBSET_DROP"},
      {PR_SET_SECUREBITS, "PR_SET_SECUREBITS"},
      {PR_SET_PTRACER, "PR_SET_PTRACER"},
      {PR_SET_CHILD_SUBREAPER, "PR_SET_CHILD_SUBREAPER"},
      {PR_SET_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS"},
      {PR_GET_NO_NEW_PRIVS, "PR_GET_NO_NEW_PRIVS"},
      {PR_CAP_AMBIENT, "PR_CAP_AMBIENT"},
  };
  return Lookup(option, *names);
}

std::string Pointer(uint64_t value) { return value == 0 ? "NULL" : absl::StrFormat("%#x", value); }

// Small numbers read best in decimal, addresses and masks in hexadecimal.
std::string Number(uint64_t value) {
  return value < 0x10000 ? absl::StrCat(value) : absl::StrFormat("%#x", value);
}

std::string PathToString(uint64_t address, const StringReader& read_string) {
  if (address == 0) return "NULL";
  std::optional<RemoteString> text = read_string ? read_string(address) : std::nullopt;
  if (!text) return Pointer(address);
  return absl::StrCat("\"", absl::CHexEscape(text->text), "\"", text->truncated ? "…" : "");
}

std::string ArgToString(Kind kind, uint64_t value, const StringReader& read_string) {
  // fds, pids and flags are ints to the kernel: only the low 32 bits count.
  const int32_t as_int = static_cast<int32_t>(value);
  switch (kind) {
    case Kind::kDirFd:
      if (as_int == AT_FDCWD) return "AT_FDCWD";
      return absl::StrCat(as_int);
    case Kind::kFd:
    case Kind::kPid:
      return absl::StrCat(as_int);
    case Kind::kPath:
      return PathToString(value, read_string);
    case Kind::kPointer:
      return Pointer(value);
    case Kind::kOpenFlags:
      return OpenFlagsToString(static_cast<uint32_t>(value));
    case Kind::kMode:
      return absl::StrFormat("%#o", value);
    case Kind::kProt:
      return ProtToString(value);
    case Kind::kMapFlags:
      return MapFlagsToString(value);
    case Kind::kSocketDomain:
      return Lookup(value, SocketDomains());
    case Kind::kSocketType:
      return SocketTypeToString(value);
    case Kind::kSignal:
      return SignalToString(value);
    case Kind::kCloneFlags:
      return CloneFlagsToString(value);
    case Kind::kPtraceRequest:
      return PtraceRequestToString(value);
    case Kind::kPrctlOption:
      return PrctlOptionToString(value);
    case Kind::kDec:
      return absl::StrCat(value);
    case Kind::kHex:
      return absl::StrFormat("%#x", value);
  }
  return Number(value);
}

const SyscallShape* FindShape(const SyscallViolation& violation) {
  // The table is by x86_64 name; another architecture's numbers would mean other calls.
  if (violation.arch != AUDIT_ARCH_X86_64) return nullptr;
  for (const SyscallShape& shape : Shapes()) {
    if (violation.syscall_name == shape.name) return &shape;
  }
  return nullptr;
}

}  // namespace

std::optional<RemoteString> ReadSandboxeeString(pid_t thread, uint64_t address) {
  if (address == 0) return std::nullopt;
  // One remote iovec per page: process_vm_readv never splits an iovec, so a string that ends
  // just before an unmapped page still reads up to that page. One byte more than the limit
  // tells a string of exactly kMaxRemoteString bytes from a longer one.
  constexpr size_t kWant = kMaxRemoteString + 1;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  char buffer[kWant];
  iovec local = {buffer, kWant};
  std::vector<iovec> remote;
  for (uint64_t at = address, left = kWant; left > 0;) {
    if (at < address) return std::nullopt;  // wrapped around the address space
    const uint64_t chunk = std::min<uint64_t>(left, page - at % page);
    remote.push_back({reinterpret_cast<void*>(at), static_cast<size_t>(chunk)});
    at += chunk;
    left -= chunk;
  }
  const ssize_t got = process_vm_readv(thread, &local, 1, remote.data(),
                                       static_cast<unsigned long>(remote.size()), 0);
  if (got <= 0) return std::nullopt;
  const size_t length = strnlen(buffer, static_cast<size_t>(got));
  if (length < static_cast<size_t>(got)) return RemoteString{std::string(buffer, length), false};
  // No NUL in what could be read: cut at the limit, or at the unreadable page.
  RemoteString result;
  result.text.assign(buffer, std::min(length, kMaxRemoteString));
  result.truncated = true;
  return result;
}

std::string DecodeCall(const SyscallViolation& violation, const StringReader& read_string) {
  std::vector<std::string> args;
  if (const SyscallShape* shape = FindShape(violation)) {
    size_t count = shape->args.size();
    // The kernel reads the mode only to create a file; elsewhere it is whatever was in the
    // register, so it is left out as C callers leave it out.
    const uint64_t flags = violation.syscall_name == "open" ? violation.args[1] : violation.args[2];
    if ((violation.syscall_name == "open" || violation.syscall_name == "openat") &&
        (flags & O_CREAT) == 0 && (flags & O_TMPFILE) != O_TMPFILE) {
      --count;
    }
    for (size_t i = 0; i < count && i < 6; ++i) {
      args.push_back(ArgToString(shape->args[i], violation.args[i], read_string));
    }
  } else {
    for (uint64_t arg : violation.args) args.push_back(Number(arg));
  }
  return absl::StrCat(violation.syscall_name, "(", absl::StrJoin(args, ", "), ")");
}

std::string SuggestRule(const SyscallViolation& violation) {
  const std::string& name = violation.syscall_name;
  if (violation.arch != AUDIT_ARCH_X86_64) {
    return "# the filter admits x86_64 syscalls only; no rule allows another architecture";
  }
  // A path is the broker's to judge: the group that redirects the call (or BrokerClient), and
  // a file rule for the path, never an allow of the call itself.
  if (const proto::FileSyscall* call = proto::FindFileSyscallByName(name); call != nullptr) {
    return call->refused_with == 0
               ? absl::StrCat("allow group file-redirection  # ", name,
                              " names a file: the broker performs it under the file rules "
                              "(or call BrokerClient)")
               : absl::StrCat("allow group file-redirection  # ", name, " answers ",
                              ErrnoName(call->refused_with), " there");
  }
  if (name == "execve" || name == "execveat") {
    return absl::StrCat("# ", name,
                        " needs an x grant on the program: `tree rx DIR` or `file rx PATH` with "
                        "`allow group processes` (sbox run --allow-exec PATH); the kernel then "
                        "decides each exec under Landlock");
  }
  constexpr uint64_t kOwnNamespaceOrParent = CLONE_THREAD | CLONE_PARENT | CLONE_NEWNS |
                                             CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                             CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
  if (name == "fork" || name == "vfork" ||
      (name == "clone" && (violation.args[0] & kOwnNamespaceOrParent) == 0)) {
    return "allow group processes  # child processes under the same filter and broker; "
           "sbox run --allow-exec PATH adds it with the programs they may run";
  }
  if ((name == "mmap" || name == "mprotect" || name == "pkey_mprotect") &&
      (violation.args[2] & PROT_EXEC) != 0) {
    return "allow group executable-memory  # what a JIT compiler (node, java) needs; it "
           "reaches nothing outside but makes a bug easier to exploit (sbox run --allow-jit)";
  }
  if (absl::StartsWith(name, "syscall_")) {
    return absl::StrCat("# syscall ", violation.syscall_number,
                        " has no name here, so no policy line can allow it");
  }
  // Never an allowance that reaches outside the sandbox (broker/syscall_reach.h).
  if (const std::string reach = OutsideReachOfCall(name, violation.args); !reach.empty()) {
    return absl::StrCat("# ", name, " with these arguments is refused on purpose: ", reach);
  }
  PolicyRule rule;
  rule.kind = PolicyRule::Kind::kAllow;
  rule.name = name;
  // For a call with a reach under other arguments, the arguments this one used.
  rule.all_of = NarrowestInsideConditions(name, violation.args);
  if (name == "socket" && rule.all_of.size() == 2) {
    const std::string domain = Lookup(violation.args[0], SocketDomains());
    const std::string type = SocketTypeToString(violation.args[1]);
    if (domain.rfind("AF_", 0) == 0 && type.rfind("SOCK_", 0) == 0) {
      rule.spelled = {{domain}, {type}};
    }
  }
  return FormatRule(rule);
}

void DecodeViolation(SyscallViolation* violation, const StringReader& read_string) {
  violation->call = DecodeCall(*violation, read_string);
  violation->suggested_rule = SuggestRule(*violation);
}

}  // namespace sbox
