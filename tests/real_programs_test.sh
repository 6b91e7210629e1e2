#!/usr/bin/env bash
# Real Debian programs under `sbox run` with a policy `sbox learn` wrote: Linux path semantics
# (symlinks absolute and relative, "//" and ".." in paths, search paths partly absent, O_PATH
# and the metadata calls) must give the same output as the program unsandboxed.
# Usage: real_programs_test.sh SBOX
set -uo pipefail
sbox="$(realpath "$1")"
# shellcheck source=tests/shell_check.sh
source "$(dirname "$0")/shell_check.sh"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/real.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# learn_and_run NAME -- PROGRAM ARGS: learns a policy from one run, then runs the same command
# under it; prints its stdout.
learn_and_run() {
  local name="$1"
  shift 2
  "$sbox" learn --out "$name.policy" -- "$@" >/dev/null 2>"$name.learn.err" || {
    echo "learn failed for $name: $(cat "$name.learn.err")" >&2
  }
  "$sbox" run --policy "$name.policy" -- "$@" 2>"$name.run.err"
}

# Perl searches @INC, whose /usr/local entries do not exist: each miss must be ENOENT.
program='use strict; use POSIX qw(floor); print floor(2.5), "\n"'
check "perl @INC search" "$(perl -e "$program")" "$(learn_and_run perl -- perl -e "$program")"

# Python's sys.path search, with entries that do not exist.
program='import json, os.path; print(json.dumps({"a": os.path.join("x", "y")}))'
check "python3 sys.path search" "$(/usr/bin/python3 -c "$program")" \
  "$(learn_and_run python -- /usr/bin/python3 -c "$program")"

# date reads /etc/localtime, an absolute symlink into /usr/share/zoneinfo.
check "date: local time zone" "$(date +%Z%z)" "$(learn_and_run date -- date +%Z%z)"
# The same through an absolute symlink to a zone that is not UTC, wherever this machine is.
ln -s /usr/share/zoneinfo/Asia/Tokyo tokyo
check "date: a zone through an absolute symlink" "JST+0900" \
  "$(TZ=":$work/tokyo" learn_and_run tokyo -- date +%Z%z)"

# /usr/bin/awk -> /etc/alternatives/awk -> /usr/bin/mawk: two absolute hops, granted by naming
# the first (--allow-read LINK grants what the link names).
check "--allow-read LINK follows /etc/alternatives" "$(sha256sum </usr/bin/awk)" \
  "$("$sbox" run --allow-read /usr/bin/awk -- sha256sum /usr/bin/awk 2>&1 | sed 's#  /usr/bin/awk#  -#')"

# ImageMagick builds its coder paths with "//" (".../ImageMagick-6.9.11//modules-Q16/coders").
# Reading a PNG needs the coder; PPM output carries no time stamps to compare around.
printf 'P3\n2 2\n255\n255 0 0 0 255 0 0 0 255 255 255 255\n' >in.ppm
/usr/bin/convert-im6.q16 in.ppm direct.png
/usr/bin/convert-im6.q16 direct.png -compress none direct.ppm
learn_and_run convert -- /usr/bin/convert-im6.q16 direct.png -compress none sandboxed.ppm >/dev/null
check "ImageMagick finds its PNG coder" "$(cat direct.ppm)" "$(cat sandboxed.ppm 2>&1)"

# ffprobe's libblas.so.3 is /usr/lib/x86_64-linux-gnu/libblas.so.3 -> /etc/alternatives/... ->
# /usr/lib/x86_64-linux-gnu/blas/libblas.so.3: absolute hops the loader must follow.
program=(/usr/bin/ffprobe -v error -show_entries stream=codec_name,width -of csv=p=0 direct.png)
check "ffprobe loads libblas through /etc/alternatives" "$("${program[@]}")" \
  "$(learn_and_run ffprobe -- "${program[@]}")"

# Paths the kernel accepts: "//", "/./", "/../" and a trailing "/".
mkdir -p data/sub && echo hello >data/sub/f
check "// /./ /../ in paths" "hello" \
  "$("$sbox" run --allow-read "$work/data" -- cat "$work/data//sub/./../sub/f" 2>&1)"

# Grants are names: a path that does not exist yet, a flag on top of a policy's rule for the
# same path (the union), and a directory the program creates under a grant of its own name.
check "--allow-read of a missing path loads" "hello" \
  "$("$sbox" run --allow-read "$work/no/such/dir" --allow-read "$work/data" -- cat "$work/data/sub/f" 2>&1)"
printf 'allow group basic-io\nallow group memory-without-exec\nallow group program-startup\nallow group signals\nallow group exit\nallow group identity\nallow group file-redirection\nallow group threads\nallow group time\nallow group random\nallow group broker-channel\nallow fadvise64\ntree r /usr\ntree r /lib\nfile r /etc/ld.so.cache\ntree r %s/data\n' "$work" >union.policy
check "--allow-read on top of the same rule" "hello" \
  "$("$sbox" run --policy union.policy --allow-read "$work/data" -- cat "$work/data/sub/f" 2>&1)"
"$sbox" run --allow-write "$work/created" -- mkdir "$work/created" "$work/created/later" \
  2>created.run.err
check "mkdir of a granted path that did not exist, and beneath it" "directory" \
  "$(stat -c %F "$work/created/later" 2>&1)"

# tar -x restores modes and times (fchmodat, utimensat: brokered) on a granted output tree.
mkdir -p src/dir && echo x >src/dir/a && chmod 0640 src/dir/a && chmod 0750 src/dir &&
  touch -d '2001-02-03 04:05:06' src/dir/a && tar -cf a.tar -C src dir
mkdir out.learn out
"$sbox" learn --out tar.policy --cwd "$work/out.learn" -- tar -xf "$work/a.tar" >/dev/null 2>&1
"$sbox" run --policy tar.policy --allow-write "$work/out" --cwd "$work/out" -- tar -xf "$work/a.tar" \
  2>tar.run.err
check "tar -x restores modes" "640 750" "$(stat -c %a out/dir/a) $(stat -c %a out/dir)"
check "tar -x restores times" "$(stat -c %Y src/dir/a)" "$(stat -c %Y out/dir/a 2>&1)"

if ((failures > 0)); then
  for log in *.err; do echo "--- $log"; head -5 "$log"; done
  exit 1
fi
