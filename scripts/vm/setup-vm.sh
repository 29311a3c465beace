#!/usr/bin/env bash
# Idempotent set-up for the VM runner (`tldctl vm kernel`, `tldctl vm run`, test/vm):
# installs the Debian packages it needs, skipping those already installed.
#   qemu-system-x86        qemu-system-x86_64 to boot the guest
#   busybox-static         /bin/busybox: the guest's userland in the initramfs
#   cpio                   builds the newc initramfs
#   zstd                   decompresses the bzImage payload into the ELF vmlinux
#   bpftool                dumps the guest kernel's BTF into vmlinux.h
#   debian-archive-keyring keys that verify trixie-backports (the sched_ext kernel)
#   gzip, dpkg            (essential on Debian; listed for completeness)
#   make gcc flex bison bc dwarves libelf-dev binutils perl
#                          `tldctl vm kernel --build`: the minimal kernel (dwarves' pahole makes its BTF)
# Usage: bash scripts/vm/setup-vm.sh   (as root, or it prints the apt-get command to run)
set -euo pipefail

VM_PACKAGES=(qemu-system-x86 busybox-static cpio zstd bpftool debian-archive-keyring gzip
	make gcc flex bison bc dwarves libelf-dev binutils perl)

missing=()
for p in "${VM_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "[setup-vm] missing Debian packages: ${missing[*]}; run: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
printf '[setup-vm] installing %s\n' "${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
