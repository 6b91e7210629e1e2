#ifndef SBOX_PROTO_NAMESPACES_H_
#define SBOX_PROTO_NAMESPACES_H_

// The Linux namespaces a sandboxee may get, as both sides name them: the launcher asks for a
// set, the child creates what the kernel allows and says which it created and which the kernel
// refused (sandboxee/namespaces.h). Header-only and allocation-free: the child's set-up uses it
// between fork and exec.

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace sbox {

enum class Namespace : uint32_t {
  kUser = 0,  // created first: the others are then owned by it (no privilege needed)
  kNet = 1,
  kIpc = 2,
  kUts = 3,
  kPid = 4,
};
inline constexpr int kNamespaceCount = 5;

// The namespaces in creation order, and their names as `sbox run --unshare` takes them.
inline constexpr Namespace kAllNamespaces[kNamespaceCount] = {
    Namespace::kUser, Namespace::kNet, Namespace::kIpc, Namespace::kUts, Namespace::kPid};

constexpr const char* NamespaceName(Namespace ns) {
  switch (ns) {
    case Namespace::kUser:
      return "user";
    case Namespace::kNet:
      return "net";
    case Namespace::kIpc:
      return "ipc";
    case Namespace::kUts:
      return "uts";
    case Namespace::kPid:
      return "pid";
  }
  return "?";
}

// A set of namespaces, as a bit mask (bit n: Namespace n).
class NamespaceSet {
 public:
  constexpr NamespaceSet() = default;
  constexpr explicit NamespaceSet(uint32_t bits) : bits_(bits & kAllBits) {}
  constexpr NamespaceSet(std::initializer_list<Namespace> namespaces) {
    for (Namespace ns : namespaces) Add(ns);
  }
  static constexpr NamespaceSet All() { return NamespaceSet(kAllBits); }

  constexpr NamespaceSet& Add(Namespace ns) {
    bits_ |= Bit(ns);
    return *this;
  }
  constexpr bool Has(Namespace ns) const { return (bits_ & Bit(ns)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr uint32_t bits() const { return bits_; }
  constexpr bool operator==(NamespaceSet other) const { return bits_ == other.bits_; }
  constexpr bool operator!=(NamespaceSet other) const { return bits_ != other.bits_; }

 private:
  static constexpr uint32_t Bit(Namespace ns) { return uint32_t{1} << static_cast<uint32_t>(ns); }
  static constexpr uint32_t kAllBits = (uint32_t{1} << kNamespaceCount) - 1;
  uint32_t bits_ = 0;
};

// "net" -> Namespace::kNet; false for a name that is none of NamespaceName's.
constexpr bool NamespaceByName(std::string_view name, Namespace* out) {
  for (Namespace ns : kAllNamespaces) {
    if (name == NamespaceName(ns)) {
      *out = ns;
      return true;
    }
  }
  return false;
}

}  // namespace sbox

#endif  // SBOX_PROTO_NAMESPACES_H_
