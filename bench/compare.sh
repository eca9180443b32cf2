#!/usr/bin/env bash
# `npm run bench:compare`: OpenCluster beside Redis on this machine. Installs Debian's redis-server if
# missing, starts it and one OpenCluster node on loopback, runs gamut's side-by-side load (set, get and incr,
# 100-byte values, 1 and 50 in flight), prints one table, and stops both (by PID) whatever happens.
# Settings by environment: DURATION (s per round, 5), ROUNDS (3), REDIS_PORT (16379), CONNECTIONS (1),
# KEEP_JSON (a directory to keep gamut's JSON outputs in).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
REDIS_PORT=${REDIS_PORT:-16379}
CONNECTIONS=${CONNECTIONS:-1}
CLI=dist/src/cli/main.js
START_WAIT_STEPS=150 # x 0.1 s

[ -f "$CLI" ] || npx tsc -p tsconfig.json

if ! command -v redis-server >/dev/null 2>&1; then
  echo "bench:compare: installing redis-server with apt-get" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/oc-compare-XXXXXX")
REDIS_PID=""
NODE_PID=""
cleanup() {
  if [ -n "$NODE_PID" ]; then kill -INT "$NODE_PID" 2>/dev/null || true; fi
  if [ -n "$REDIS_PID" ]; then kill -TERM "$REDIS_PID" 2>/dev/null || true; fi
  if [ -n "$NODE_PID" ]; then wait "$NODE_PID" 2>/dev/null || true; fi
  if [ -n "$REDIS_PID" ]; then wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize no --dir "$WORK" \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
mkdir -p "$WORK/node"
node "$CLI" serve --listen 127.0.0.1:0 --data-dir "$WORK/node" --log-level info >"$WORK/node.log" 2>&1 &
NODE_PID=$!

# The node's address, from its JSON log line {"msg":"listening","addr":...}.
node_addr() {
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
    for (const l of lines) { try { const j = JSON.parse(l); if (j.msg === "listening" && j.addr) { console.log(j.addr); break; } } catch {} }
  ' "$WORK/node.log"
}

ADDR=""
for _ in $(seq 1 "$START_WAIT_STEPS"); do
  ADDR=$(node_addr)
  if [ -n "$ADDR" ] && (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then break; fi
  if ! kill -0 "$NODE_PID" 2>/dev/null; then echo "bench:compare: the node exited: $(tail -3 "$WORK/node.log")" >&2; exit 1; fi
  if ! kill -0 "$REDIS_PID" 2>/dev/null; then echo "bench:compare: redis-server exited: $(tail -3 "$WORK/redis.log")" >&2; exit 1; fi
  sleep 0.1
done
if [ -z "$ADDR" ]; then echo "bench:compare: the node did not start" >&2; exit 1; fi

REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(uname -sm), $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "node:    $(node --version); redis-server $REDIS_VERSION at 127.0.0.1:$REDIS_PORT; OpenCluster node at $ADDR"
echo "load:    100-byte string values, 10000 keys, $CONNECTIONS connection(s), $DURATION s per round, $ROUNDS rounds (ours, redis alternating)"
echo

for INFLIGHT in 1 50; do
  for OP in set get incr; do
    case "$OP" in set) MIX=0:1 ;; get) MIX=1:0 ;; incr) MIX=0:0:1 ;; esac
    echo "running $OP at $INFLIGHT in flight ..." >&2
    node "$CLI" gamut --cluster "$ADDR" --skip-check --compare-redis "127.0.0.1:$REDIS_PORT" \
      --inflight "$INFLIGHT" --connections "$CONNECTIONS" --value-bytes 100 --keys 10000 --mix "$MIX" \
      --duration "$DURATION" --rounds "$ROUNDS" --json >"$WORK/$OP-$INFLIGHT.json"
  done
done

node -e '
  const fs = require("fs");
  const dir = process.argv[1];
  const f3 = (n) => (n === null || n === undefined ? "-" : Number(n).toFixed(3));
  const f2 = (n) => (n === null || n === undefined ? "-" : Number(n).toFixed(2));
  const ops = (n) => Math.round(n).toLocaleString("en-US");
  const range = (a, k, f) => `${f(a[k])} (${f(a.min[k])}-${f(a.max[k])})`;
  const rows = [["case", "ours ops/s", "redis ops/s", "ratio", "ours p50 ms", "redis p50 ms", "ratio", "ours p99 ms", "redis p99 ms", "ratio", "errors"]];
  for (const inflight of [1, 50]) for (const op of ["set", "get", "incr"]) {
    const { load } = JSON.parse(fs.readFileSync(`${dir}/${op}-${inflight}.json`, "utf8"));
    const o = load.ours, r = load.redis, q = load.ratio;
    rows.push([`${op} x${inflight}`, range(o, "opsPerSec", ops), range(r, "opsPerSec", ops), f2(q.opsPerSec),
      range(o, "p50Ms", f3), range(r, "p50Ms", f3), f2(q.p50Ms), range(o, "p99Ms", f3), range(r, "p99Ms", f3), f2(q.p99Ms),
      `${o.errors}/${r.errors}`]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  console.log(line(rows[0]));
  console.log(w.map((n) => "-".repeat(n)).join("  "));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log("\nmedian (min-max) over rounds; ratio = ours / redis (ops/s: above 1 is better for ours; latency: below 1 is better for ours); errors = ours/redis");
' "$WORK"

if [ -n "${KEEP_JSON:-}" ]; then mkdir -p "$KEEP_JSON" && cp "$WORK"/*.json "$KEEP_JSON"/; fi
