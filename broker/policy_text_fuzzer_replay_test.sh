#!/usr/bin/env bash
# Replays the seed policies through the gcc-built fuzzer binary: every seed must run to the end.
# Usage: policy_text_fuzzer_replay_test.sh FUZZER SEED...
set -euo pipefail
fuzzer=$1
shift
output=$("$fuzzer" "$@")
echo "$output"
[[ $(grep -c ': ok$' <<<"$output") -eq $# ]]
