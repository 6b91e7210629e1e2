#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/decision_recorder.h"
#include "broker/file_policy.h"
#include "broker/syscall_policy.h"
#include "examples/elf_parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "launcher/launcher.h"
#include "proto/errno_name.h"
#include "proto/unique_fd.h"
#include "sandboxee/broker_client.h"

namespace sbox::examples {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kLoadAddress = 0x10000;
constexpr char kInterpreter[] = "/lib64/ld-linux-x86-64.so.2";
// Names begin at offsets 1, 9, 18 and 26.
constexpr char kSectionNames[] = "\0.interp\0.dynamic\0.dynstr\0.shstrtab";
constexpr char kDynamicStrings[] = "\0libc.so.6";

// A small, valid ELF64 shared object with an interpreter, one DT_NEEDED and five sections, and
// where each part of it lies, so a test can break exactly one field.
struct TestElf {
  std::string bytes;
  size_t program_headers = 0;
  size_t interpreter = 0;
  size_t dynamic = 0;
  size_t dynamic_strings = 0;
  size_t section_names = 0;
  size_t section_headers = 0;

  // Rewrites the T at `offset` through `edit`.
  template <typename T>
  void Edit(size_t offset, const std::function<void(T&)>& edit) {
    T value;
    memcpy(&value, bytes.data() + offset, sizeof(T));
    edit(value);
    memcpy(bytes.data() + offset, &value, sizeof(T));
  }
  void EditHeader(const std::function<void(Elf64_Ehdr&)>& edit) { Edit<Elf64_Ehdr>(0, edit); }
  void EditProgramHeader(size_t i, const std::function<void(Elf64_Phdr&)>& edit) {
    Edit<Elf64_Phdr>(program_headers + i * sizeof(Elf64_Phdr), edit);
  }
  void EditDynamic(size_t i, const std::function<void(Elf64_Dyn&)>& edit) {
    Edit<Elf64_Dyn>(dynamic + i * sizeof(Elf64_Dyn), edit);
  }
  void EditSection(size_t i, const std::function<void(Elf64_Shdr&)>& edit) {
    Edit<Elf64_Shdr>(section_headers + i * sizeof(Elf64_Shdr), edit);
  }
};

template <typename T>
void Put(std::string& bytes, size_t offset, const T& value) {
  memcpy(bytes.data() + offset, &value, sizeof(T));
}

TestElf MinimalElf() {
  TestElf elf;
  std::string& bytes = elf.bytes;
  const auto reserve = [&bytes](size_t size) {
    bytes.resize((bytes.size() + 7) & ~size_t{7});  // 8-byte alignment for the structures
    const size_t offset = bytes.size();
    bytes.resize(offset + size);
    return offset;
  };
  reserve(sizeof(Elf64_Ehdr));
  elf.program_headers = reserve(3 * sizeof(Elf64_Phdr));
  elf.interpreter = reserve(sizeof(kInterpreter));
  elf.dynamic = reserve(4 * sizeof(Elf64_Dyn));
  elf.dynamic_strings = reserve(sizeof(kDynamicStrings));
  elf.section_names = reserve(sizeof(kSectionNames));
  elf.section_headers = reserve(5 * sizeof(Elf64_Shdr));
  memcpy(bytes.data() + elf.interpreter, kInterpreter, sizeof(kInterpreter));
  memcpy(bytes.data() + elf.dynamic_strings, kDynamicStrings, sizeof(kDynamicStrings));
  memcpy(bytes.data() + elf.section_names, kSectionNames, sizeof(kSectionNames));

  Elf64_Ehdr header = {};
  memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_DYN;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_entry = kLoadAddress + 0x100;
  header.e_phoff = elf.program_headers;
  header.e_shoff = elf.section_headers;
  header.e_ehsize = sizeof(Elf64_Ehdr);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = 3;
  header.e_shentsize = sizeof(Elf64_Shdr);
  header.e_shnum = 5;
  header.e_shstrndx = 4;
  Put(bytes, 0, header);

  // One PT_LOAD maps the whole file at kLoadAddress, so DT_STRTAB needs that mapping undone.
  const Elf64_Phdr load = {PT_LOAD,      PF_R,         0,     kLoadAddress, kLoadAddress,
                           bytes.size(), bytes.size(), 0x1000};
  const Elf64_Phdr interp = {PT_INTERP,
                             PF_R,
                             elf.interpreter,
                             kLoadAddress + elf.interpreter,
                             kLoadAddress + elf.interpreter,
                             sizeof(kInterpreter),
                             sizeof(kInterpreter),
                             1};
  const Elf64_Phdr dynamic = {PT_DYNAMIC,
                              PF_R,
                              elf.dynamic,
                              kLoadAddress + elf.dynamic,
                              kLoadAddress + elf.dynamic,
                              4 * sizeof(Elf64_Dyn),
                              4 * sizeof(Elf64_Dyn),
                              8};
  Put(bytes, elf.program_headers, load);
  Put(bytes, elf.program_headers + sizeof(Elf64_Phdr), interp);
  Put(bytes, elf.program_headers + 2 * sizeof(Elf64_Phdr), dynamic);

  const Elf64_Dyn entries[] = {
      {DT_NEEDED, {1}},
      {DT_STRTAB, {kLoadAddress + elf.dynamic_strings}},
      {DT_STRSZ, {sizeof(kDynamicStrings)}},
      {DT_NULL, {0}},
  };
  memcpy(bytes.data() + elf.dynamic, entries, sizeof(entries));

  const Elf64_Shdr sections[] = {
      {},
      {1, SHT_PROGBITS, SHF_ALLOC, kLoadAddress + elf.interpreter, elf.interpreter,
       sizeof(kInterpreter), 0, 0, 1, 0},
      {9, SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, kLoadAddress + elf.dynamic, elf.dynamic,
       4 * sizeof(Elf64_Dyn), 3, 0, 8, sizeof(Elf64_Dyn)},
      {18, SHT_STRTAB, SHF_ALLOC, kLoadAddress + elf.dynamic_strings, elf.dynamic_strings,
       sizeof(kDynamicStrings), 0, 0, 1, 0},
      {26, SHT_STRTAB, 0, 0, elf.section_names, sizeof(kSectionNames), 0, 0, 1, 0},
  };
  memcpy(bytes.data() + elf.section_headers, sections, sizeof(sections));
  return elf;
}

// Writes `bytes` to a file under TEST_TMPDIR and parses it.
absl::StatusOr<ElfReport> ParseBytes(const std::string& bytes) {
  const char* tmpdir = getenv("TEST_TMPDIR");
  const std::string path = std::string(tmpdir != nullptr ? tmpdir : "/tmp") + "/input.elf";
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "open " + path);
  if (write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    return absl::InternalError("short write to " + path);
  }
  return ParseElf(fd.get());
}

