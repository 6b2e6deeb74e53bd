#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --test inside a real container build (`podman build`, a RUN step: root without CAP_SYS_ADMIN or
# CAP_MKNOD, under podman's seccomp profile, with a /proc whose paths are masked), as the
# example Dockerfiles run it. The jail is made there without a /proc of its own and without its
# host name (both refused: a warning, not a failure, where it used to exit 3); the plain chroot
# works without CAP_MKNOD (/dev/null an empty file); a failing test still names what is missing.
. "$(dirname "$0")/../lib.sh"
require_root
# The RUN step has no cgroup: the jail's memory limit is RLIMIT_AS, in which ASan's shadow
# memory cannot be mapped (the diagnosis run, inside magicpak, then fails)
plain_tool_only "the jail's RLIMIT_AS in a container leaves no room for ASan's shadow memory"
require_tool podman
require_tool runc
san_no_leak_scan
tag=localhost/magicpak-t416-$$
cleanup() { podman rmi -f "$tag-base:1" "$tag-ok" "$tag-fail" "$tag-proc" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
# The base image: magicpak itself (at its own path), sh, cat, ls and /etc/passwd.
"$TOOL" "$TOOL" /bin/sh /bin/cat /bin/ls -i /etc/passwd --mkdir /tmp \
	--oci-archive "$tmp/base.tar" --tag "$tag-base:1" >/dev/null 2>"$tmp/base.err" ||
	{ echo "FAIL: cannot make the base image:"; sed 's/^/    /' "$tmp/base.err"; exit 1; }
podman load -q -i "$tmp/base.tar" >/dev/null 2>"$tmp/load.err" ||
	{ echo "FAIL: podman load:"; sed 's/^/    /' "$tmp/load.err"; exit 1; }
build() { # build NAME CONTAINERFILE-TEXT: podman build; sets $rc, output in $tmp/NAME.log
	mkdir -p "$tmp/$1" && printf '%s\n' "$2" >"$tmp/$1/Containerfile"
	timeout 300 podman build --runtime runc --cgroup-manager cgroupfs --network none \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -t "$tag-$1" "$tmp/$1" >"$tmp/$1.log" 2>&1
	rc=$?
}

build ok "FROM $tag-base:1
RUN [\"$TOOL\", \"/bin/cat\", \"/out\", \"-i\", \"/bin/sh\", \"-i\", \"/etc/passwd\", \"--test\", \"--test-command\", \"/bin/cat /etc/passwd | /bin/cat >/dev/null && echo ok\", \"--test-stdout\", \"ok\"]
RUN [\"/bin/cat\", \"/proc/self/status\"]
RUN [\"$TOOL\", \"test\", \"/out\", \"--expect-stdout\", \"magicpak\", \"--\", \"/bin/sh\", \"-c\", \"cat /etc/hostname 2>/dev/null || echo magicpak\"]
RUN [\"$TOOL\", \"test\", \"/out\", \"--isolation\", \"chroot\", \"--expect-stdout\", \"ok\", \"--\", \"/bin/sh\", \"-c\", \"cat /dev/null && echo x >/dev/null && echo ok\"]"
assert_eq "podman build: every RUN step passes (exit 0)" "$rc" 0 || sed 's/^/    /' "$tmp/ok.log"
check "the RUN step has no CAP_SYS_ADMIN (what made the jail fail)" \
	sh -c 'caps=$(grep "^CapEff:" "$1" | head -n1 | cut -f2); [ -n "$caps" ] && [ $((0x$caps >> 21 & 1)) = 0 ]' sh "$tmp/ok.log"
check "one-shot --test: the jail is made, without a /proc of its own, with a warning" \
	grep -q "^magicpak: warning: test: the jail cannot have a /proc of its own here" "$tmp/ok.log"
check "one-shot --test: no fallback to a plain chroot was needed" sh -c '! grep -q "testing in a plain chroot" "$1"' sh "$tmp/ok.log"
check "magicpak test: passes in the jail" grep -q "^magicpak: test passed: '/bin/sh' exited 0 with the expected output\$" "$tmp/ok.log"
check "--isolation chroot without CAP_MKNOD: a warning says /dev/null is an empty file" \
	grep -q "^magicpak: warning: test: no device nodes in the plain chroot here" "$tmp/ok.log"
check "--isolation chroot without CAP_MKNOD: passes" \
	grep -q "^magicpak: test passed: '/bin/sh' exited 0 with the expected output (in a plain chroot, not isolated)" "$tmp/ok.log"

build fail "FROM $tag-base:1
RUN [\"$TOOL\", \"/bin/cat\", \"/out\", \"-i\", \"/bin/sh\", \"--test\", \"--test-command\", \"/bin/cat /etc/passwd\"]"
check "a failing --test fails the build" test "$rc" != 0
check "its diagnosis names the missing file" grep -q "test failed (exit 1): the command looked for 1 file the bundle lacks: /etc/passwd; to add it: --include /etc/passwd" "$tmp/fail.log"
build proc "FROM $tag-base:1
RUN [\"$TOOL\", \"/bin/cat\", \"/out\", \"-i\", \"/bin/sh\", \"--test\", \"--test-command\", \"/bin/cat /proc/self/status\"]"
check "a test that needs /proc fails the build" test "$rc" != 0
check "its diagnosis says the jail has no /proc there" grep -q "test failed (exit 1): the command looked for /proc/self/status, and the jail has no /proc here" "$tmp/proc.log"
done_testing
