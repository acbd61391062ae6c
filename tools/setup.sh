#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the nvmet-hotplug build and VM tests need on Debian 12, and
# fetch Debian's linux-source-7.3 and virtme-ng from trixie-backports /
# trixie with a private apt configuration (the system's apt sources are
# never changed; the archive address is read from them).
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
jq git bash-builtins"

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

fetch_debs() {
	local d=$CACHE/apt uri o
	mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/pkgs"
	uri=$(src_uri)
	[ -n "$uri" ] || { log "no archive address in the system's apt sources"; exit 1; }
	{
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie-backports main"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main"
	} >"$d/sources.list"
	o="-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null
	   -o Dir::State::Lists=$d/lists -o Dir::Cache::Archives=$d/archives
	   -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
	   -o APT::Sandbox::User=root"
	# shellcheck disable=SC2086
	apt-get $o update -qq >&2
	# shellcheck disable=SC2086
	(cd "$d/pkgs" && apt-get $o download "$@" >&2)
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
