#!/usr/bin/env bash
# Instructions per FCALL decision inside the server (callgrind), split into
# the statements' own work and everything around them (Lua, conversions,
# logging): the procedure path's figure on a noisy host. The server runs
# under valgrind, counting only inside Executor::fcall, on a generated
# dataset at scale 0.05; aotdb-load drives decisions with two clients.
# Usage: benches/fcall-instructions.sh [SECONDS=15]
set -euo pipefail
source "$(dirname "$0")/common.sh"
SECS="${1:-15}"
need valgrind valgrind
need redis-cli redis-tools
build_release
PORT=7806 OUT="$WORK/fcall.callgrind"
valgrind --tool=callgrind --collect-atstart=no --toggle-collect='aotdb::executor::Executor::fcall' \
  --callgrind-out-file="$OUT" "$AOTDB" --port $PORT --schema "$ROOT/examples/decisions.sql" \
  --data-dir "$WORK/data" --fsync no >"$WORK/aotdb-$PORT.log" 2>&1 &
PIDS+=($!)
wait_ping $PORT
"$LOAD" --port $PORT load --scale 0.05 --root "$ROOT" >/dev/null 2>&1
result=$("$LOAD" --port $PORT decisions --mode function --clients 2 --seconds "$SECS" --accounts 5000 --merchants 250 | tail -1)
redis-cli -p $PORT SHUTDOWN NOSAVE >/dev/null 2>&1 || true
wait "${PIDS[-1]}" 2>/dev/null || true
count=$(echo "$result" | tr ' ' '\n' | awk -F= '$1=="count"{print $2}')
total=$(awk '/^totals:/{print $2; exit}' "$OUT")
statements=$(callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null \
  | awk '/Executor::execute_in_function \[/ && !n {gsub(",","",$1); print $1; n=1}')
machine
awk -v t="$total" -v s="${statements:-0}" -v n="$count" 'BEGIN{
  printf "%d decisions; per decision: %.0f instructions, %.0f in the statements, %.0f around them\n", n, t/n, s/n, (t-s)/n }'
