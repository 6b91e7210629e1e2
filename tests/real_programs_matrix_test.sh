#!/usr/bin/env bash
# Common Debian programs under sbox, as a new user would run them, against the same programs
# unsandboxed: the same stdout, exit status and output files, for inputs this script generates
# in two directories (different files of the same kinds).
#
#   (a) `sbox learn` on input 1, then `sbox run --policy LEARNED` on input 1;
#   (b) the same learned policy plus `--allow-read DIR2` on input 2, in another directory;
#   (c) the built-in policy with only `--allow-read /usr --allow-read /etc --allow-read INPUT
#       --allow-write OUTPUT` (and `--allow-jit` for node, whose JIT needs executable memory).
#
# Prints the matrix (program x a/b/c) and fails when a cell does.
# Usage: real_programs_matrix_test.sh SBOX [COLUMNS] [PROGRAM-REGEX]   (COLUMNS: default "abc")
# The inputs come from real_program_inputs.sh, beside this script.
set -uo pipefail
sbox="$(realpath "$1")"
inputs="$(realpath "$(dirname "$0")")/real_program_inputs.sh"
columns="${2:-abc}"
only="${3:-.}"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/matrix.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# NAME|COMMAND, with $IN (the input directory) and $OUT (an empty output directory).
programs() {
  cat <<'EOF'
python3|/usr/bin/python3 $IN/script.py $IN/data.json
perl|perl -Mstrict -MPOSIX=floor -ne 'print floor(length($_)/3), " $_"' $IN/text.txt
tar-t|tar -tvf $IN/a.tar
tar-x|tar -xf $IN/a.tar -C $OUT
unzip|unzip -q -o $IN/a.zip -d $OUT
bsdtar|bsdtar -tvf $IN/a.zip
sqlite3|sqlite3 $IN/db.sqlite 'select * from t order by a'
convert|/usr/bin/convert $IN/img.png -compress none $OUT/img.ppm
identify|identify -format '%f %w %h %m %k\n' $IN/img.png
pdftotext|pdftotext $IN/doc.pdf $OUT/doc.txt
exiftool|exiftool -S -ImageWidth -ImageHeight -FileType $IN/img.png
ffprobe|ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 $IN/img.png
openssl|openssl x509 -in $IN/cert.pem -noout -subject
gawk|gawk '{s+=$1} END {print s, NR}' $IN/nums.txt
sort|sort -k2 $IN/text.txt
sort-parallel|sort --parallel=2 -n $IN/nums.txt
xz|xz -dc $IN/text.xz
xz-T2|xz -T2 -c $IN/text.txt
zstd|zstd -dc $IN/nums.zst
node|node $IN/script.js $IN/data.json
git-log|git -C $IN/repo log --format=%s%n%ad
EOF
}

bash "$inputs" "$work/in1" 1 && bash "$inputs" "$work/elsewhere/in2" 2 || exit 1
out="$work/out"

# run_and_compare LABEL CMD IN SBOX-ARGS...: CMD unsandboxed, then under `sbox SBOX-ARGS -- CMD`,
# each with IN set and an empty OUT; says on stderr how they differ, if they do.
run_and_compare() {
  local label="$1" cmd="$2" in="$3"
  shift 3
  rm -rf "$out" "$work/bare_out" && mkdir -p "$out"
  IN="$in" OUT="$out" eval "$cmd" >"$work/bare.stdout" 2>"$work/bare.stderr"
  local bare_status=$?
  mv "$out" "$work/bare_out" && mkdir -p "$out"
  IN="$in" OUT="$out" eval "\"\$sbox\" $* -- $cmd" >"$work/sbox.stdout" 2>"$work/${label//\//.}.stderr"
  local sbox_status=$?
  local why=""
  [[ $bare_status == "$sbox_status" ]] || why="exit $sbox_status, not $bare_status"
  cmp -s "$work/bare.stdout" "$work/sbox.stdout" || why="${why:+$why; }stdout differs"
  diff -r "$work/bare_out" "$out" >/dev/null 2>&1 || why="${why:+$why; }output files differ"
  if [[ -n "$why" ]]; then
    echo "FAIL $label: $why" >&2
    sed 's/^/    /' "$work/${label//\//.}.stderr" | head -5 >&2
    return 1
  fi
  return 0
}

failures=0
table="program        a    b    c"$'\n'
while IFS='|' read -r name cmd; do
  [[ "$name" =~ $only ]] || continue
  row="$(printf '%-14s' "$name")"
  jit=()
  [[ "$name" == node ]] && jit=(--allow-jit)
  for column in a b c; do
    cell="-"
    if [[ "$columns" == *"$column"* ]]; then
      case "$column" in
        a)
          rm -rf "$out" && mkdir -p "$out"
          if IN="$work/in1" OUT="$out" eval "\"\$sbox\" learn --force --out \"$work/$name.policy\" -- $cmd" \
            >/dev/null 2>"$work/$name.learn.stderr"; then
            run_and_compare "$name/a" "$cmd" "$work/in1" run --policy "$work/$name.policy"
          else
            echo "FAIL $name/a: learn: $(tail -3 "$work/$name.learn.stderr")" >&2
            false
          fi
          ;;
        b)
          [[ -f "$work/$name.policy" ]] &&
            run_and_compare "$name/b" "$cmd" "$work/elsewhere/in2" run --policy "$work/$name.policy" \
              --allow-read "$work/elsewhere/in2"
          ;;
        c)
          run_and_compare "$name/c" "$cmd" "$work/in1" run --allow-read /usr --allow-read /etc \
            --allow-read "$work/in1" --allow-write "$out" "${jit[@]}"
          ;;
      esac
      if [[ $? == 0 ]]; then cell="ok"; else cell="FAIL" && failures=$((failures + 1)); fi
    fi
    row+="$(printf ' %-4s' "$cell")"
  done
  table+="$row"$'\n'
done < <(programs)

echo "$table"
echo "$failures failing cells"
[[ $failures == 0 ]]