absl::StatusOr<ElfReport> ParsePath(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "open " + path);
  return ParseElf(fd.get());
}

TEST(ElfParser, ParsesMinimalElf) {
  auto report = ParseBytes(MinimalElf().bytes);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->type, ET_DYN);
  EXPECT_EQ(report->machine, EM_X86_64);
  EXPECT_EQ(report->entry, kLoadAddress + 0x100);
  EXPECT_EQ(report->program_header_count, 3u);
  EXPECT_EQ(report->section_count, 5u);
  EXPECT_THAT(report->section_names,
              ElementsAre("", ".interp", ".dynamic", ".dynstr", ".shstrtab"));
  EXPECT_EQ(report->interpreter, kInterpreter);
  EXPECT_THAT(report->needed, ElementsAre("libc.so.6"));
}

TEST(ElfParser, FollowsExtendedNumbering) {
  TestElf elf = MinimalElf();
  elf.EditHeader([](Elf64_Ehdr& h) {
    h.e_phnum = PN_XNUM;
    h.e_shnum = 0;
    h.e_shstrndx = SHN_XINDEX;
  });
  elf.EditSection(0, [](Elf64_Shdr& s) {
    s.sh_size = 5;
    s.sh_link = 4;
    s.sh_info = 3;
  });
  auto report = ParseBytes(elf.bytes);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->program_header_count, 3u);
  EXPECT_EQ(report->section_count, 5u);
  EXPECT_THAT(report->section_names, Contains(".shstrtab"));
  EXPECT_THAT(report->needed, ElementsAre("libc.so.6"));
}

TEST(ElfParser, NamesTypesAndMachines) {
  EXPECT_EQ(ElfTypeName(ET_EXEC), "EXEC");
  EXPECT_EQ(ElfTypeName(ET_DYN), "DYN");
  EXPECT_EQ(ElfTypeName(ET_REL), "REL");
  EXPECT_EQ(ElfTypeName(ET_CORE), "CORE");
  EXPECT_EQ(ElfTypeName(0xfe00), "0xfe00");
  EXPECT_EQ(ElfMachineName(EM_X86_64), "x86_64");
  EXPECT_EQ(ElfMachineName(EM_AARCH64), "AArch64");
  EXPECT_EQ(ElfMachineName(9999), "machine 9999");
}

