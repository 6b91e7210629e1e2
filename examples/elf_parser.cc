#include "examples/elf_parser.h"

#include <elf.h>
#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace sbox::examples {
namespace {

// The ELF structures are copied from the file byte for byte, so their fields are in the file's
// byte order; ELF64LE is the only one accepted, and it matches the host's only on these hosts.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "needs a little-endian host");

std::string Hex(uint64_t value) { return absl::StrCat("0x", absl::Hex(value)); }

// [offset, offset + length) lies within [0, limit), without computing offset + length.
bool RangeFits(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

// Reads a file of fixed size by offset. The size is taken once: a file that shrinks afterwards
// makes a read fail rather than return short.
class FileReader {
 public:
  static absl::StatusOr<FileReader> Create(int fd) {
    // lseek rather than fstat: glibc's fstat is newfstatat, which the sandbox refuses.
    const off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0) return absl::ErrnoToStatus(errno, "lseek to the end of the file");
    return FileReader(fd, static_cast<uint64_t>(size));
  }

  uint64_t size() const { return size_; }

  absl::Status CheckRange(uint64_t offset, uint64_t length, absl::string_view what) const {
    if (RangeFits(offset, length, size_)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(what, " (offset ", Hex(offset), ", ", length,
                                                   " bytes) ends past the end of the file (", size_,
                                                   " bytes)"));
  }

  // Fills `out` with `length` bytes at `offset`. `what` names the data in errors.
  absl::Status ReadAt(uint64_t offset, uint64_t length, void* out, absl::string_view what) const {
    absl::Status status = CheckRange(offset, length, what);
    if (!status.ok()) return status;
    auto* bytes = static_cast<char*>(out);
    uint64_t done = 0;
    while (done < length) {
      // Both fit in off_t and size_t: the range is inside a file whose size lseek returned.
      const ssize_t n = pread(fd_, bytes + done, length - done, offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("reading ", what));
      if (n == 0) {
        return absl::DataLossError(absl::StrCat("reading ", what, ": the file shrank"));
      }
      done += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  // `count` fixed-size entries at `offset`; the caller has bounded `count`.
  template <typename T>
  absl::StatusOr<std::vector<T>> ReadTable(uint64_t offset, uint64_t count,
                                           absl::string_view what) const {
    // Checked before allocating, so a bogus count costs no memory.
    absl::Status status = CheckRange(offset, count * sizeof(T), what);
    if (!status.ok()) return status;
    std::vector<T> table(count);
    status = ReadAt(offset, count * sizeof(T), table.data(), what);
    if (!status.ok()) return status;
    return table;
  }

  absl::StatusOr<std::string> ReadStringTable(uint64_t offset, uint64_t length,
                                              absl::string_view what) const {
    if (length > kMaxStringTableBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is ", length, " bytes, over the limit of ", kMaxStringTableBytes));
    }
    absl::Status status = CheckRange(offset, length, what);
    if (!status.ok()) return status;
    std::string table(length, '\0');
    status = ReadAt(offset, length, table.data(), what);
    if (!status.ok()) return status;
    return table;
  }

 private:
  FileReader(int fd, uint64_t size) : fd_(fd), size_(size) {}

  int fd_;
  uint64_t size_;
};

// The NUL-terminated string at `offset` in `table`, at most `max_length` bytes long.
absl::StatusOr<std::string> StringAt(const std::string& table, uint64_t offset, size_t max_length,
                                     absl::string_view what) {
  if (offset >= table.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": offset ", offset, " is outside its string table (", table.size(), " bytes)"));
  }
  const size_t start = static_cast<size_t>(offset);
  const size_t end = std::min(table.size(), start + max_length + 1);
  const void* nul = memchr(table.data() + start, '\0', end - start);
  if (nul == nullptr) {
    if (end == table.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": not NUL-terminated within its string table"));
    }
    return absl::InvalidArgumentError(absl::StrCat(what, ": longer than ", max_length, " bytes"));
  }
  return std::string(table.data() + start, static_cast<const char*>(nul));
}

