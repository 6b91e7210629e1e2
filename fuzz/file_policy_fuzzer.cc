// File-policy lookup (broker/file_policy.h) against a brute-force reference written here from
// the header's documented precedence.
//
// The input picks up to 12 rules (file, tree or deny; permissions; EACCES or EPERM) on paths
// made of the components a, b and ab, up to 3 deep (40 paths, so that rules meet on one path
// and on ancestors), then queries. Checked: Build succeeds exactly when the reference finds no
// contradiction ("/" as a file rule, two deny errnos on one path), and for every query path
// (a rule path, or one beneath it) Find, RefusalErrno, IsAncestorOfAllowed and
// ContainsRulePaths agree with the reference:
// - the deciding path is the longest rule path that is the query or an ancestor, counting a
//   file rule only on its own path; at one path a deny beats an allow;
// - an allow gets the union of the file and tree rules on the query itself, or of the tree
//   rules on the ancestor; `beneath` is the file name, "." or the rest below the tree;
// - nothing covers a path: ENOENT.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/file_policy.h"
#include "broker/request_path.h"

namespace {

const std::vector<std::string>& Universe() {
  static const std::vector<std::string>* paths = [] {
    auto* out = new std::vector<std::string>{"/"};
    const char* parts[] = {"a", "b", "ab"};
    std::vector<std::string> level = {""};
    for (int depth = 1; depth <= 3; ++depth) {
      std::vector<std::string> next;
      for (const std::string& base : level) {
        for (const char* part : parts) next.push_back(base + "/" + part);
      }
      out->insert(out->end(), next.begin(), next.end());
      level = next;
    }
    return out;
  }();
  return *paths;
}

struct RefRule {
  sbox::RuleKind kind;
  sbox::Permissions permissions;
  std::string path;
  int error;
};

// `path` is `ancestor` or beneath it.
bool Within(const std::string& path, const std::string& ancestor) {
  return sbox::IsWithinPath(path, ancestor);
}

[[noreturn]] void Fail(const char* what, const std::string& query, const std::vector<RefRule>& rules) {
  std::fprintf(stderr, "file_policy_fuzzer: %s at %s\n", what, query.c_str());
  for (const RefRule& r : rules) {
    std::fprintf(stderr, "  %s %s %s errno %d\n",
                 r.kind == sbox::RuleKind::kFile   ? "file"
                 : r.kind == sbox::RuleKind::kTree ? "tree"
                                                   : "deny",
                 sbox::PermissionsText(r.permissions).c_str(), r.path.c_str(), r.error);
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::vector<std::string>& universe = Universe();
  size_t pos = 0;
  const size_t count = data[pos++] % 13;
  std::vector<RefRule> rules;
  sbox::FilePolicy::Builder builder;
  bool contradiction = false;
  for (size_t i = 0; i < count && pos + 2 < size; ++i) {
    const uint8_t kind = data[pos] % 3;
    const std::string& path = universe[data[pos + 1] % universe.size()];
    const uint8_t extra = data[pos + 2];
    pos += 3;
    const sbox::Permissions permissions = 1 + extra % sbox::kAllPermissions;
    if (kind == 0) {
      rules.push_back({sbox::RuleKind::kFile, permissions, path, 0});
      builder.AllowFile(path, permissions);
      if (path == "/") contradiction = true;
    } else if (kind == 1) {
      rules.push_back({sbox::RuleKind::kTree, permissions, path, 0});
      builder.AllowTree(path, permissions);
    } else {
      const int error = (extra & 1) ? EPERM : EACCES;
      for (const RefRule& r : rules) {
        if (r.kind == sbox::RuleKind::kDeny && r.path == path && r.error != error) {
          contradiction = true;
        }
      }
      rules.push_back({sbox::RuleKind::kDeny, 0, path, error});
      builder.Deny(path, error);
    }
  }
  absl::StatusOr<sbox::FilePolicy> policy = builder.Build();
  if (policy.ok() == contradiction) {
    Fail(contradiction ? "Build accepted a contradiction" : "Build refused a valid policy",
         policy.ok() ? "" : std::string(policy.status().message()), rules);
  }
  if (!policy.ok()) return 0;

  std::vector<std::string> queries;
  for (; pos < size; ++pos) {
    std::string query = universe[data[pos] % universe.size()];
    if (data[pos] >= 128) query += query == "/" ? "c" : "/c";
    queries.push_back(query);
  }
  if (queries.empty()) queries = universe;

  for (const std::string& query : queries) {
    // The reference: the longest rule path deciding `query`.
    const std::string* decider = nullptr;
    for (const RefRule& r : rules) {
      const bool applies = r.kind == sbox::RuleKind::kFile ? r.path == query : Within(query, r.path);
      if (applies && (decider == nullptr || r.path.size() > decider->size())) decider = &r.path;
    }
    const sbox::FilePolicy::Match match = policy->Find(query);
    if (decider == nullptr) {
      if (match.rule != nullptr) Fail("a rule matched an uncovered path", query, rules);
      if (policy->RefusalErrno(match) != ENOENT) Fail("uncovered errno", query, rules);
    } else {
      int deny_error = 0;
      sbox::Permissions permissions = 0;
      bool has_file = false;
      for (const RefRule& r : rules) {
        if (r.path != *decider) continue;
        if (r.kind == sbox::RuleKind::kDeny) deny_error = r.error;
        if (r.kind == sbox::RuleKind::kTree) permissions |= r.permissions;
        if (r.kind == sbox::RuleKind::kFile && r.path == query) {
          permissions |= r.permissions;
          has_file = true;
        }
      }
      if (match.rule == nullptr) Fail("no match for a covered path", query, rules);
      if (deny_error != 0) {
        if (match.allowed()) Fail("allowed a denied path", query, rules);
        if (policy->RefusalErrno(match) != deny_error) Fail("deny errno differs", query, rules);
      } else {
        if (!match.allowed()) Fail("refused an allowed path", query, rules);
        if (match.rule->permissions != permissions) Fail("permissions differ", query, rules);
        std::string beneath;
        if (has_file) {
          beneath = query.substr(query.rfind('/') + 1);
        } else if (query == *decider) {
          beneath = ".";
        } else {
          beneath = query.substr(*decider == "/" ? 1 : decider->size() + 1);
        }
        if (match.beneath != beneath) Fail("beneath differs", query, rules);
      }
    }
    bool ancestor_of_allowed = false;
    bool ancestor_of_rule = false;
    for (const RefRule& r : rules) {
      if (r.path != query && Within(r.path, query)) {
        ancestor_of_rule = true;
        if (r.kind != sbox::RuleKind::kDeny) ancestor_of_allowed = true;
      }
    }
    if (policy->IsAncestorOfAllowed(query) != ancestor_of_allowed) {
      Fail("IsAncestorOfAllowed differs", query, rules);
    }
    if (policy->ContainsRulePaths(query) != ancestor_of_rule) {
      Fail("ContainsRulePaths differs", query, rules);
    }
  }
  return 0;
}
