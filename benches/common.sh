# Sourced by the end-to-end benchmark scripts: paths, package installs,
# starting and stopping servers. Everything can be overridden from the
# environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AOTDB="$ROOT/target/release/aotdb"
LOAD="$ROOT/target/release/aotdb-load"
WORK="${WORK:-$(mktemp -d /tmp/aotdb-bench.XXXXXX)}"
SHARED="${SHARED:-$ROOT/../shared/workloads/decisions}"

# Installs Debian packages for the commands that are missing.
need() { # need COMMAND PACKAGE...
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null && return
  echo "installing $*" >&2
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

build_release() {
  (cd "$ROOT" && cargo build --release -q -p aotdb -p aotdb-workload --bins)
}

# Waits until a Redis-protocol server answers PING on port $1.
wait_ping() {
  for _ in $(seq 1 600); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "server on port $1 did not come up" >&2; return 1
}

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# start_aotdb PORT DATA_DIR [FLAGS...]: runs aotdb on the example schema.
start_aotdb() {
  local port="$1" dir="$2"; shift 2
  "$AOTDB" --port "$port" --schema "$ROOT/examples/decisions.sql" --data-dir "$dir" "$@" \
    >"$WORK/aotdb-$port.log" 2>&1 &
  PIDS+=($!)
  wait_ping "$port"
}

# start_redis PORT [FLAGS...]: runs redis-server with no persistence
# unless flags ask for it.
start_redis() {
  local port="$1"; shift
  redis-server --port "$port" --save '' --appendonly no --dir "$WORK" "$@" >"$WORK/redis-$port.log" 2>&1 &
  PIDS+=($!)
  wait_ping "$port"
}

machine() { echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"; }