// The file offset of the `length` bytes at virtual address `address`, which must lie in the
// file-backed part of one PT_LOAD segment: past p_filesz the loader fills zeros, not file bytes.
absl::StatusOr<uint64_t> AddressToOffset(const std::vector<const Elf64_Phdr*>& loads,
                                         uint64_t address, uint64_t length,
                                         absl::string_view what) {
  for (const Elf64_Phdr* load : loads) {
    if (address < load->p_vaddr) continue;
    const uint64_t delta = address - load->p_vaddr;
    if (RangeFits(delta, length, load->p_filesz) && delta <= UINT64_MAX - load->p_offset) {
      return load->p_offset + delta;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(what, " (address ", Hex(address), ", ", length,
                                                 " bytes) is not inside the file part of any "
                                                 "PT_LOAD segment"));
}

absl::Status CheckIdent(const unsigned char* ident, uint64_t file_size) {
  if (file_size < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0) {
    return absl::InvalidArgumentError("not an ELF file: bad magic");
  }
  if (file_size < EI_NIDENT) {
    return absl::InvalidArgumentError(
        absl::StrCat("truncated ELF identification: the file is ", file_size, " bytes"));
  }
  switch (ident[EI_CLASS]) {
    case ELFCLASS64:
      break;
    case ELFCLASS32:
      return absl::UnimplementedError("32-bit ELF (ELFCLASS32): only ELF64 is supported");
    default:
      return absl::InvalidArgumentError(absl::StrCat("invalid EI_CLASS ", ident[EI_CLASS]));
  }
  switch (ident[EI_DATA]) {
    case ELFDATA2LSB:
      break;
    case ELFDATA2MSB:
      return absl::UnimplementedError(
          "big-endian ELF (ELFDATA2MSB): only little-endian is supported");
    default:
      return absl::InvalidArgumentError(absl::StrCat("invalid EI_DATA ", ident[EI_DATA]));
  }
  if (ident[EI_VERSION] != EV_CURRENT) {
    return absl::InvalidArgumentError(absl::StrCat("invalid EI_VERSION ", ident[EI_VERSION]));
  }
  if (file_size < sizeof(Elf64_Ehdr)) {
    return absl::InvalidArgumentError(absl::StrCat("truncated ELF header: the file is ", file_size,
                                                   " bytes, the header ", sizeof(Elf64_Ehdr)));
  }
  return absl::OkStatus();
}

absl::Status ParseInterpreter(const FileReader& reader, const Elf64_Phdr& interp,
                              ElfReport& report) {
  if (interp.p_filesz == 0 || interp.p_filesz > kMaxPathLength + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("PT_INTERP size ", interp.p_filesz, " is not in 1..", kMaxPathLength + 1));
  }
  std::string path(interp.p_filesz, '\0');
  absl::Status status = reader.ReadAt(interp.p_offset, interp.p_filesz, path.data(), "PT_INTERP");
  if (!status.ok()) return status;
  const size_t nul = path.find('\0');
  if (nul == std::string::npos) {
    return absl::InvalidArgumentError("PT_INTERP path is not NUL-terminated");
  }
  if (nul == 0) return absl::InvalidArgumentError("PT_INTERP path is empty");
  path.resize(nul);
  report.interpreter = std::move(path);
  return absl::OkStatus();
}

absl::Status ParseDynamic(const FileReader& reader, const Elf64_Phdr& dynamic,
                          const std::vector<const Elf64_Phdr*>& loads, ElfReport& report) {
  const uint64_t count = dynamic.p_filesz / sizeof(Elf64_Dyn);
  if (count > kMaxDynamicEntries) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PT_DYNAMIC holds ", count, " entries, over the limit of ", kMaxDynamicEntries));
  }
  auto entries = reader.ReadTable<Elf64_Dyn>(dynamic.p_offset, count, "PT_DYNAMIC");
  if (!entries.ok()) return entries.status();

  std::vector<uint64_t> needed_offsets;
  std::optional<uint64_t> strtab_address;
  std::optional<uint64_t> strtab_size;
  bool terminated = false;
  for (const Elf64_Dyn& entry : *entries) {
    if (entry.d_tag == DT_NULL) {
      terminated = true;
      break;
    }
    // The last DT_STRTAB or DT_STRSZ wins, as in glibc's loader.
    switch (entry.d_tag) {
      case DT_NEEDED:
        needed_offsets.push_back(entry.d_un.d_val);
        break;
      case DT_STRTAB:
        strtab_address = entry.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strtab_size = entry.d_un.d_val;
        break;
    }
  }
  if (!terminated) return absl::InvalidArgumentError("PT_DYNAMIC has no DT_NULL terminator");
  if (needed_offsets.empty()) return absl::OkStatus();
  if (!strtab_address.has_value() || !strtab_size.has_value()) {
    return absl::InvalidArgumentError("DT_NEEDED without both DT_STRTAB and DT_STRSZ");
  }

  auto offset = AddressToOffset(loads, *strtab_address, *strtab_size, "DT_STRTAB");
  if (!offset.ok()) return offset.status();
  auto strtab = reader.ReadStringTable(*offset, *strtab_size, "DT_STRTAB");
  if (!strtab.ok()) return strtab.status();
  for (size_t i = 0; i < needed_offsets.size(); ++i) {
    auto name =
        StringAt(*strtab, needed_offsets[i], kMaxPathLength, absl::StrCat("DT_NEEDED entry ", i));
    if (!name.ok()) return name.status();
    report.needed.push_back(*std::move(name));
  }
  return absl::OkStatus();
}