TEST(ElfParser, FormatEscapesNamesFromTheFile) {
  ElfReport report;
  report.type = ET_EXEC;
  report.machine = EM_X86_64;
  report.interpreter = "/evil\x1b[2J";
  const std::string text = FormatElfReport("/x", report);
  EXPECT_THAT(text, HasSubstr("/x: ELF64 little-endian, EXEC, x86_64"));
  EXPECT_THAT(text, HasSubstr("/evil\\x1b[2J"));
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

struct HostileCase {
  const char* name;
  std::function<void(TestElf&)> damage;
  absl::StatusCode code;
  const char* message;  // a substring the error must contain
};

// Each case breaks one thing in an otherwise valid file; the expected message proves the
// parser caught that thing rather than tripping over something else.
std::vector<HostileCase> HostileCases() {
  const auto invalid = absl::StatusCode::kInvalidArgument;
  return {
      {"empty file", [](TestElf& e) { e.bytes.clear(); }, invalid, "bad magic"},
      {"three bytes", [](TestElf& e) { e.bytes.resize(3); }, invalid, "bad magic"},
      {"truncated identification", [](TestElf& e) { e.bytes.resize(10); }, invalid,
       "truncated ELF identification"},
      {"truncated header", [](TestElf& e) { e.bytes.resize(40); }, invalid,
       "truncated ELF header: the file is 40 bytes"},
      {"bad magic", [](TestElf& e) { e.bytes[1] = 'X'; }, invalid, "bad magic"},
      {"32-bit class", [](TestElf& e) { e.bytes[EI_CLASS] = ELFCLASS32; },
       absl::StatusCode::kUnimplemented, "ELFCLASS32"},
      {"invalid class", [](TestElf& e) { e.bytes[EI_CLASS] = 7; }, invalid, "invalid EI_CLASS 7"},
      {"big-endian", [](TestElf& e) { e.bytes[EI_DATA] = ELFDATA2MSB; },
       absl::StatusCode::kUnimplemented, "big-endian"},
      {"invalid version", [](TestElf& e) { e.bytes[EI_VERSION] = 0; }, invalid, "EI_VERSION"},
      {"huge e_phnum", [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_phnum = 0xfffe; }); },
       invalid, "65534 program headers, over the limit of 4096"},
      {"huge e_shnum", [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_shnum = 0xfeff; }); },
       invalid, "65279 sections, over the limit of 4096"},
      {"huge extended section count",
       [](TestElf& e) {
         e.EditHeader([](Elf64_Ehdr& h) { h.e_shnum = 0; });
         e.EditSection(0, [](Elf64_Shdr& s) { s.sh_size = uint64_t{1} << 40; });
       },
       invalid, "over the limit of 4096"},
      {"huge extended program header count",
       [](TestElf& e) {
         e.EditHeader([](Elf64_Ehdr& h) { h.e_phnum = PN_XNUM; });
         e.EditSection(0, [](Elf64_Shdr& s) { s.sh_info = 0xffffffff; });
       },
       invalid, "program headers, over the limit"},
      {"PN_XNUM without section headers",
       [](TestElf& e) {
         e.EditHeader([](Elf64_Ehdr& h) {
           h.e_phnum = PN_XNUM;
           h.e_shoff = 0;
           h.e_shnum = 0;
         });
       },
       invalid, "no section header 0"},
      {"section headers past end of file",
       [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_shoff = 1 << 20; }); }, invalid,
       "section header table (offset 0x100000, 320 bytes) ends past the end of the file"},
      {"section header offset wraps around",
       [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_shoff = ~uint64_t{0} - 8; }); },
       invalid, "section header table"},
      {"section table cut short", [](TestElf& e) { e.bytes.resize(e.bytes.size() - 1); }, invalid,
       "section header table"},
      {"wrong e_shentsize",
       [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_shentsize = 40; }); }, invalid,
       "e_shentsize is 40"},
      {"program headers past end of file",
       [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_phoff = 1 << 20; }); }, invalid,
       "program header table"},
      {"wrong e_phentsize",
       [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_phentsize = 32; }); }, invalid,
       "e_phentsize is 32"},
      {"shstrndx out of range",
       [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_shstrndx = 5; }); }, invalid,
       "e_shstrndx 5 is out of range (5 sections)"},
      {"shstrndx names a non-string table",
       [](TestElf& e) { e.EditHeader([](Elf64_Ehdr& h) { h.e_shstrndx = 2; }); }, invalid,
       "not SHT_STRTAB"},
      {"section name table past end of file",
       [](TestElf& e) { e.EditSection(4, [](Elf64_Shdr& s) { s.sh_offset = 1 << 20; }); }, invalid,
       "section header string table (offset 0x100000"},
      {"section name table too large",
       [](TestElf& e) { e.EditSection(4, [](Elf64_Shdr& s) { s.sh_size = ~uint64_t{0}; }); },
       invalid, "over the limit"},
      {"section name offset outside its table",
       [](TestElf& e) { e.EditSection(2, [](Elf64_Shdr& s) { s.sh_name = 1000; }); }, invalid,
       "name of section 2: offset 1000 is outside its string table"},
      {"unterminated section name",
       [](TestElf& e) { e.bytes[e.section_names + sizeof(kSectionNames) - 1] = 'X'; }, invalid,
       "name of section 4: not NUL-terminated"},
      {"PT_INTERP not NUL-terminated",
       [](TestElf& e) { e.bytes[e.interpreter + sizeof(kInterpreter) - 1] = 'X'; }, invalid,
       "PT_INTERP path is not NUL-terminated"},
      {"PT_INTERP empty", [](TestElf& e) { e.bytes[e.interpreter] = '\0'; }, invalid,
       "PT_INTERP path is empty"},
      {"PT_INTERP huge",
       [](TestElf& e) { e.EditProgramHeader(1, [](Elf64_Phdr& p) { p.p_filesz = 1 << 30; }); },
       invalid, "PT_INTERP size 1073741824"},
      {"PT_INTERP past end of file",
       [](TestElf& e) {
         e.EditProgramHeader(1, [](Elf64_Phdr& p) { p.p_offset = ~uint64_t{0} - 4; });
       },
       invalid, "PT_INTERP (offset"},
      {"two PT_INTERP",
       [](TestElf& e) { e.EditProgramHeader(2, [](Elf64_Phdr& p) { p.p_type = PT_INTERP; }); },
       invalid, "more than one PT_INTERP"},
      {"PT_DYNAMIC too large",
       [](TestElf& e) { e.EditProgramHeader(2, [](Elf64_Phdr& p) { p.p_filesz = ~uint64_t{0}; }); },
       invalid, "PT_DYNAMIC holds"},
      {"PT_DYNAMIC without DT_NULL",
       [](TestElf& e) { e.EditDynamic(3, [](Elf64_Dyn& d) { d.d_tag = DT_DEBUG; }); }, invalid,
       "no DT_NULL terminator"},
      {"DT_NEEDED without DT_STRTAB",
       [](TestElf& e) { e.EditDynamic(1, [](Elf64_Dyn& d) { d.d_tag = DT_DEBUG; }); }, invalid,
       "DT_NEEDED without both DT_STRTAB and DT_STRSZ"},
      {"DT_STRTAB outside every PT_LOAD",
       [](TestElf& e) { e.EditDynamic(1, [](Elf64_Dyn& d) { d.d_un.d_ptr = 0x10; }); }, invalid,
       "DT_STRTAB (address 0x10, 11 bytes) is not inside the file part of any PT_LOAD"},
      {"DT_STRSZ past the segment",
       [](TestElf& e) { e.EditDynamic(2, [](Elf64_Dyn& d) { d.d_un.d_val = 1 << 20; }); }, invalid,
       "not inside the file part of any PT_LOAD"},
      {"PT_LOAD pointing past end of file",
       [](TestElf& e) {
         e.EditProgramHeader(0, [](Elf64_Phdr& p) { p.p_offset = ~uint64_t{0} - 100; });
       },
       invalid, "DT_STRTAB"},
      {"DT_NEEDED offset outside DT_STRTAB",
       [](TestElf& e) { e.EditDynamic(0, [](Elf64_Dyn& d) { d.d_un.d_val = 11; }); }, invalid,
       "DT_NEEDED entry 0: offset 11 is outside its string table (11 bytes)"},
      {"unterminated DT_NEEDED",
       [](TestElf& e) { e.bytes[e.dynamic_strings + sizeof(kDynamicStrings) - 1] = 'X'; }, invalid,
       "DT_NEEDED entry 0: not NUL-terminated"},
  };
}

