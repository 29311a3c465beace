#!/usr/bin/env bash
# Makes sure the libbpf and bpftool that today's sched_ext schedulers need are at hand, and
# writes where they are to <cache>/toolchain/toolchain.{mk,json} for the Makefiles and tldctl.
#
#   bash scripts/libbpf.sh            # idempotent: prints what it uses, builds only once
#
# libbpf: the system's when it is 1.5 or newer (pkg-config libbpf); otherwise (Debian 12 has
# 1.1.2) Debian's own libbpf 1.5 source package from trixie, built once into the cache as a
# static, position-independent libbpf.a (libtldhelper.so links it) with its headers.
# bpftool: the system's when it is 7.5 or newer; otherwise Debian 12 backports' bpftool 7.5
# (its skeletons need libbpf >= 1.5), unpacked into the cache. Both come through a private apt
# configuration in <cache>/apt-toolchain (its own sources.list, lists and package cache): the
# machine's apt sources are never read or changed.
#
# Cache (<cache> is $TLD_CACHE, else $XDG_CACHE_HOME/tld-studio, else ~/.cache/tld-studio;
# keep it between CI runs to skip the build):
#   <cache>/libbpf/<deb version>/{include/bpf/*.h,lib/libbpf.a,build-seconds}
#   <cache>/bpftool/<deb version>/bpftool
#   <cache>/toolchain/toolchain.mk    LIBBPF_CFLAGS LIBBPF_LIBS LIBBPF_STATIC BPFTOOL ...
#   <cache>/toolchain/toolchain.json  the same for TypeScript (extension/src/client/toolchain.ts)
# Each versioned folder appears whole (by rename) or not at all.
set -euo pipefail

LIBBPF_MIN=1.5.0
BPFTOOL_MIN=7.5.0
LIBBPF_SUITE=trixie
BPFTOOL_SUITE=bookworm-backports
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

CACHE=${TLD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tld-studio}
APT_DIR=$CACHE/apt-toolchain
OUT=$CACHE/toolchain

say() { printf '[libbpf] %s\n' "$*"; }
die() { printf '[libbpf] error: %s\n' "$*" >&2; exit 1; }

# version_ge A B: A >= B for dotted numbers (Debian epochs and revisions ignored).
version_ge() {
	local a=${1#*:} b=${2#*:}
	a=${a%%[-+~]*}
	b=${b%%[-+~]*}
	[ "$(printf '%s\n%s\n' "$b" "$a" | sort -V | head -n1)" = "$b" ]
}

# The Debian mirror the machine uses (as extension/src/vm/kernel.ts finds it), or deb.debian.org.
mirror() {
	if [ -n "${TLD_VM_APT_MIRROR:-}" ]; then
		echo "${TLD_VM_APT_MIRROR%/}"
		return
	fi
	local u
	u=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed 's/#.*//' | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v snapshot.debian.org | head -n1 | tr -d ' ') || true
	echo "${u:-http://deb.debian.org/debian}" | sed 's:/*$::'
}

