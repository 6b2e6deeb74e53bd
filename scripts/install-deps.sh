#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages that building, testing and benchmarking magicpak need,
# only when one is missing (so `make check` costs nothing on a machine that has them).
# Usage: scripts/install-deps.sh [build|check|bench]
set -eu

build="gcc make libc6-dev pkg-config libelf-dev libsqlite3-dev sqlite3 libssl-dev libarchive-dev zlib1g-dev libbpf-dev clang bpftool"
check="$build python3 perl busybox-static file binutils podman runc skopeo umoci clang-format git man-db graphviz clang libclang-rt-14-dev valgrind strace libjemalloc2 libtcmalloc-minimal4 tmux libcap2-bin"
# the i386 loader and libc (biarch), for t136's i386 programs on an x86-64 host
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] && check="$check libc6-i386"
# qemu-x86_64 -cpu Nehalem runs t135's bundle on a CPU below x86-64-v3 (LIB-04)
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] && check="$check qemu-user"
bench="$check pax-utils libtree hyperfine strace time reprozip libbpf-tools bpftrace"

case "${1:-check}" in
build) want=$build ;;
check) want=$check ;;
bench) want=$bench ;;
*) echo "usage: $0 [build|check|bench]" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	# dpkg-query prints "install ok installed" for a package that is really there.
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "magicpak: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "magicpak: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
