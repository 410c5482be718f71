#!/usr/bin/env bash
# Decisions end to end, PostgreSQL and aotdb in one run, both durable:
# PostgreSQL through the shared kit (pgbench, DBA indexes,
# synchronous_commit on), aotdb with --fsync always through aotdb-load
# (the reads pipelined then the writes in one MULTI; and one FCALL of
# examples/decision.lua per decision).
# Needs ../shared/workloads/decisions (the CSVs and the PostgreSQL kit).
# Usage: benches/decisions-vs-postgres.sh [SECONDS=20] [AOTDB_CLIENTS=50] [PG_CLIENTS=8]
set -euo pipefail
source "$(dirname "$0")/common.sh"
SECS="${1:-20}" AC="${2:-50}" PC="${3:-8}"
[ -x "$SHARED/postgres/setup.sh" ] || { echo "needs $SHARED (the dataset and the PostgreSQL kit)" >&2; exit 1; }
need redis-cli redis-tools
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need __pg__ postgresql postgresql-contrib
need pgbench postgresql-contrib
build_release
"$SHARED/postgres/setup.sh" >&2
pg=$("$SHARED/postgres/bench.sh" "$PC" "$SECS" | tail -1)
"$SHARED/postgres/stop.sh" >/dev/null 2>&1 || true

APORT=7803
start_aotdb $APORT "$WORK/aotdb" --fsync always ${AOTDB_FLAGS:-}
loaded=$("$LOAD" --port $APORT load --root "$ROOT" 2>/dev/null | tail -1)
pipeline=$("$LOAD" --port $APORT decisions --mode pipeline --clients "$AC" --seconds "$SECS" | tail -1)
function=$("$LOAD" --port $APORT decisions --mode function --clients "$AC" --seconds "$SECS" | tail -1)

field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k{print $2}'; }
machine
echo "aotdb load: $loaded"
printf "%-34s %8s %12s %9s %9s %9s\n" system clients decisions/s p50_ms p99_ms ratio
pgr=$(field "$pg" decisions/s)
line() { # line NAME CLIENTS RESULT
  awk -v n="$1" -v c="$2" -v r="$(field "$3" decisions/s)" -v p50="$(field "$3" p50_ms)" -v p99="$(field "$3" p99_ms)" -v pg="$pgr" \
    'BEGIN{printf "%-34s %8d %12.0f %9.3f %9.3f %9.1f\n", n, c, r, p50, p99, r / pg}'
}
line "postgresql (pgbench, sync commit)" "$PC" "$pg"
line "aotdb reads + MULTI, fsync always" "$AC" "$pipeline"
line "aotdb FCALL, fsync always" "$AC" "$function"
