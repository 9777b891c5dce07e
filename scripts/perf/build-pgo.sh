#!/usr/bin/env bash
# Builds target/pgo/release/preflight: the release build, optimized with a
# profile of a training run (profile-guided optimization). Optional: the
# plain release build is what `cargo run --release` gives; this one lays the
# request path out by what actually runs, which is what counts when a
# request finds the caches cold (docs/benchmarks.md, "Session 5").
#
# Needs llvm-profdata of the LLVM that rustc uses (`rustc -vV`; on Debian
# `apt-get install llvm-22` for rustc 1.95), nginx and oha (as the perf
# harness, ../shared/perf/README.md). About 12 minutes on two cores.
#
# Training, both on this machine's loopback, none of it a public benchmark:
#  1. `preflight check` over trajectories from `preflight datagen` (every
#     planner format, benign and malicious, rules that fire and Rego
#     evaluations);
#  2. `preflight serve` in front of the perf harness' nginx upstream: proxied
#     chat completions at full load (the request of an example, not the
#     harness' request), and `/v1/check` with every example in examples/.
# Usage: scripts/perf/build-pgo.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
LLVM_MAJOR=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
PROFDATA=${LLVM_PROFDATA:-$(command -v "llvm-profdata-$LLVM_MAJOR" || true)}
die() { echo "build-pgo: $*" >&2; exit 2; }
[ -n "$PROFDATA" ] && [ -x "$PROFDATA" ] ||
  die "needs llvm-profdata-$LLVM_MAJOR (rustc's LLVM is $LLVM_MAJOR; Debian: apt-get install llvm-$LLVM_MAJOR), or set LLVM_PROFDATA"
command -v nginx >/dev/null || die "needs nginx (apt-get install nginx-light)"
command -v oha >/dev/null || die "needs oha (cargo install oha --locked)"

WORK=$(mktemp -d)
SERVER=""
NGINX_PID=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "build-pgo: 1/4 instrumented build" >&2
# A fixed profile directory keeps RUSTFLAGS, and so the build, reusable.
RAW=$ROOT/target/pgo-gen/profraw
RUSTFLAGS="-Cprofile-generate=$RAW" \
  cargo build --release -p preflight-gateway --target-dir target/pgo-gen
# Build scripts are instrumented too: only the training's profiles count.
rm -rf "$RAW"
BIN=$ROOT/target/pgo-gen/release/preflight

echo "build-pgo: 2/4 training: check over generated trajectories" >&2
"$BIN" datagen --out "$WORK/cases" --benign-per-family 8 --malicious-per-family 4 >/dev/null
for f in "$WORK"/cases/*.jsonl; do
  "$BIN" check --cases "$f" --json >/dev/null
done

echo "build-pgo: 3/4 training: serve in front of the harness upstream" >&2
# The harness' upstream (its config keeps its files in /tmp/perf-harness),
# unless one already answers.
if ! curl -sf -o /dev/null -X POST -d '{}' http://127.0.0.1:18080/v1/chat/completions; then
  mkdir -p /tmp/perf-harness
  nginx -p /tmp/perf-harness/ -e "$WORK/nginx.err" -c "$ROOT/../shared/perf/nginx-upstream.conf"
  NGINX_PID=$(cat /tmp/perf-harness/nginx-upstream.pid)
fi
"$BIN" serve --config scripts/perf/preflight.toml --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18090/healthz >/dev/null && break; sleep 0.1; done
# Not the harness' own request: the chat request of an example (the
# upstream answers every request with the harness' two tool calls).
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); json.dump({k: d[k] for k in ("model", "messages", "tools")}, open(sys.argv[2], "w"))' \
  examples/openai-chat-invoice-exfiltration.json "$WORK/chat-request.json"
oha -z 10s -c 32 --no-tui -m POST -H 'content-type: application/json' \
  -D "$WORK/chat-request.json" http://127.0.0.1:18090/v1/chat/completions >/dev/null
for _ in 1 2 3 4 5; do
  for f in examples/*.json examples/*.txt; do
    curl -s -o /dev/null -X POST --data-binary "@$f" http://127.0.0.1:18090/v1/check
  done
done
# A clean exit writes the profile.
kill -TERM "$SERVER"
wait "$SERVER" || true
SERVER=""

echo "build-pgo: 4/4 optimized build" >&2
"$PROFDATA" merge -o "$WORK/merged.profdata" "$RAW"
RUSTFLAGS="-Cprofile-use=$WORK/merged.profdata" \
  cargo build --release -p preflight-gateway --target-dir target/pgo
echo "build-pgo: target/pgo/release/preflight" >&2