absl::Status ParseProgramHeaders(const FileReader& reader, const Elf64_Ehdr& header,
                                 ElfReport& report) {
  if (report.program_header_count == 0) return absl::OkStatus();
  if (header.e_phentsize != sizeof(Elf64_Phdr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("e_phentsize is ", header.e_phentsize, ", not ", sizeof(Elf64_Phdr)));
  }
  auto headers = reader.ReadTable<Elf64_Phdr>(header.e_phoff, report.program_header_count,
                                              "program header table");
  if (!headers.ok()) return headers.status();

  std::vector<const Elf64_Phdr*> loads;
  const Elf64_Phdr* interp = nullptr;
  const Elf64_Phdr* dynamic = nullptr;
  for (const Elf64_Phdr& phdr : *headers) {
    switch (phdr.p_type) {
      case PT_LOAD:
        loads.push_back(&phdr);
        break;
      case PT_INTERP:
        if (interp != nullptr) return absl::InvalidArgumentError("more than one PT_INTERP");
        interp = &phdr;
        break;
      case PT_DYNAMIC:
        if (dynamic != nullptr) return absl::InvalidArgumentError("more than one PT_DYNAMIC");
        dynamic = &phdr;
        break;
    }
  }
  if (interp != nullptr) {
    absl::Status status = ParseInterpreter(reader, *interp, report);
    if (!status.ok()) return status;
  }
  if (dynamic != nullptr) return ParseDynamic(reader, *dynamic, loads, report);
  return absl::OkStatus();
}

