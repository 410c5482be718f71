#!/usr/bin/env bash
# Instructions per statement on aotdb (callgrind), for comparing two
# builds on a noisy host: unlike time, the count does not move with the
# machine's load. Runs the in-process benchmark's statements on a
# generated or shared dataset at AOTDB_BENCH_SCALE (default 0.05, as
# valgrind runs about 50x slower) and prints instructions per call.
# Usage: benches/instructions.sh [STATEMENT,...|all] [ITERATIONS=2000]
set -euo pipefail
source "$(dirname "$0")/common.sh"
ALL=account_by_id,merchant_risk,spend_since,spend_by_category,top_merchants,recent_decisions,declines_in_region,record_payment,record_decision,set_payment_status,set_credit_limit,freeze_account,add_account,add_merchant,forget_payment,decision
NAMES="${1:-all}"; [ "$NAMES" = all ] && NAMES=$ALL
ITERS="${2:-2000}"
need valgrind valgrind
bench_binary() { # the decisions benchmark's executable, built if needed
  (cd "$ROOT" && cargo bench -q --bench decisions --no-run --message-format=json 2>/dev/null) | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target") or {}
    if m.get("executable") and t.get("name") == "decisions" and "bench" in t.get("kind", []):
        print(m["executable"])'
}
BIN="${BENCH_BIN:-$(bench_binary)}"
[ -x "$BIN" ] || { echo "no benchmark binary" >&2; exit 1; }
OUT="$WORK/callgrind"
mkdir -p "$OUT"
machine
echo "scale ${AOTDB_BENCH_SCALE:-0.05}, $ITERS calls each"
# One valgrind run per statement: callgrind counts only inside `counted`.
for name in ${NAMES//,/ }; do
  AOTDB_COUNT="$name" AOTDB_COUNT_ITERS="$ITERS" AOTDB_BENCH_SCALE="${AOTDB_BENCH_SCALE:-0.05}" \
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='decisions::counted' \
    --callgrind-out-file="$OUT/$name.out" "$BIN" --bench >/dev/null 2>"$OUT/$name.log" \
    || { echo "valgrind failed for $name (see $OUT/$name.log)" >&2; exit 1; }
  ir=$(awk '/^(summary|totals):/{print $2; exit}' "$OUT/$name.out")
  awk -v n="$name" -v ir="$ir" -v it="$ITERS" 'BEGIN{printf "%-22s %12.0f instructions per call\n", n, ir / it}'
done