APT_OPTS=()
apt_prepare() {
	[ ${#APT_OPTS[@]} -gt 0 ] && return
	mkdir -p "$APT_DIR"/{sources.list.d,preferences.d,state/lists/partial,cache/archives/partial}
	[ -f "$APT_DIR/state/status" ] || : >"$APT_DIR/state/status"
	# -c after the machine's apt.conf.d: its update hooks are about its own lists.
	printf '%s\n' '#clear APT::Update::Pre-Invoke;' '#clear APT::Update::Post-Invoke;' \
		'#clear APT::Update::Post-Invoke-Success;' >"$APT_DIR/apt.conf"
	local m signed
	m=$(mirror)
	signed="signed-by=$KEYRING"
	[ -f "$KEYRING" ] || die "$KEYRING is missing: install debian-archive-keyring"
	{
		echo "# Written by TLD Studio's scripts/libbpf.sh: libbpf's source from $LIBBPF_SUITE, bpftool from $BPFTOOL_SUITE."
		echo "deb-src [$signed] $m $LIBBPF_SUITE main"
		echo "deb [$signed] $m $BPFTOOL_SUITE main"
	} >"$APT_DIR/sources.list"
	local d=$APT_DIR
	APT_OPTS=(-c "$d/apt.conf"
		-o "Dir::State=$d/state" -o "Dir::State::Lists=$d/state/lists" -o "Dir::State::status=$d/state/status"
		-o "Dir::Cache=$d/cache" -o "Dir::Cache::archives=$d/cache/archives"
		-o "Dir::Cache::pkgcache=$d/cache/pkgcache.bin" -o "Dir::Cache::srcpkgcache=$d/cache/srcpkgcache.bin"
		-o "Dir::Etc::sourcelist=$d/sources.list" -o "Dir::Etc::sourceparts=$d/sources.list.d"
		-o "Dir::Etc::preferences=$d/preferences" -o "Dir::Etc::preferencesparts=$d/preferences.d"
		-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o Acquire::Languages=none
		-o APT::Get::List-Cleanup=true)
	# As root apt drops to _apt to download, which cannot write into a root-owned cache.
	[ "$(id -u)" -ne 0 ] || APT_OPTS+=(-o APT::Sandbox::User=root)
	say "apt-get update ($m: $LIBBPF_SUITE sources, $BPFTOOL_SUITE main; private configuration in $APT_DIR)"
	local log=$APT_DIR/update.log
	if ! DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get "${APT_OPTS[@]}" update >"$log" 2>&1 ||
		grep -qE '^(W|E): (Failed to fetch|Some index files|GPG error|The repository)' "$log"; then
		tail -n 5 "$log" >&2
		die "apt-get update of $m failed (full output in $log); check that the mirror is reachable"
	fi
}

# The newest version apt knows of a source (showsrc) or binary (show) package.
apt_version() {
	apt-cache "${APT_OPTS[@]}" "$1" "$2" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n1
}

lock() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.toolchain.lock"
	if ! flock -n 9; then
		say "waiting for another scripts/libbpf.sh that is filling $CACHE"
		flock 9
	fi
}

# --- libbpf ------------------------------------------------------------------------------

system_libbpf_version() {
	pkg-config --exists libbpf 2>/dev/null && pkg-config --modversion libbpf || true
}

# Prints the folder of a complete cached libbpf (newest), or nothing.
cached_libbpf() {
	local d
	for d in $(ls -d "$CACHE"/libbpf/*/ 2>/dev/null | sort -V -r); do
		d=${d%/}
		if [ -f "$d/lib/libbpf.a" ] && [ -f "$d/include/bpf/libbpf_version.h" ] && version_ge "$(basename "$d")" "$LIBBPF_MIN"; then
			echo "$d"
			return
		fi
	done
}

build_libbpf() {
	apt_prepare
	local ver work dest start secs
	ver=$(apt_version showsrc libbpf)
	[ -n "$ver" ] || die "no libbpf source package in $LIBBPF_SUITE"
	version_ge "$ver" "$LIBBPF_MIN" || die "$LIBBPF_SUITE has libbpf $ver, older than $LIBBPF_MIN"
	dest=$CACHE/libbpf/$ver
	work=$(mktemp -d "$CACHE/libbpf/.partial-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	say "BUILDING libbpf $ver from Debian's source package ($LIBBPF_SUITE): once, then cached in $dest"
	start=$(date +%s.%N)
	(cd "$work" && apt-get "${APT_OPTS[@]}" source --download-only "libbpf=$ver" >download.log 2>&1) ||
		{ tail -n 5 "$work/download.log" >&2; die "apt-get source libbpf=$ver failed"; }
	say "unpacking libbpf $ver (dpkg-source applies Debian's patches)"
	(cd "$work" && dpkg-source --no-check -x ./*.dsc src >unpack.log 2>&1) ||
		{ tail -n 5 "$work/unpack.log" >&2; die "dpkg-source -x libbpf_$ver.dsc failed"; }
	say "compiling a static, position-independent libbpf.a ($(nproc) jobs)"
	make -s -j"$(nproc)" -C "$work/src/src" BUILD_STATIC_ONLY=1 EXTRA_CFLAGS=-fPIC \
		OBJDIR="$work/obj" DESTDIR="$work/inst" PREFIX= LIBDIR=/lib INCLUDEDIR=/include \
		install >"$work/build.log" 2>&1 ||
		{ tail -n 20 "$work/build.log" >&2; die "building libbpf $ver failed (libelf-dev, zlib1g-dev and pkg-config are needed)"; }
	secs=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }")
	echo "$secs" >"$work/inst/build-seconds"
	echo "$ver" >"$work/inst/version"
	rm -rf "$dest"
	mv "$work/inst" "$dest"
	rm -rf "$work"
	trap - EXIT
	say "built libbpf $ver in $(cat "$dest/build-seconds") s (download, unpack, compile)"
}

# --- bpftool -----------------------------------------------------------------------------

bpftool_version() {
	"$1" version 2>/dev/null | sed -n 's/^[^ ]* v\([0-9][0-9.]*\).*/\1/p' | head -n1
}

cached_bpftool() {
	local d
	for d in $(ls -d "$CACHE"/bpftool/*/ 2>/dev/null | sort -V -r); do
		d=${d%/}
		if [ -x "$d/bpftool" ] && version_ge "$(bpftool_version "$d/bpftool")" "$BPFTOOL_MIN"; then
			echo "$d/bpftool"
			return
		fi
	done
}

fetch_bpftool() {
	apt_prepare
	local ver work dest
	ver=$(apt_version show bpftool)
	[ -n "$ver" ] || die "no bpftool package in $BPFTOOL_SUITE"
	dest=$CACHE/bpftool/$ver
	work=$(mktemp -d "$CACHE/bpftool/.partial-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	say "downloading bpftool $ver from $BPFTOOL_SUITE into $dest"
	(cd "$work" && apt-get "${APT_OPTS[@]}" download "bpftool=$ver" >download.log 2>&1) ||
		{ tail -n 5 "$work/download.log" >&2; die "apt-get download bpftool=$ver failed"; }
	dpkg-deb -x "$work"/bpftool_*.deb "$work/root"
	mkdir -p "$work/out"
	mv "$work/root/usr/sbin/bpftool" "$work/out/bpftool"
	version_ge "$(bpftool_version "$work/out/bpftool")" "$BPFTOOL_MIN" ||
		die "the downloaded bpftool does not run or is older than $BPFTOOL_MIN: $("$work/out/bpftool" version 2>&1 | head -n1)"
	rm -rf "$dest"
	mv "$work/out" "$dest"
	rm -rf "$work"
	trap - EXIT
}

# --- main --------------------------------------------------------------------------------

lock
mkdir -p "$CACHE/libbpf" "$CACHE/bpftool" "$OUT"

sys_ver=$(system_libbpf_version)
if [ -n "$sys_ver" ] && version_ge "$sys_ver" "$LIBBPF_MIN"; then
	libbpf_source=system
	libbpf_version=$sys_ver
	libbpf_include=$(pkg-config --variable=includedir libbpf)
	libbpf_cflags=$(pkg-config --cflags libbpf)
	libbpf_libs="$(pkg-config --libs libbpf) -lelf -lz"
	libbpf_static=
	libbpf_build_seconds=
	say "using the system's libbpf $sys_ver"
else
	dir=$(cached_libbpf)
	if [ -z "$dir" ]; then
		say "the system's libbpf is ${sys_ver:-missing}; schedulers need $LIBBPF_MIN or newer"
		build_libbpf
		dir=$(cached_libbpf)
		[ -n "$dir" ] || die "libbpf was built but is not where it should be in $CACHE/libbpf"
	else
		say "using libbpf $(cat "$dir/version") cached in $dir (built in $(cat "$dir/build-seconds" 2>/dev/null || echo '?') s)"
	fi
	libbpf_source=cache
	libbpf_version=$(basename "$dir")
	libbpf_version=${libbpf_version%%-*}
	libbpf_include=$dir/include
	libbpf_cflags="-I$dir/include"
	libbpf_static=$dir/lib/libbpf.a
	libbpf_libs="$libbpf_static -lelf -lz"
	libbpf_build_seconds=$(cat "$dir/build-seconds" 2>/dev/null || true)
fi

sys_bpftool=$(command -v bpftool || { [ -x /usr/sbin/bpftool ] && echo /usr/sbin/bpftool; } || true)
if [ -n "$sys_bpftool" ] && version_ge "$(bpftool_version "$sys_bpftool")" "$BPFTOOL_MIN"; then
	bpftool=$sys_bpftool
	say "using the system's bpftool $(bpftool_version "$bpftool") ($bpftool)"
else
	bpftool=$(cached_bpftool)
	if [ -z "$bpftool" ]; then
		if [ -n "$sys_bpftool" ]; then
			say "the system's bpftool is $(bpftool_version "$sys_bpftool") ($sys_bpftool); skeletons need $BPFTOOL_MIN or newer"
		else
			say "there is no system bpftool; skeletons need $BPFTOOL_MIN or newer"
		fi
		fetch_bpftool
		bpftool=$(cached_bpftool)
		[ -n "$bpftool" ] || die "bpftool was unpacked but does not run from $CACHE/bpftool"
	fi
	say "using bpftool $(bpftool_version "$bpftool") ($bpftool)"
fi
bpftool_ver=$(bpftool_version "$bpftool")

# Written to temporary files and renamed, so a reader never sees half of one.
cat >"$OUT/toolchain.mk.tmp" <<EOF
# Written by scripts/libbpf.sh: the libbpf and bpftool TLD Studio builds with.
LIBBPF_SOURCE := $libbpf_source
LIBBPF_VERSION := $libbpf_version
LIBBPF_INCLUDE := $libbpf_include
LIBBPF_CFLAGS := $libbpf_cflags
LIBBPF_STATIC := $libbpf_static
LIBBPF_LIBS := $libbpf_libs
BPFTOOL := $bpftool
BPFTOOL_VERSION := $bpftool_ver
EOF
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
{
	printf '{\n'
	printf '  "format": 1,\n'
	printf '  "libbpf": { "source": %s, "version": %s, "include": %s, "static": %s, "buildSeconds": %s },\n' \
		"$(json_str "$libbpf_source")" "$(json_str "$libbpf_version")" "$(json_str "$libbpf_include")" \
		"$( [ -n "$libbpf_static" ] && json_str "$libbpf_static" || echo null)" "${libbpf_build_seconds:-null}"
	printf '  "bpftool": { "path": %s, "version": %s }\n' "$(json_str "$bpftool")" "$(json_str "$bpftool_ver")"
	printf '}\n'
} >"$OUT/toolchain.json.tmp"
# Replaced only when they change: the Makefiles rebuild everything when toolchain.mk is newer.
for f in toolchain.mk toolchain.json; do
	if cmp -s "$OUT/$f.tmp" "$OUT/$f"; then rm "$OUT/$f.tmp"; else mv "$OUT/$f.tmp" "$OUT/$f"; fi
done
