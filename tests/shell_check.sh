# Sourced by the shell tests: `check NAME EXPECTED ACTUAL` prints PASS or FAIL for one
# comparison and counts the failures in $failures, which the test turns into its status.
failures=0

check() {
  if [[ "$2" == "$3" ]]; then
    echo "PASS $1"
  else
    echo "FAIL $1: expected [$2], got [$3]"
    failures=$((failures + 1))
  fi
}
