#!/usr/bin/env bash
# `sbox learn` writes a policy that generalises: learned on input 1 in one directory, it runs
# the same program on input 2 in another directory once that is granted (--allow-read DIR2),
# with the output the program gives unsandboxed. Also: --merge, --force, the warnings, and that
# learning does not change what the program does.
# Usage: learn_generalises_test.sh SBOX
set -uo pipefail
sbox="$(realpath "$1")"
# shellcheck source=tests/shell_check.sh
source "$(dirname "$0")/shell_check.sh"
base="${TEST_TMPDIR:-/var/tmp}"
# What a program creates beneath /tmp is temporary (private-tmp): the outputs live elsewhere.
case "$base" in /tmp | /tmp/*) base=/var/tmp ;; esac
work="$(mktemp -d "$base/learn.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
mkdir in1 in2 out ref tmp
export TMPDIR="$work/tmp"


# learn NAME -- PROGRAM ARGS: learns NAME.policy from one run; prints the run's stdout.
learn() {
  local name="$1"
  shift 2
  "$sbox" learn --out "$name.policy" -- "$@" 2>"$name.learn.err" ||
    echo "learn failed for $name: $(cat "$name.learn.err")" >&2
}

# run NAME -- PROGRAM ARGS: runs under NAME.policy with in2 granted; prints stdout.
run() {
  local name="$1"
  shift 2
  "$sbox" run --policy "$name.policy" --allow-read "$work/in2" -- "$@" 2>"$name.run.err"
}

# gawk on a numbers file: a longer input, other calls (mincore once /proc/self/maps is read).
seq 1 10 >in1/numbers
seq 7 100000 >in2/numbers
program='{ s += $1 } END { print s, NR }'
check "gawk: learning run is the program's own" "$(gawk "$program" in1/numbers)" \
  "$(learn gawk -- gawk "$program" "$work/in1/numbers")"
check "gawk: learned on one input, run on another" "$(gawk "$program" in2/numbers)" \
  "$(run gawk -- gawk "$program" "$work/in2/numbers")"

# sed learned on an input with no match has written nothing; the next input matches.
printf 'alpha\nbeta\n' >in1/text
printf 'gamma\nzeta\ndelta\n' >in2/text
learn sed -- sed -n 's/eta/ETA/p' "$work/in1/text" >/dev/null
check "sed: learned without a match, run with one" "$(sed -n 's/eta/ETA/p' in2/text)" \
  "$(run sed -- sed -n 's/eta/ETA/p' "$work/in2/text")"

# perl with a module: its package directories are trees.
program='use List::Util qw(sum max); my @n = <>; print sum(@n), " ", max(@n), "\n"'
learn perl -- perl -e "$program" "$work/in1/numbers" >/dev/null
check "perl with a module on another input" "$(perl -e "$program" in2/numbers)" \
  "$(run perl -- perl -e "$program" "$work/in2/numbers")"

# python3 reading JSON.
echo '{"a": [1, 2]}' >in1/data.json
echo '{"b": {"c": [3, 4, 5]}, "d": "e"}' >in2/data.json
program='import json, sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))'
learn python -- /usr/bin/python3 -c "$program" "$work/in1/data.json" >/dev/null
check "python3 json on another input" "$(/usr/bin/python3 -c "$program" in2/data.json)" \
  "$(run python -- /usr/bin/python3 -c "$program" "$work/in2/data.json")"

# tar -x of one archive learns one tree on the output directory; another archive, with other
# names and deeper directories, extracts there under it.
mkdir -p src1/a src2/x/y/z && echo 1 >src1/a/f && echo 2 >src2/x/y/z/g && echo 3 >src2/x/h
tar -cf in1/a.tar -C src1 a && tar -cf in2/b.tar -C src2 x
learn tar -- tar -xf "$work/in1/a.tar" -C "$work/out" >/dev/null
check "tar: one tree on the output directory" "tree rwc $work/out" \
  "$(grep -E "^(tree|file) [a-z]+ $work/out(/|$)" tar.policy)"
rm -rf out/* && tar -xf in2/b.tar -C ref
run tar -- tar -xf "$work/in2/b.tar" -C "$work/out"
check "tar: another archive extracts under the learned tree" \
  "$(cd ref && find . -type f -exec cat {} + | tr '\n' ' '; find . | sort | tr '\n' ' ')" \
  "$(cd out && find . -type f -exec cat {} + | tr '\n' ' '; find . | sort | tr '\n' ' ')"

# The sandboxee's own /proc is /proc/self in the policy, and its own again in the next run.
check "/proc/self: learned, then the next run's own" "Name:	head" \
  "$(learn proc -- head -1 /proc/self/status >/dev/null && run proc -- head -1 /proc/self/status)"

# --merge: a second run adds to the policy; no --allow-read is needed for either input then.
program='{ s += $1 } END { print s }'
"$sbox" learn --out merged.policy -- true 2>/dev/null
"$sbox" learn --force --out merged.policy -- gawk "$program" "$work/in1/numbers" >/dev/null 2>&1
check "--force overwrites an existing --out" "0" "$?"
"$sbox" learn --merge merged.policy --out merged.policy -- gawk "$program" "$work/in2/numbers" \
  >/dev/null 2>merge.err
check "--merge: the first input still passes" "$(gawk "$program" in1/numbers)" \
  "$("$sbox" run --policy merged.policy -- gawk "$program" "$work/in1/numbers" 2>&1)"
check "--merge: the second input passes" "$(gawk "$program" in2/numbers)" \
  "$("$sbox" run --policy merged.policy -- gawk "$program" "$work/in2/numbers" 2>&1)"

# An existing --out needs --force: refused before the program runs.
"$sbox" learn --out merged.policy -- touch "$work/ran" >/dev/null 2>force.err
check "--out exists: exit 125" "125" "$?"
check "--out exists: the program did not run" "absent" \
  "$([[ -e ran ]] && echo present || echo absent)"
check "--out exists: the error says what to do" \
  "sbox: learn: --out merged.policy exists; give --force to overwrite it, or --merge \
merged.policy to add this run to it" \
  "$(cat force.err)"

# A --merge POLICY that cannot be read is refused before the program runs.
"$sbox" learn --merge "$work/none.policy" --out new.policy -- touch "$work/ran" >/dev/null \
  2>merge-missing.err
check "--merge of a missing policy: exit 125" "125" "$?"
check "--merge of a missing policy: the program did not run" "absent" \
  "$([[ -e ran ]] && echo present || echo absent)"
check "--merge of a missing policy: the error names it" \
  "sbox: learn: --merge $work/none.policy: No such file or directory" "$(cat merge-missing.err)"

# A run that went wrong says the policy may be incomplete.
"$sbox" learn --out failed.policy -- gawk 'BEGIN { exit 3 }' >/dev/null 2>failed.err
check "a failing run keeps its status" "3" "$?"
check "a failing run warns" \
  "sbox learn: warning: gawk exited with code 3: the policy has what it did up to then; the policy may be incomplete" \
  "$(grep warning failed.err)"

"$sbox" learn --out signaled.policy -- sh -c 'kill -SEGV $$' >/dev/null 2>signaled.err
check "a run killed by a signal keeps its status" "139" "$?"
check "a run killed by a signal warns" \
  "sbox learn: warning: sh killed by signal SIGSEGV (11): the policy has what it did up to then; the policy may be incomplete" \
  "$(grep warning signaled.err)"
"$sbox" learn --timeout 0.5 --out slow.policy -- sleep 30 >/dev/null 2>slow.err
check "a run past --timeout keeps its status" "124" "$?"
check "a run past --timeout warns" "1" \
  "$(grep -c '^sbox learn: warning: sleep .*the policy may be incomplete$' slow.err)"

# Learning does not change what the program does: an absolute symlink opened with O_PATH, its
# descriptor's /proc/self/fd link, fstat of it, realpath and readlink, /proc/self/cwd. One
# process: the processes of one sandboxee share one /proc/self (tools/README.md).
ln -s "$work/in1/text" abs-link
program='import os, sys
fd = os.open(sys.argv[1], os.O_PATH)
print(os.readlink("/proc/self/fd/%d" % fd), os.stat(fd).st_size)
print(os.path.realpath(sys.argv[1]), os.readlink(sys.argv[1]), os.readlink("/proc/self/cwd"))'
check "learning leaves symlinks, /proc/self and O_PATH as they are" \
  "$(/usr/bin/python3 -c "$program" abs-link)" \
  "$("$sbox" learn --out opath.policy -- /usr/bin/python3 -c "$program" abs-link 2>/dev/null)"
check "and so does the learned policy" "$(/usr/bin/python3 -c "$program" abs-link)" \
  "$("$sbox" run --policy opath.policy -- /usr/bin/python3 -c "$program" abs-link 2>&1)"

if ((failures > 0)); then
  for log in *.err; do echo "--- $log"; head -5 "$log"; done
  exit 1
fi
