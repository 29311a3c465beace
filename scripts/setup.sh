#!/usr/bin/env bash
# Idempotent set-up: installs the Debian toolchain TLD Studio needs, mounts bpffs,
# and builds native/ and bpf/. Safe to run again; each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

# dpkg-dev (dpkg-source) unpacks libbpf's Debian source package in scripts/libbpf.sh.
# sudo and pkexec: the installed helper host is started through them (tldctl helper install).
APT_PACKAGES=(clang-19 llvm-19 libbpf-dev bpftool libelf-dev zlib1g-dev make gcc g++ pkg-config dpkg-dev debian-archive-keyring sudo pkexec)

step() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "[setup] missing Debian packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	step "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! mountpoint -q /sys/fs/bpf; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "[setup] bpffs is not mounted at /sys/fs/bpf; run: sudo mount -t bpf bpf /sys/fs/bpf" >&2
		exit 1
	fi
	step "mounting bpffs at /sys/fs/bpf"
	mount -t bpf bpf /sys/fs/bpf
fi

# npm packages: install when absent or when the lock file changed since.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	step "installing npm packages"
	npm ci --no-audit --no-fund --loglevel=error
fi

# End-to-end tests: Chromium, code-server on Node 24, playwright-core.
bash scripts/setup-e2e.sh
# The VM runner: qemu, busybox, cpio, zstd.
bash scripts/vm/setup-vm.sh

# libbpf >= 1.5 and bpftool >= 7.5 (built or fetched once into ~/.cache/tld-studio).
bash scripts/libbpf.sh

step "building bpf/ and native/"
make -s -C bpf
make -s -C native
