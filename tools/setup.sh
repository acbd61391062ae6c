#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the nvmet-hotplug build and VM tests need on Debian 12, and
# fetch Debian's linux-source-7.3 and virtme-ng from trixie-backports /
# trixie with a private apt configuration (the system's apt sources are
# never changed; the archive address is read from them).
#
# Also build the fio that the VM runs, into $CACHE/fio: Debian 12's fio
# from its source package, configured with what this machine has (libaio
# and zlib; none of the -dev packages of Debian's optional engines).  The
# packaged binary links 64 shared libraries (ceph, glusterfs, PMDK, RDMA,
# ...), and under TCG the dynamic loader's work on them made every start
# of fio cost 6-16 s in the debug VM (fio --version 5.9-15.9 s); the lean
# build starts in about 1 s.  tools/vm.sh puts it first in the guest's
# PATH.
#
# Prints the path of the unpacked kernel tree on the last line.
set -euo pipefail

CACHE=${NVMET_HP_CACHE:-$HOME/.cache/nvmet-hotplug}
KVER_PKG=${KVER_PKG:-linux-source-7.3}
mkdir -p "$CACHE"

log() { echo "setup: $*" >&2; }

DEB_PKGS="build-essential bc bison flex libelf-dev libssl-dev dwarves cpio
kmod rsync xz-utils quilt sparse qemu-system-x86 qemu-utils udev nvme-cli fio
iproute2 util-linux python3 busybox-static e2fsprogs procps psmisc dmsetup
jq git bash-builtins dpkg-dev libaio-dev zlib1g-dev"

missing=""
for p in $DEB_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
fi

# Private apt configuration for trixie / trixie-backports.
src_uri() {
	local f
	for f in /etc/apt/sources.list.d/debian.sources; do
		[ -f "$f" ] && awk '/^URIs:/{print $2; exit}' "$f" && return
	done
	awk '/^deb /{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
		/etc/apt/sources.list
}

# private_apt DIR LINE...: point APT_O at an apt state in DIR whose only
# sources are "TYPE SUITE" LINEs (e.g. "deb trixie"), and update it.
private_apt() {
	local d=$1 uri l
	shift
	mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/cache" "$d/pkgs"
	uri=$(src_uri)
	[ -n "$uri" ] || { log "no archive address in the system's apt sources"; exit 1; }
	for l in "$@"; do
		echo "${l% *} [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri ${l#* } main"
	done >"$d/sources.list"
	APT_O="-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null
	   -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache
	   -o Dir::Cache::Archives=$d/archives
	   -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
	   -o APT::Sandbox::User=root"
	# shellcheck disable=SC2086
	apt-get $APT_O update -qq >&2
}

fetch_debs() {
	private_apt "$CACHE/apt" "deb trixie-backports" "deb trixie"
	# shellcheck disable=SC2086
	(cd "$CACHE/apt/pkgs" && apt-get $APT_O download "$@" >&2)
}

# The lean fio (see the top), rebuilt when Debian's fio changes version;
# built in a directory of its own and moved into place.  When it cannot
# be built, the VM uses the packaged fio (slower), with a warning.
FIO_OPTS="--disable-native --disable-numa --disable-rdma --disable-rados
--disable-rbd --disable-http --disable-gfapi --disable-libnfs --disable-pmem
--disable-xnvme --disable-libzbc --disable-tcmalloc --disable-dfs"
build_fio() {
	local ver codename d=$CACHE/fio tmp dsc
	ver=$(dpkg-query -W -f='${source:Version}' fio)
	[ -x "$d/fio" ] && [ "$(cat "$d/.version" 2>/dev/null)" = "$ver" ] && return 0
	log "building a lean fio $ver"
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	tmp=$(mktemp -d "$CACHE/fio-build.XXXXXX")
	# an fio from -updates, or one the archive has moved on from: the
	# suite's own source package then
	# shellcheck disable=SC2086
	if private_apt "$CACHE/apt-src" "deb-src $codename" \
		       "deb-src $codename-updates" &&
	   (cd "$tmp" && { apt-get $APT_O source -qq "fio=$ver" ||
			   apt-get $APT_O source -qq fio; } >&2 &&
	    cd fio-*/ && ./configure $FIO_OPTS >/dev/null &&
	    make -s -j"$(nproc)" >&2 && ./fio --version >/dev/null); then
		dsc=$(cd "$tmp" && ls fio_*.dsc)
		rm -rf "$d.new"
		mkdir -p "$d.new"
		cp "$tmp"/fio-*/fio "$d.new/fio"
		echo "$ver" >"$d.new/.version"
		log "lean fio built from ${dsc%.dsc}"
		rm -rf "$d"
		mv "$d.new" "$d"
	else
		log "warning: no lean fio; the VM runs the packaged one (slower)"
	fi
	rm -rf "$tmp"
}

need_fetch=""
ls "$CACHE"/apt/pkgs/${KVER_PKG}_*.deb >/dev/null 2>&1 || need_fetch="$need_fetch $KVER_PKG"
command -v vng >/dev/null 2>&1 ||
	ls "$CACHE"/apt/pkgs/virtme-ng_*.deb >/dev/null 2>&1 || need_fetch="$need_fetch virtme-ng"
if [ -n "$need_fetch" ]; then
	log "fetching$need_fetch"
	# shellcheck disable=SC2086
	fetch_debs $need_fetch
fi

if ! command -v vng >/dev/null 2>&1; then
	log "installing virtme-ng"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		"$(ls "$CACHE"/apt/pkgs/virtme-ng_*.deb | tail -1)" >&2
fi

build_fio

deb=$(ls "$CACHE"/apt/pkgs/${KVER_PKG}_*.deb | tail -1)
ver=$(dpkg-deb -f "$deb" Version)
ksrc=$CACHE/src-$ver
if [ ! -f "$ksrc/.unpacked" ]; then
	log "unpacking $KVER_PKG $ver"
	rm -rf "$ksrc" "$CACHE/deb-$ver"
	dpkg-deb -x "$deb" "$CACHE/deb-$ver"
	tarball=$(ls "$CACHE"/deb-"$ver"/usr/src/linux-source-*.tar.* | head -1)
	mkdir -p "$ksrc"
	tar -xf "$tarball" -C "$ksrc" --strip-components=1
	rm -rf "$CACHE/deb-$ver"
	touch "$ksrc/.unpacked"
fi
echo "$ksrc"
