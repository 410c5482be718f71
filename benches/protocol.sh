#!/usr/bin/env bash
# Protocol ceiling: redis-benchmark against redis-server and aotdb, same
# machine, same run. Point reads (GET vs EXECUTE account_by_id) at -P 1 and
# -P 16, and writes (SET vs EXECUTE record_payment, aotdb with --fsync no).
# Usage: benches/protocol.sh [REQUESTS=1000000]
set -euo pipefail
source "$(dirname "$0")/common.sh"
N="${1:-1000000}"
need redis-server redis-server redis-tools
need redis-benchmark redis-tools
build_release
RPORT=7901 APORT=7801
start_redis $RPORT
start_aotdb $APORT "$WORK/aotdb" --fsync no ${AOTDB_FLAGS:-}
# The same 100,000 keys on both: accounts for aotdb, a value of the
# same size for Redis (redis-benchmark's keys are key:%012d).
"$LOAD" --port $APORT load --root "$ROOT" --tables accounts >/dev/null
row=$(redis-cli -p $APORT EXECUTE account_by_id 1 | tr -d '\n')
seq 0 99999 | awk -v v="$row" '{k=sprintf("key:%012d",$1); printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v}' \
  | redis-cli -p $RPORT --pipe >/dev/null

rps() { # rps PORT PIPELINE KEYSPACE COMMAND...
  local port="$1" p="$2" r="$3"; shift 3
  redis-benchmark -p "$port" -c 50 -P "$p" -n "$N" -r "$r" --csv "$@" | awk -F'"' 'NR==2{print $4}'
}
machine
printf "%-44s %12s %12s %7s\n" test redis aotdb ratio
row_out() { awk -v t="$1" -v r="$2" -v a="$3" 'BEGIN{printf "%-44s %12.0f %12.0f %7.2f\n", t, r, a, a / r}'; }
for p in 1 16; do
  r=$(rps $RPORT $p 100000 GET key:__rand_int__)
  a=$(rps $APORT $p 100000 EXECUTE account_by_id __rand_int__)
  row_out "point read -c 50 -P $p (GET vs account_by_id)" "$r" "$a"
done
# Writes: record_payment's insert on random ids from a 2*10^9 keyspace, on
# one hot account (the worst case for its views: every write lands in the
# same groups). redis-benchmark stops at the first error, so the rare
# repeated id updates its row instead (ON CONFLICT), as SET overwrites.
redis-cli -p $APORT DEFINE "PREPARE bench_payment (BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, TEXT) AS
  INSERT INTO payments (id, account_id, merchant_id, amount, created_at, status) VALUES (\$1, \$2, \$3, \$4, \$5, \$6)
  ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount" >/dev/null
r=$(rps $RPORT 1 2000000000 SET key:__rand_int__ "$row")
a=$(rps $APORT 1 2000000000 EXECUTE bench_payment __rand_int__ 42 7 100 1800000000 approved)
row_out "write -c 50 -P 1 (SET vs record_payment upsert)" "$r" "$a"
