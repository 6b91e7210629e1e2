#include "sandboxee/entry_point.h"

#include <stdio.h>
#include <stdlib.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "sandboxee/broker_client.h"

namespace sbox {
namespace {

struct Entry {
  char name[64];
  EntryPoint function;
};
constexpr int kMaxEntryPoints = 256;

// Filled at static initialization, read-only after: no lock is needed, and a plain array needs
// no constructor that could run after another file's registration.
struct Registry {
  Entry entries[kMaxEntryPoints];
  int count;
};
Registry g_registry;

bool ValidName(const char* name) {
  const size_t length = strlen(name);
  if (length == 0 || length >= sizeof(Entry::name)) return false;
  for (size_t i = 0; i < length; ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void Die(const char* what, const char* name) {
  fprintf(stderr, "sbox: entry point \"%s\": %s\n", name, what);
  abort();
}

}  // namespace

absl::StatusOr<UniqueFd> CallContext::Open(absl::string_view path, int flags, mode_t mode) {
  return broker_->Open(path, flags, mode);
}

bool RegisterEntryPoint(const char* name, EntryPoint function) {
  if (!ValidName(name)) Die("not a valid name (letters, digits, '_', '-', '.'; < 64)", name);
  if (function == nullptr) Die("no function", name);
  for (int i = 0; i < g_registry.count; ++i) {
    if (strcmp(g_registry.entries[i].name, name) == 0) Die("registered twice", name);
  }
  if (g_registry.count == kMaxEntryPoints) Die("more than 256 entry points", name);
  Entry& entry = g_registry.entries[g_registry.count++];
  strcpy(entry.name, name);
  entry.function = function;
  return true;
}

EntryPoint FindEntryPoint(absl::string_view name) {
  for (int i = 0; i < g_registry.count; ++i) {
    if (name == g_registry.entries[i].name) return g_registry.entries[i].function;
  }
  return nullptr;
}

}  // namespace sbox
