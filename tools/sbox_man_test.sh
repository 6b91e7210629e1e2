#!/usr/bin/env bash
# tools/sbox.1 against the binary: every option a --help shows is in the man page, and every
# option the man page describes (a tagged paragraph's head) is in some --help; groff reads the
# page without a warning.
# Usage: sbox_man_test.sh SBOX MANPAGE
set -uo pipefail
sbox="$1"
page="$2"
failures=0

# Long options in the helps: "--name", from "--name", "--name=VALUE" and "--name VALUE".
helps="$("$sbox" --help; "$sbox" run --help; "$sbox" learn --help; "$sbox" audit --help)"
in_help="$(grep -o -- '--[a-z][a-z0-9-]*' <<<"$helps" | sort -u)"
# The man page's text, with roff's "\-" as "-".
text="$(sed 's/\\-/-/g' "$page")"
for option in $in_help; do
  if ! grep -q -- "$option\b" <<<"$text"; then
    echo "FAIL: $option is in a --help but not in $page"
    failures=$((failures + 1))
  fi
done

# Options the page describes: the line after each .TP that starts with a long option.
described="$(awk 'after_tp { print } { after_tp = ($0 == ".TP") }' "$page" | sed 's/\\-/-/g' |
  grep -o -- '--[a-z][a-z0-9-]*' | sort -u)"
if [[ -z "$described" ]]; then
  echo "FAIL: no option described in $page"
  failures=$((failures + 1))
fi
for option in $described; do
  if ! grep -qx -- "$option" <<<"$in_help"; then
    echo "FAIL: $page describes $option, which no --help shows"
    failures=$((failures + 1))
  fi
done

# The sections a man page of a command has, and the three commands.
for section in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES; do
  grep -q "^\.SH \"*$section" "$page" || {
    echo "FAIL: no $section section"
    failures=$((failures + 1))
  }
done

# groff (groff-base, installed by ./bazelw) formats it without a warning.
warnings="$(groff -man -ww -z "$page" 2>&1)"
if [[ -n "$warnings" ]]; then
  echo "FAIL: groff warns: $warnings"
  failures=$((failures + 1))
fi

if ((failures > 0)); then exit 1; fi
echo "PASS: $(wc -w <<<"$described") options described, $(wc -w <<<"$in_help") in the helps"
