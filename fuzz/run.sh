#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) on the stable
# toolchain (RUSTC_BOOTSTRAP lets cargo-fuzz pass its -Z flags), with the
# checked-in seeds; prints each target's executions. A crash stops the run
# and leaves its input under fuzz/artifacts/<target>/.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(resp_request bind_args register_sql)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t"
    if [ "$t" = register_sql ]; then
        # The example schema's statements, one per file, as seeds: taken
        # from the schema itself so they never drift from it.
        awk 'BEGIN { RS = ";" } NF { n++; f = sprintf("corpus/register_sql/example-%02d.sql", n); printf "%s;", $0 > f; close(f) }' \
            ../examples/decisions.sql
    fi
    log="$(mktemp)"
    cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$SECONDS_EACH" -max_len=4096 2>"$log" \
        || { tail -40 "$log"; exit 1; }
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1)
    echo "$t: ${runs:-no summary} in ${SECONDS_EACH}s"
    rm -f "$log"
done
