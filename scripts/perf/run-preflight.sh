#!/usr/bin/env bash
# Measures Preflight with ../shared/perf/run.sh beside the direct path and the
# nginx pass-through hop. Needs nginx-light and oha (see ../shared/perf/README.md).
# Usage: scripts/perf/run-preflight.sh [run.sh options, e.g. --rounds 1 --duration 10]
# PREFLIGHT_BIN=target/pgo/release/preflight measures that binary instead of
# building the release one (the profile-guided build, scripts/perf/build-pgo.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
PERF=${PERF_HARNESS:-../shared/perf/run.sh}
BIN=${PREFLIGHT_BIN:-}
BUILD="release build"
if [ -z "$BIN" ]; then
  cargo build --release -p preflight-gateway
  BIN=target/release/preflight
elif [[ "$BIN" == *pgo* ]]; then
  BUILD="profile-guided release build"
fi
DATA=$(mktemp -d)
taskset -c 1 "$BIN" serve --config scripts/perf/preflight.toml --data-dir "$DATA" \
  > /tmp/preflight-perf.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:18090/healthz >/dev/null && break; sleep 0.1; done
"$PERF" --no-litellm --only direct,nginx-proxy \
  --target preflight=http://127.0.0.1:18090/v1/chat/completions \
  --target-info preflight="commit $(git rev-parse --short HEAD), $BUILD, rules + graph + policy + tier-1 guard" \
  "$@"