absl::Status ParseSectionNames(const FileReader& reader, uint64_t table_offset,
                               uint32_t string_table_index, ElfReport& report) {
  if (report.section_count == 0) return absl::OkStatus();
  auto sections =
      reader.ReadTable<Elf64_Shdr>(table_offset, report.section_count, "section header table");
  if (!sections.ok()) return sections.status();
  if (string_table_index == SHN_UNDEF) return absl::OkStatus();

  const Elf64_Shdr& names_header = (*sections)[string_table_index];
  if (names_header.sh_type != SHT_STRTAB) {
    return absl::InvalidArgumentError(absl::StrCat("section header string table (section ",
                                                   string_table_index, ") has type ",
                                                   names_header.sh_type, ", not SHT_STRTAB"));
  }
  auto names = reader.ReadStringTable(names_header.sh_offset, names_header.sh_size,
                                      "section header string table");
  if (!names.ok()) return names.status();
  report.section_names.reserve(sections->size());
  for (size_t i = 0; i < sections->size(); ++i) {
    auto name = StringAt(*names, (*sections)[i].sh_name, kMaxSectionNameLength,
                         absl::StrCat("name of section ", i));
    if (!name.ok()) return name.status();
    report.section_names.push_back(*std::move(name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ElfReport> ParseElf(int fd) {
  auto reader = FileReader::Create(fd);
  if (!reader.ok()) return reader.status();

  // Read what there is of the header first, so that a short file gets the most telling error:
  // bad magic before truncation.
  Elf64_Ehdr header = {};
  const uint64_t header_bytes = std::min<uint64_t>(reader->size(), sizeof(header));
  absl::Status status = reader->ReadAt(0, header_bytes, &header, "ELF header");
  if (!status.ok()) return status;
  status = CheckIdent(header.e_ident, reader->size());
  if (!status.ok()) return status;

  // With 0xff00 or more sections or 0xffff or more program headers, the real counts and the
  // string table index move to section header 0 (extended numbering, gABI).
  const bool extended =
      header.e_shnum == 0 || header.e_phnum == PN_XNUM || header.e_shstrndx == SHN_XINDEX;
  std::optional<Elf64_Shdr> section0;
  if (header.e_shoff != 0) {
    if (header.e_shentsize != sizeof(Elf64_Shdr)) {
      return absl::InvalidArgumentError(
          absl::StrCat("e_shentsize is ", header.e_shentsize, ", not ", sizeof(Elf64_Shdr)));
    }
    if (extended) {
      section0.emplace();
      status = reader->ReadAt(header.e_shoff, sizeof(Elf64_Shdr), &*section0,
                              "section header 0 (extended numbering)");
      if (!status.ok()) return status;
    }
  } else if (header.e_shnum != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("e_shnum is ", header.e_shnum, " but e_shoff is 0"));
  }

  uint64_t section_count = header.e_shnum;
  if (section0.has_value() && header.e_shnum == 0) section_count = section0->sh_size;
  uint64_t program_header_count = header.e_phnum;
  if (header.e_phnum == PN_XNUM) {
    if (!section0.has_value()) {
      return absl::InvalidArgumentError("e_phnum is PN_XNUM but there is no section header 0");
    }
    program_header_count = section0->sh_info;
  }
  uint64_t string_table_index = header.e_shstrndx;
  if (header.e_shstrndx == SHN_XINDEX) {
    if (!section0.has_value()) {
      return absl::InvalidArgumentError(
          "e_shstrndx is SHN_XINDEX but there is no section header 0");
    }
    string_table_index = section0->sh_link;
  }

  if (program_header_count > kMaxProgramHeaders) {
    return absl::InvalidArgumentError(absl::StrCat(
        program_header_count, " program headers, over the limit of ", kMaxProgramHeaders));
  }
  if (section_count > kMaxSections) {
    return absl::InvalidArgumentError(
        absl::StrCat(section_count, " sections, over the limit of ", kMaxSections));
  }
  if (string_table_index != SHN_UNDEF && string_table_index >= section_count) {
    return absl::InvalidArgumentError(absl::StrCat(
        "e_shstrndx ", string_table_index, " is out of range (", section_count, " sections)"));
  }

  ElfReport report;
  report.type = header.e_type;
  report.machine = header.e_machine;
  report.entry = header.e_entry;
  report.program_header_count = static_cast<uint32_t>(program_header_count);
  report.section_count = static_cast<uint32_t>(section_count);
  status = ParseProgramHeaders(*reader, header, report);
  if (!status.ok()) return status;
  status =
      ParseSectionNames(*reader, header.e_shoff, static_cast<uint32_t>(string_table_index), report);
  if (!status.ok()) return status;
  return report;
}

std::string ElfTypeName(uint16_t type) {
  switch (type) {
    case ET_NONE:
      return "NONE";
    case ET_REL:
      return "REL";
    case ET_EXEC:
      return "EXEC";
    case ET_DYN:
      return "DYN";
    case ET_CORE:
      return "CORE";
  }
  return Hex(type);
}

std::string ElfMachineName(uint16_t machine) {
  switch (machine) {
    case EM_X86_64:
      return "x86_64";
    case EM_386:
      return "i386";
    case EM_AARCH64:
      return "AArch64";
    case EM_ARM:
      return "ARM";
    case EM_RISCV:
      return "RISC-V";
    case EM_PPC64:
      return "PowerPC64";
    case EM_S390:
      return "S/390";
    case EM_MIPS:
      return "MIPS";
    case EM_SPARCV9:
      return "SPARC V9";
    case EM_LOONGARCH:
      return "LoongArch";
    case EM_BPF:
      return "BPF";
  }
  return absl::StrCat("machine ", machine);
}

std::string FormatElfReport(const std::string& path, const ElfReport& report) {
  std::string out = absl::StrCat(path, ": ELF64 little-endian, ", ElfTypeName(report.type), ", ",
                                 ElfMachineName(report.machine), "\n");
  absl::StrAppend(&out, "  entry point:     ", Hex(report.entry), "\n");
  absl::StrAppend(&out, "  program headers: ", report.program_header_count, "\n");
  absl::StrAppend(&out, "  sections:        ", report.section_count, "\n");
  absl::StrAppend(&out, "  interpreter:     ",
                  report.interpreter.has_value() ? absl::CHexEscape(*report.interpreter) : "(none)",
                  "\n");
  std::vector<std::string> needed;
  needed.reserve(report.needed.size());
  for (const std::string& name : report.needed) needed.push_back(absl::CHexEscape(name));
  absl::StrAppend(
      &out, "  needed:          ", needed.empty() ? "(none)" : absl::StrJoin(needed, ", "), "\n");
  absl::StrAppend(&out, "  section names:", report.section_names.empty() ? " (none)" : "", "\n");
  for (size_t i = 0; i < report.section_names.size(); ++i) {
    absl::StrAppend(&out, absl::StrFormat("    [%2u]", i));
    if (!report.section_names[i].empty()) {
      absl::StrAppend(&out, " ", absl::CHexEscape(report.section_names[i]));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace sbox::examples
