#!/usr/bin/env bash
# In-process benchmarks (criterion): every statement of the decision
# workload and a whole decision on aotdb and on SQLite (bundled, in memory,
# DBA indexes), same process, same run; then a table of ratios.
# Usage: benches/inprocess.sh [criterion filter]   (AOTDB_BENCH_SCALE=0.1 for a tenth)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"
cargo bench -q -p aotdb --bench decisions -- "$@" 2>&1 | grep -E "^dataset|^bulk load" || true
python3 - <<'PY'
import json, math, os
base = "target/criterion"
rows = []
for group in sorted(os.listdir(base)):
    est = lambda e: os.path.join(base, group, e, "new", "estimates.json")
    if not (os.path.exists(est("aotdb")) and os.path.exists(est("sqlite"))):
        continue
    mean = lambda e: json.load(open(est(e)))["mean"]["point_estimate"]
    rows.append((group, mean("aotdb"), mean("sqlite")))
def t(ns):
    return f"{ns/1e6:.2f} ms" if ns >= 1e6 else f"{ns/1e3:.2f} us" if ns >= 1e3 else f"{ns:.0f} ns"
print(f"{'statement':24} {'aotdb':>12} {'sqlite':>12} {'sqlite/aotdb':>13}")
for g, a, s in rows:
    print(f"{g:24} {t(a):>12} {t(s):>12} {s/a:13.1f}")
if rows:
    gm = math.exp(sum(math.log(s / a) for _, a, s in rows) / len(rows))
    print(f"geometric mean of the ratios over {len(rows)} benchmarks: {gm:.1f}x")
PY
