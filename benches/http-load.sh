#!/usr/bin/env bash
# HTTP load baseline: starts a release `palisade serve` on loopback, fills a
# model with assets, and drives it with wrk (bounded: 10 s per scenario).
#
#   bash benches/http-load.sh                 # embedded SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/palisade_bench \
#     bash benches/http-load.sh               # PostgreSQL (database must exist and be migrated)
#
# Needs wrk (apt-get install wrk). Server, database and load generator share
# the machine's cores: compare runs with each other, not with other machines.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q --bin palisade
bin="$PWD/target/release/palisade"
work=$(mktemp -d)
port=${PORT:-18480}
duration=${DURATION:-10s}
export PALISADE_BIND="127.0.0.1:$port" PALISADE_LOG=warn
export DATABASE_URL="${DATABASE_URL:-$work/palisade.db}"
base="http://127.0.0.1:$port"

(cd "$work" && exec "$bin" serve 2>"$work/serve.log" >/dev/null) &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
until curl -fs -o /dev/null "$base/healthz"; do sleep 0.05; done

key=$(cd "$work" && "$bin" keys create --org "bench-$$" --role owner 2>/dev/null | tail -n 1)
auth="Authorization: Bearer $key"
model=$(curl -fs --json '{"name":"bench"}' -H "$auth" "$base/api/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for i in $(seq 1 200); do
  curl -fs -o /dev/null --json "{\"name\":\"asset $i\",\"kind\":\"data\",\"classification\":\"internal\",\"owner\":\"team\"}" -H "$auth" "$base/api/v1/models/$model/assets"
done
asset=$(curl -fs -H "$auth" "$base/api/v1/models/$model/assets?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = '{"name":"load","kind":"service","owner":"team","tags":["a","b"]}'
LUA

run() {
  local name=$1; shift
  echo "== $name"
  wrk -t2 -c32 -d"$duration" --latency "$@" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors"
}
run "GET one asset"            -H "$auth" "$base/api/v1/models/$model/assets/$asset"
run "GET a page of 50 assets"  -H "$auth" "$base/api/v1/models/$model/assets?limit=50"
run "GET scope summary (200+)" -H "$auth" "$base/api/v1/models/$model/scope"
run "POST an asset"            -s "$work/post.lua" "$base/api/v1/models/$model/assets"
run "GET /healthz (no auth, no database)" "$base/healthz"
