#!/usr/bin/env bash
# The shardgate quickstart: one Gateway on :8080 with two HTTPRoutes (host and
# path routing; a 90/10 canary split) in front of three DEMO echo backends.
#
# The echo backends are demo processes started by this script, not part of a
# real deployment: in a cluster the EndpointSlices point at your pods.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)

if [[ ${SHARDGATE_SKIP_BUILD:-0} != 1 ]]; then
  cargo build --release --locked -p shardgate --manifest-path "$root/Cargo.toml"
fi
bin="$root/target/release/shardgate"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# DEMO backends (see config/backends.yaml for their Services and EndpointSlices).
"$bin" echo --listen 127.0.0.1:9081 --pod web-demo --namespace demo --service web & pids+=($!)
"$bin" echo --listen 127.0.0.1:9082 --pod web-canary-demo --namespace demo --service web-canary & pids+=($!)
"$bin" echo --listen 127.0.0.1:9083 --pod api-demo --namespace demo --service api & pids+=($!)

echo "quickstart: demo backends on 127.0.0.1:9081-9083; gateway on :8080; admin on 127.0.0.1:9901 (Ctrl-C to stop)" >&2
"$bin" up --config "$here/config" --admin 127.0.0.1:9901 "$@" & up=$!
pids+=("$up")
# Ctrl-C reaches `up` directly (same process group) and starts its drain; a
# SIGTERM sent to this script alone is forwarded. Wait for the drain to end,
# then the EXIT trap stops the demo backends.
trap ':' INT
trap 'kill -TERM "$up" 2>/dev/null || true' TERM
while kill -0 "$up" 2>/dev/null; do wait "$up" || true; done