TEST(ElfParser, RejectsHostileInput) {
  for (const HostileCase& hostile : HostileCases()) {
    SCOPED_TRACE(hostile.name);
    TestElf elf = MinimalElf();
    hostile.damage(elf);
    auto report = ParseBytes(elf.bytes);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), hostile.code) << report.status();
    EXPECT_THAT(report.status().message(), HasSubstr(hostile.message));
  }
}

TEST(ElfParser, RejectsEveryTruncation) {
  const std::string bytes = MinimalElf().bytes;
  for (size_t size = 0; size < bytes.size(); ++size) {
    SCOPED_TRACE(absl::StrCat("first ", size, " bytes"));
    EXPECT_FALSE(ParseBytes(bytes.substr(0, size)).ok());
  }
}

// Random byte damage may leave the file valid; what matters is that parsing ends, with a report
// or an error, and never crashes (run under the sanitizers to catch silent out-of-bounds reads).
TEST(ElfParser, SurvivesRandomCorruption) {
  const std::string original = MinimalElf().bytes;
  std::mt19937 random(12345);
  std::uniform_int_distribution<size_t> position(0, original.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = original;
    for (int flips = 1 + round % 8; flips > 0; --flips) {
      bytes[position(random)] = static_cast<char>(byte(random));
    }
    (void)ParseBytes(bytes);
  }
}

