#!/usr/bin/env bash
# Replays a seed corpus through a fuzz target's replay binary: every seed must run to the end.
# Usage: replay_test.sh REPLAY_BINARY SEED...
set -euo pipefail
fuzzer=$1
shift
output=$("$fuzzer" "$@")
echo "$output"
[[ $(grep -c ': ok$' <<<"$output") -eq $# ]]
