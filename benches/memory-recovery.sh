#!/usr/bin/env bash
# Memory and recovery for the full decision dataset (the shared CSVs when
# present, else generated in code):
#  - resident memory after loading, per table and derived structure (INFO
#    memory), against the size of the same rows as CSV;
#  - restart time from the log alone, then from a snapshot (rows loaded and
#    every index and view rebuilt), with each restart's peak resident set.
# Usage: benches/memory-recovery.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
need redis-cli redis-tools
build_release
PORT=7804 DIR="$WORK/data"
FLAGS=(--fsync no --snapshot-after-log-bytes 0)

start_aotdb $PORT "$DIR" "${FLAGS[@]}"
loaded=$("$LOAD" --port $PORT load --root "$ROOT" 2>/dev/null | tail -1)
csv=$(echo "$loaded" | tr ' ' '\n' | awk -F= '$1=="csv_bytes"{print $2}')
rows=$(echo "$loaded" | tr ' ' '\n' | awk -F= '$1=="loaded rows"||$1=="rows"{print $2}')
redis-cli -p $PORT INFO memory | tr -d '\r' >"$WORK/memory.txt"
rss=$(awk -F: '$1=="used_memory_rss"{print $2}' "$WORK/memory.txt")

machine
echo "load: $loaded"
awk -F: '/^(used_memory|used_memory_rss|used_memory_tables_estimate|used_memory_structures_estimate|memory_)/' "$WORK/memory.txt"
awk -v r="$rss" -v c="$csv" 'BEGIN{printf "resident %.0f MB, CSV %.1f MB: %.1fx the CSV size\n", r/1e6, c/1e6, r/c}'

# The server's peak and current resident set (and what else LABEL says).
memory_line() { # memory_line LABEL [EXTRA]
  awk -v l="$1" -v x="${2:-}" '/^VmHWM/{peak=$2} /^VmRSS/{now=$2} END{printf "%-23s peak resident %.0f MB, resident %.0f MB%s\n", l, peak/1e3, now/1e3, x}' "/proc/${PIDS[-1]}/status"
}

# Restarts: wall time from exec to the first PONG, and the server's own
# count (rows and log records per second).
restart() { # restart LABEL
  redis-cli -p $PORT SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "${PIDS[-1]}" 2>/dev/null || true
  local t0; t0=$(date +%s.%N)
  start_aotdb $PORT "$DIR" "${FLAGS[@]}"
  local t1; t1=$(date +%s.%N)
  local line; line=$(grep 'recovered' "$WORK/aotdb-$PORT.log" | tail -1 | sed 's/.*recovered //')
  awk -v l="$1" -v a="$t0" -v b="$t1" -v s="$line" 'BEGIN{printf "restart from %-9s %6.1f s to first PONG (%s)\n", l, b-a, s}'
  # A restart needs room for its peak, not only for what it ends with.
  local used; used=$(redis-cli -p $PORT INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}')
  memory_line "restart from $1" ", allocated $((used / 1000000)) MB"
}
restart log
redis-cli -p $PORT SAVE >/dev/null
memory_line "after SAVE"
restart snapshot
