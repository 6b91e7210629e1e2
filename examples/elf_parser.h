#ifndef SBOX_EXAMPLES_ELF_PARSER_H_
#define SBOX_EXAMPLES_ELF_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sbox::examples {

// Upper bounds the parser enforces, so that a hostile file can make it neither allocate nor
// read without limit. Generous for real binaries: /usr/bin/ls has 13 program headers, 31
// sections and a 1.5 KiB .dynstr.
inline constexpr uint32_t kMaxProgramHeaders = 4096;
inline constexpr uint32_t kMaxSections = 4096;
inline constexpr uint32_t kMaxDynamicEntries = 4096;
inline constexpr uint64_t kMaxStringTableBytes = 4 << 20;
inline constexpr size_t kMaxSectionNameLength = 1024;
inline constexpr size_t kMaxPathLength = 4095;  // PT_INTERP and DT_NEEDED: PATH_MAX - 1

// What ParseElf found. Names are the file's bytes up to their NUL, unescaped.
struct ElfReport {
  uint16_t type = 0;     // e_type: ET_EXEC, ET_DYN, ...
  uint16_t machine = 0;  // e_machine: EM_X86_64, ...
  uint64_t entry = 0;
  uint32_t program_header_count = 0;  // after PN_XNUM extension
  uint32_t section_count = 0;         // after extended section numbering
  // One per section; empty when the file names no section header string table.
  std::vector<std::string> section_names;
  std::optional<std::string> interpreter;  // PT_INTERP
  std::vector<std::string> needed;         // DT_NEEDED, in file order
};

// Parses the ELF64 little-endian file open at `fd`, which may be hostile. Reads with pread only
// (the file offset is left at the end of the file) and learns the size with lseek, so it needs
// no fstat and works inside the BrokeredParser policy.
//
// Every offset, size and count is checked against the file size and the limits above before it
// is used. Errors are InvalidArgument with a message naming the field at fault, e.g.
// "section header table (offset 0x1000, 1920 bytes) ends past the end of the file (4096
// bytes)"; Unimplemented for a well-formed ELF of another class or byte order; the errno of a
// failed lseek or pread otherwise.
//
// DT_NEEDED names are resolved as the dynamic loader does, through DT_STRTAB and DT_STRSZ with
// the address mapped to a file offset by the PT_LOAD segment holding it; section headers are
// not needed for that.
absl::StatusOr<ElfReport> ParseElf(int fd);

// "EXEC", "DYN", "REL", "CORE", "NONE", or "0x<hex>" for any other e_type.
std::string ElfTypeName(uint16_t type);
// "x86_64", "AArch64", ... for common machines, "machine <n>" otherwise.
std::string ElfMachineName(uint16_t machine);

// A multi-line, human-readable report of `report` for the file at `path`. Names taken from the
// file are C-escaped, so a hostile file cannot send control sequences to the terminal.
std::string FormatElfReport(const std::string& path, const ElfReport& report);

}  // namespace sbox::examples

#endif  // SBOX_EXAMPLES_ELF_PARSER_H_
