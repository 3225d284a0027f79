#!/usr/bin/env bash
# make demo: starts Tonk's sync server (@tonk/server 0.3.2, from the test
# harness) on a free loopback port, imports the sample archive into it with
# locations-worker, prints the document as the worker and as a JavaScript
# automerge-repo client (a Tonk app) see it, and stops the server. Nothing
# is left behind: the server and the worker keep their data in a temporary
# folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin/locations-worker}
harness=test/harness/v1
[ -x "$bin" ] || { echo "demo: $bin is missing: run make build" >&2; exit 1; }
[ -d "$harness/node_modules" ] || { echo "demo: $harness/node_modules is missing: run make deps" >&2; exit 1; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$tmp/server"
(cd "$harness" && PORT=$port DATA_DIR="$tmp/server" exec node server.mjs) >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q '^READY' "$tmp/server.log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; echo "demo: the sync server did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q '^READY' "$tmp/server.log" || { echo "demo: the sync server did not start in 30 s" >&2; exit 1; }

export SYNC_URL=http://127.0.0.1:$port LOCATIONS_WORKER_DATA=$tmp/data
echo "== sync server (@tonk/server 0.3.2) at $SYNC_URL"
echo "== $bin import examples/sample-takeout.zip"
"$bin" import examples/sample-takeout.zip
echo
echo "== $bin doc cat /google-maps/places --table"
"$bin" doc cat /google-maps/places --table
echo
echo "== a Tonk app (JavaScript automerge-repo) reads /google-maps/places"
(cd "$harness" && node client.mjs read "$SYNC_URL" /google-maps/places) |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);if(!r.found){console.error("demo: the JavaScript client did not find the document");process.exit(1)}const ps=Object.values(r.value.places);console.log(ps.length+" places: "+ps.map(p=>p.title).sort().join(", "))})'
