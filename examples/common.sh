# SPDX-License-Identifier: MIT
# examples/common.sh - sourced by every examples/*/run.sh: the magicpak binary, a private temp
# dir, podman with the flags a machine without a container daemon needs, and the size line.
# An example exits 0 when it passed, 1 when it failed, 77 when the jail cannot be set up here.
set -eu
EXAMPLE_DIR=$(cd "$(dirname "$0")" && pwd)
EXAMPLE=$(basename "$EXAMPLE_DIR")
ROOT=$(cd "$EXAMPLE_DIR/../.." && pwd)
MAGICPAK=${MAGICPAK:-$ROOT/build/magicpak}
case $MAGICPAK in /*) ;; *) MAGICPAK=$ROOT/$MAGICPAK ;; esac
[ -x "$MAGICPAK" ] || { echo "$EXAMPLE: no magicpak at $MAGICPAK (run make, or set MAGICPAK)" >&2; exit 1; }
work=$(mktemp -d "/tmp/magicpak-example-$EXAMPLE.XXXXXX")
tag=magicpak-example-$EXAMPLE:$$
image=localhost/$tag
cleanup() {
	if [ -n "${image_loaded:-}" ]; then podman rmi -f "$image" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# say TEXT: one line saying what the example does next.
say() { printf '==> %s\n' "$*"; }
# mp ARGS...: run magicpak, echoing the command line first.
mp() { printf '$ magicpak'; printf ' %q' "$@"; echo; "$MAGICPAK" "$@"; }
# jail_or_skip RC: exit 77 when magicpak test said the jail cannot be set up here (exit 3).
jail_or_skip() { if [ "$1" = 3 ]; then echo "$EXAMPLE: SKIP: the jail cannot be set up here"; exit 77; fi; }

# have_podman: podman is installed and can load images here.
have_podman() { command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; }
# podman_load ARCHIVE: load the OCI archive (written with --tag "$tag") as $image.
podman_load() {
	say "podman load -i $1"
	image_loaded=1
	podman load -q -i "$1" >/dev/null
}
# podman_run ARGS...: run the image as podman on a machine without a daemon needs it.
podman_run() {
	timeout 120 podman run --rm --runtime runc --cgroup-manager cgroupfs --network none \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"
}

# sizes BUNDLE [ARCHIVE]: print "size: bundle N KiB, [image N KiB,] packages M KiB: PKG..." where the packages are those
# owning the bundle's files (dpkg -S, the path or its target) and M is the sum of their
# Installed-Size (dpkg-query -W -f '${Installed-Size}').
sizes() {
	local b=$1 kib pkgs sum=0 p s f r
	kib=$(du -sk --apparent-size "$b" | cut -f1)
	pkgs=$( (cd "$b" && find . -type f -printf '/%P\n') | while read -r f; do
		# dpkg knows a file by the path its package shipped: /lib/... on a merged /usr.
		r=$(readlink -f "$f")
		printf '%s\n' "$f" "$r" "${f#/usr}" "${r#/usr}"
	done | LC_ALL=C sort -u | xargs -r -d '\n' dpkg -S 2>/dev/null |
		grep -v "^diversion" | sed -n 's/^\(.*\): \/.*/\1/p' | tr ', ' '\n\n' | sed 's/:.*//; /^$/d' | LC_ALL=C sort -u)
	for p in $pkgs; do
		s=$(dpkg-query -W -f '${Installed-Size}' "$p" 2>/dev/null | head -n 1)
		sum=$((sum + ${s:-0}))
	done
	if [ -n "${2:-}" ]; then kib="$kib KiB, image $(($(stat -c %s "$2") / 1024))"; fi
	echo "size: bundle $kib KiB, packages $sum KiB:" $pkgs
}
