#ifndef SBOX_BROKER_EXEC_CHAIN_H_
#define SBOX_BROKER_EXEC_CHAIN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sbox {

// The files the kernel opens to execute `program`, in order: the program itself, then, for a
// "#!" script, its interpreter (and that one's, up to the kernel's 4 levels), and for an ELF
// file with a PT_INTERP header, its loader ("/lib64/ld-linux-x86-64.so.2"). Each must carry
// Landlock's execute and read_file rights for the exec to pass (launcher/landlock_mirror.h).
// Paths as found: absolute, or relative as written (a relative `program` is made absolute
// against `working_directory`). Reads at most a page of each file.
//
// NotFound, PermissionDenied, ... naming the file that could not be opened or read;
// InvalidArgument for a "#!" line without an interpreter or an ELF header out of bounds.
// A file that is neither (a data file) ends the chain: the kernel will refuse it.
absl::StatusOr<std::vector<std::string>> ExecChain(const std::string& program,
                                                   const std::string& working_directory);

}  // namespace sbox

#endif  // SBOX_BROKER_EXEC_CHAIN_H_