// The sandboxee: checks what it parsed and says on stderr what was wrong, since only its exit
// code reaches the test.
int CheckInSandbox(UniqueFd channel, const std::string& path) {
  sandboxee::BrokerClient client(std::move(channel));
  const auto fail = [&path](const std::string& why) {
    fprintf(stderr, "sandboxee, %s: %s\n", path.c_str(), why.c_str());
    return 1;
  };
  auto fd = client.Open(path, O_RDONLY);
  if (!fd.ok()) return fail(fd.status().ToString());
  auto report = ParseElf(fd->get());
  if (!report.ok()) return fail(report.status().ToString());
  if (report->machine != EM_X86_64) return fail(ElfMachineName(report->machine));
  if (report->type != ET_DYN && report->type != ET_EXEC) return fail(ElfTypeName(report->type));
  if (report->section_count == 0 || report->section_names.size() != report->section_count) {
    return fail("no section names");
  }
  if (std::find(report->section_names.begin(), report->section_names.end(), ".text") ==
      report->section_names.end()) {
    return fail("no .text section");
  }
  if (!report->interpreter.has_value()) return fail("no PT_INTERP");
  if (std::find(report->needed.begin(), report->needed.end(), "libc.so.6") ==
      report->needed.end()) {
    return fail("libc.so.6 is not DT_NEEDED");
  }
  // The policy grants the input alone: the interpreter must be out of reach, as if absent.
  auto interpreter = client.Stat(*report->interpreter);
  if (sandboxee::ErrnoOf(interpreter.status()) != ENOENT) {
    return fail(absl::StrCat("stat of the interpreter: ", interpreter.status().ToString()));
  }
  return 0;
}

class SandboxedInspection : public ::testing::TestWithParam<const char*> {};

TEST_P(SandboxedInspection, ParsesSystemBinaryThroughTheBroker) {
  char* resolved = realpath(GetParam(), nullptr);
  ASSERT_NE(resolved, nullptr) << GetParam() << ": " << ErrnoName(errno);
  const std::string path = resolved;
  free(resolved);

  // The same checks outside the sandbox, so a failure there is told apart from one in the
  // sandbox.
  auto direct = ParsePath(path);
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_TRUE(direct->interpreter.has_value());

  auto files = FilePolicy::Builder().AllowReadFile(path).Build();
  ASSERT_TRUE(files.ok()) << files.status();
  auto syscalls = SyscallPolicy::BrokeredParser().Build();
  ASSERT_TRUE(syscalls.ok()) << syscalls.status();
  DecisionRecorder decisions;
  Launcher launcher(*std::move(files), *std::move(syscalls));
  launcher.SetDecisionLog(decisions.AsLog()).SetTimeout(absl::Seconds(30));
  auto result =
      launcher.Run([&path](UniqueFd channel) { return CheckInSandbox(std::move(channel), path); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok()) << result->ToString();

  const std::vector<std::string> lines = decisions.Lines();
  EXPECT_THAT(lines,
              Contains(absl::StrCat("open \"", path, "\" O_RDONLY: allowed (rule 1: allow r file ",
                                    path, ")")));
  // No rule covers the interpreter's first component ("/lib64"): resolution stops there, and
  // the decision names the path asked for and answers ENOENT, as if it were absent.
  EXPECT_THAT(lines, Contains(HasSubstr(absl::StrCat("stat \"", *direct->interpreter,
                                                     "\" follow: denied, ENOENT: no rule covers "
                                                     "a component of the path"))));
  for (const std::string& line : lines) {
    EXPECT_FALSE(absl::StrContains(line, ": allowed") && !absl::StartsWith(line, "open \"" + path))
        << line;
  }
}

INSTANTIATE_TEST_SUITE_P(SystemBinaries, SandboxedInspection,
                         ::testing::Values("/bin/true", "/bin/ls"));

}  // namespace
}  // namespace sbox::examples
