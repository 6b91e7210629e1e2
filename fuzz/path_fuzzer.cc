// Path handling (broker/path_check.h, broker/request_path.h).
//
// The input is `path NUL base [NUL alias-from NUL alias-to]`. Checked:
// - CheckAbsoluteNormalizedPath agrees with a reference written here from its comment.
// - FoldPathLexically gives a path that passes the check, is a fixed point (folding it again
//   changes nothing), and never leaves `base` when `path` is relative and has no "..".
// - JoinRequestPath gives an absolute path without "." or empty components; without ".." it
//   passes the check; joining its result again (as an absolute path) gives the same result; a
//   relative path without ".." stays within `base`.
// - ApplyPathAlias keeps a normalized path normalized.

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "broker/path_check.h"
#include "broker/request_path.h"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view a, std::string_view b = {}) {
  std::fprintf(stderr, "path_fuzzer: %s\n  [%.*s]\n  [%.*s]\n", what, static_cast<int>(a.size()),
               a.data(), static_cast<int>(b.size()), b.data());
  std::abort();
}

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The reference: the comment of CheckAbsoluteNormalizedPath, clause by clause.
bool ReferenceNormalized(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.find('\0') != std::string_view::npos) return false;
  if (path.size() > PATH_MAX - 1) return false;
  if (path == "/") return true;
  const std::vector<std::string_view> parts = Components(path.substr(1));
  for (std::string_view part : parts) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

bool HasDotDot(std::string_view path) {
  for (std::string_view part : Components(path)) {
    if (part == "..") return true;
  }
  return false;
}

bool Normalized(std::string_view path) {
  return sbox::CheckAbsoluteNormalizedPath(path) == sbox::PathProblem::kNone;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (fields.size() < 3) {
    const size_t nul = input.find('\0', start);
    if (nul == std::string_view::npos) break;
    fields.push_back(input.substr(start, nul - start));
    start = nul + 1;
  }
  fields.push_back(input.substr(start));
  const std::string_view path = fields[0];

  // The checker against its reference, on every field.
  for (std::string_view field : fields) {
    if (Normalized(field) != ReferenceNormalized(field)) Fail("check disagrees", field);
    const sbox::PathProblem problem = sbox::CheckAbsoluteNormalizedPath(field);
    if ((problem == sbox::PathProblem::kNone) != (sbox::PathProblemErrno(problem) == 0)) {
      Fail("errno disagrees with the problem", field);
    }
    (void)sbox::PathProblemText(problem);
  }

  // A base the broker could have: the second field folded against "/".
  std::string base = "/";
  const char* reason = nullptr;
  if (fields.size() > 1) {
    std::string folded;
    if (sbox::FoldPathLexically(fields[1], "/", &folded, &reason) == 0) base = folded;
  }
  if (!Normalized(base)) Fail("a folded base is not normalized", base);

  std::string folded;
  if (sbox::FoldPathLexically(path, base, &folded, &reason) == 0) {
    if (!Normalized(folded)) Fail("FoldPathLexically result not normalized", path, folded);
    std::string twice;
    if (sbox::FoldPathLexically(folded, base, &twice, &reason) != 0 || twice != folded) {
      Fail("FoldPathLexically is not idempotent", folded, twice);
    }
    if (!path.empty() && path[0] != '/' && !HasDotDot(path) && !sbox::IsWithinPath(folded, base)) {
      Fail("a relative path without .. left its base", path, folded);
    }
  }

  sbox::RequestPath joined;
  if (sbox::JoinRequestPath(path, base, 0, nullptr, &joined, &reason) == 0) {
    const std::string& p = joined.path;
    if (p.empty() || p[0] != '/') Fail("joined path not absolute", path, p);
    for (std::string_view part : Components(std::string_view(p).substr(1))) {
      if (p != "/" && (part.empty() || part == ".")) Fail("joined path has an empty or . part", path, p);
    }
    if (joined.has_dotdot != HasDotDot(p)) Fail("has_dotdot disagrees", path, p);
    if (!joined.has_dotdot && !Normalized(p)) Fail("joined path not normalized", path, p);
    sbox::RequestPath again;
    if (sbox::JoinRequestPath(p, base, 0, nullptr, &again, &reason) != 0 || again.path != p) {
      Fail("JoinRequestPath is not idempotent", p, again.path);
    }
    if (!path.empty() && path[0] != '/' && !HasDotDot(path) && !sbox::IsWithinPath(p, base)) {
      Fail("a relative request path without .. left its base", path, p);
    }
  }

  // An alias between two normalized paths keeps normalized paths normalized.
  if (fields.size() > 3 && Normalized(fields[2]) && Normalized(fields[3]) && fields[2] != "/" &&
      Normalized(folded)) {
    sbox::PathAlias alias{std::string(fields[2]), std::string(fields[3])};
    std::string aliased = folded;
    sbox::ApplyPathAlias(alias, &aliased);
    if (aliased.size() < PATH_MAX && !Normalized(aliased)) Fail("alias broke a path", folded, aliased);
    if (sbox::IsWithinPath(folded, alias.from) && !sbox::IsWithinPath(folded, alias.to) &&
        !sbox::IsWithinPath(aliased, alias.to)) {
      Fail("an aliased path is not beneath the alias target", folded, aliased);
    }
  }
  return 0;
}
