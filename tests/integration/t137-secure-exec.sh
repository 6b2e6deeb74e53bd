#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Secure-execution mode (RELIABILITY LIB-03's setuid case), against the real loader: a
# set-user-ID program owned by another user (nobody) runs with AT_SECURE, so ld.so ignores
# LD_LIBRARY_PATH and takes $ORIGIN only as a whole leading element, and for the program
# itself only where it gives a system directory. `magicpak deps` must pick what the loader
# picks when this user runs the file, and say why; the same file without the bit, or owned
# by the caller, is resolved as before.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/fixtures/build.sh"
require_root
nobody=$(id -u nobody 2>/dev/null) || skip "no user 'nobody'"
# the secure program runs as nobody: it must reach its libraries
chmod 755 "$tmp"

fx_lib sys/libfoo.so libfoo.so
fx_lib llp/libfoo.so libfoo.so
fx_lib bin/lib/libbar.so libbar.so
fx_lib sys/libbar.so libbar.so
# app: RUNPATH $ORIGIN/lib (not a system directory) then sys; needs libfoo and libbar
fx_app bin/app sys/libfoo.so bin/lib/libbar.so "$(fx_runpath "\$ORIGIN/lib:$tmp/sys")"
# app_mid: RPATH with $ORIGIN inside an element, which names a real directory when expanded
# (mid$tmp/bin/../midlib), then sys
mkdir -p "mid$tmp/bin"
fx_lib "mid$tmp/midlib/libfoo.so" libfoo.so
fx_app bin/app_mid sys/libfoo.so "$(fx_rpath "$tmp/mid\$ORIGIN/../midlib:$tmp/sys")" -Wl,-rpath-link,sys
cp bin/app bin/app_plain
chown "$nobody" bin/app bin/app_mid
chmod 4755 bin/app bin/app_mid
# the oracle: the real loader, run as this user with the same environment
export LD_LIBRARY_PATH=$tmp/llp
mount_opts=$(findmnt -no OPTIONS -T "$tmp")
case ",$mount_opts," in *,nosuid,*) skip "$tmp is on a nosuid mount: no set-user-ID exec here" ;; esac
# the kernel's verdict itself, from a program that prints getauxval(AT_SECURE)
printf '#include <stdio.h>\n#include <sys/auxv.h>\nint main(void) { printf("%%lu\\n", getauxval(AT_SECURE)); return 0; }\n' >"$tmp/secure.c"
cc_quiet -o bin/secure "$tmp/secure.c" || { echo "FAIL: cannot build secure.c"; exit 1; }
cp bin/secure bin/secure_plain
chown "$nobody" bin/secure && chmod 4755 bin/secure
assert_eq "oracle sanity: the kernel runs a set-user-ID nobody file with AT_SECURE 1" "$(bin/secure)" 1
assert_eq "oracle sanity: without the bit AT_SECURE is 0" "$(bin/secure_plain)" 0

want=$(fx_expect bin/app)
check "oracle sanity: the secure program ignores LD_LIBRARY_PATH (sys/libfoo.so)" \
	grep -qx "$tmp/sys/libfoo.so" <<<"$want"
check "oracle sanity: and its own \$ORIGIN/lib (sys/libbar.so, not bin/lib)" \
	grep -qx "$tmp/sys/libbar.so" <<<"$want"
run_tool deps bin/app
assert_rc "deps bin/app (set-user-ID nobody) exits 0" 0
assert_eq "deps bin/app: same as the loader in secure-execution mode" "$out" "$want"
assert_contains "it says LD_LIBRARY_PATH is ignored, and why" "$(cat "$err")" \
	"LD_LIBRARY_PATH is ignored: the program runs in secure-execution mode (set-user-ID, owner uid $nobody)"
assert_contains "it says the program's \$ORIGIN element is ignored" "$(cat "$err")" \
	"'\$ORIGIN/lib' is ignored in secure-execution mode"
run_tool deps --tree bin/app
assert_contains "--tree shows the mode" "$out" "(secure-execution mode: set-user-ID, owner uid $nobody)"
run_tool deps --json bin/app
check "--json carries it as \"secure\"" python3 -c '
import json, sys
d = json.loads(sys.argv[1])["inputs"][0]
assert d["secure"].startswith("set-user-ID"), d
' "$out"

cp bin/app_mid bin/app_mid_plain && chmod 755 bin/app_mid_plain
check "oracle sanity: without the bit, the element gives mid$tmp/midlib/libfoo.so" \
	bash -c '"$1" | grep -qx "$2"' _ bin/app_mid_plain "$tmp/mid$tmp/bin/../midlib/libfoo.so"
want=$(fx_expect bin/app_mid)
check "oracle sanity: a \$ORIGIN inside an RPATH element is dropped (sys/libfoo.so)" \
	grep -qx "$tmp/sys/libfoo.so" <<<"$want"
run_tool deps bin/app_mid
assert_eq "deps bin/app_mid: \$ORIGIN inside an element dropped as the loader does" "$out" "$want"

# suid_as_loader PROG LIB DESC: PROG made set-user-ID nobody; the loader takes LIB for it
# (oracle sanity), and deps prints what the loader loads
suid_as_loader() {
	chown "$nobody" "$1" && chmod 4755 "$1"
	want=$(fx_expect "$1")
	check "oracle sanity: $3: the loader takes $2" grep -qx "$2" <<<"$want"
	run_tool deps "$1"
	assert_eq "deps $1: $3, as the loader" "$out" "$want"
}

# a library's own $ORIGIN stays in force (no trust check: only the program's is checked)
fx_lib sys/dep/libdep.so libdep.so
fx_lib sys/libo.so libo.so sys/dep/libdep.so "$(fx_runpath '$ORIGIN/dep')"
fx_app bin/app_lib sys/libo.so "$(fx_runpath "$tmp/sys")" -Wl,-rpath-link,sys/dep
suid_as_loader bin/app_lib "$tmp/sys/dep/libdep.so" "a library's \$ORIGIN/dep in secure mode"

# the same with braces, and an element with a second $ORIGIN inside it, which is dropped
fx_lib sys2/dep/libdep.so libdep.so
fx_lib sys2/libo.so libo.so sys2/dep/libdep.so "$(fx_runpath '${ORIGIN}/../$ORIGIN/nowhere:${ORIGIN}/dep')"
fx_app bin/app_brace sys2/libo.so "$(fx_runpath "$tmp/sys2")" -Wl,-rpath-link,sys2/dep
suid_as_loader bin/app_brace "$tmp/sys2/dep/libdep.so" "\${ORIGIN} and a second \$ORIGIN"
assert_contains "the element with a second \$ORIGIN is named as ignored" "$(cat "$err")" \
	"'\${ORIGIN}/../\$ORIGIN/nowhere' is ignored in secure-execution mode"

# the program's $ORIGIN in a system directory is trusted: a program under /usr/lib keeps it
# (a run killed with SIGKILL could not remove its copy: one older than an hour goes now)
find /usr/lib -maxdepth 1 -name 'magicpak-t137.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
sysdir=$(mktemp -d /usr/lib/magicpak-t137.XXXXXX)
trap 'rm -rf "$tmp" "$sysdir"' EXIT
chmod 755 "$sysdir"
mkdir "$sysdir/lib" && cp bin/lib/libbar.so "$sysdir/lib/"
cp bin/app "$sysdir/app" && chown "$nobody" "$sysdir/app" && chmod 4755 "$sysdir/app"
want=$(fx_expect "$sysdir/app")
check "oracle sanity: under /usr/lib the program's \$ORIGIN/lib is used in secure mode" \
	grep -qx "$sysdir/lib/libbar.so" <<<"$want"
run_tool deps "$sysdir/app"
assert_eq "deps $sysdir/app: its \$ORIGIN in a system directory kept, as the loader" "$out" "$want"

# the same file without the bit: LD_LIBRARY_PATH and $ORIGIN count
want=$(fx_expect bin/app_plain)
check "oracle sanity: the plain copy takes llp/libfoo.so and bin/lib/libbar.so" \
	bash -c 'grep -qx "$1/llp/libfoo.so" <<<"$2" && grep -qx "$1/bin/lib/libbar.so" <<<"$2"' _ "$tmp" "$want"
run_tool deps bin/app_plain
assert_eq "deps bin/app_plain: LD_LIBRARY_PATH and \$ORIGIN honoured" "$out" "$want"
check "no secure-execution message for it" bash -c '! grep -q secure-execution "$1"' _ "$err"
run_tool deps --json bin/app_plain
check "--json: \"secure\" is null for it" python3 -c '
import json, sys
assert json.loads(sys.argv[1])["inputs"][0]["secure"] is None' "$out"

# set-user-ID but owned by the caller (root runs root's file): no change of ids, not secure
cp bin/app_plain bin/app_own && chmod 4755 bin/app_own
want=$(fx_expect bin/app_own)
check "oracle sanity: the caller's own set-user-ID file takes llp/libfoo.so" \
	grep -qx "$tmp/llp/libfoo.so" <<<"$want"
run_tool deps bin/app_own
assert_eq "deps bin/app_own (set-user-ID, owned by the caller): not secure" "$out" "$want"

# a set-group-ID file of another group is secure too; without group execute permission
# the bit means mandatory locking, not set-group-ID
[ "$(id -g nobody)" != "$(id -g)" ] || fail "nobody's group is ours: set-group-ID cannot be tested"
cp bin/app_plain bin/app_sgid && chgrp "$(id -g nobody)" bin/app_sgid && chmod 2755 bin/app_sgid
want=$(fx_expect bin/app_sgid)
check "oracle sanity: set-group-ID nogroup (2755) ignores LD_LIBRARY_PATH" grep -qx "$tmp/sys/libfoo.so" <<<"$want"
run_tool deps bin/app_sgid
assert_eq "deps bin/app_sgid (set-group-ID, another group): same as the loader" "$out" "$want"
assert_contains "it names the group" "$(cat "$err")" "set-group-ID, group gid $(id -g nobody)"
cp bin/app_plain bin/app_sgid_nox && chgrp "$(id -g nobody)" bin/app_sgid_nox && chmod 2745 bin/app_sgid_nox
want=$(fx_expect bin/app_sgid_nox)
check "oracle sanity: mode 2745 (no group execute) takes llp/libfoo.so: not secure" \
	grep -qx "$tmp/llp/libfoo.so" <<<"$want"
run_tool deps bin/app_sgid_nox
assert_eq "deps bin/app_sgid_nox (2745): not secure, as the loader" "$out" "$want"

# under no_new_privs the kernel grants no ids, so the loader is not in secure mode either
if command -v setpriv >/dev/null; then
	want=$(FX_RUNNER=(setpriv --no-new-privs); fx_expect bin/app)
	check "oracle sanity: under no_new_privs bin/app takes llp/libfoo.so" \
		grep -qx "$tmp/llp/libfoo.so" <<<"$want"
	out=$(setpriv --no-new-privs "$TOOL" deps bin/app 2>/dev/null)
	assert_eq "deps under no_new_privs: not secure, as the loader" "$out" "$want"
fi

# file capabilities make a non-root user's exec secure when they raise it: the effective
# flag, or a permitted set within the bounding set; not an inheritable set alone (nobody
# holds none); under no_new_privs the effective flag still does, a permitted set only within
# the caller's own (none here: every run goes through env, which holds no capability)
if command -v setcap >/dev/null; then
	as_nobody=(setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups)
	for c in +p +ep +i +ei; do
		for nnp in "" --no-new-privs; do
			f=bin/app_cap${c#+}
			[ -e "$f" ] || { cp bin/app_plain "$f" && setcap "cap_net_bind_service$c" "$f"; } ||
				fail "cannot setcap a test file"
			cp bin/secure_plain "$f.sec" && setcap "cap_net_bind_service$c" "$f.sec"
			secure=$("${as_nobody[@]}" $nnp env "$f.sec")
			want=$(FX_RUNNER=("${as_nobody[@]}" $nnp env LD_LIBRARY_PATH="$tmp/llp"); fx_expect "$f")
			case $secure in
			1) check "oracle sanity: $c ${nnp:-(nnp off)}: AT_SECURE, sys/libfoo.so" grep -qx "$tmp/sys/libfoo.so" <<<"$want" ;;
			*) check "oracle sanity: $c ${nnp:-(nnp off)}: no AT_SECURE, llp/libfoo.so" grep -qx "$tmp/llp/libfoo.so" <<<"$want" ;;
			esac
			out=$("${as_nobody[@]}" $nnp env LD_LIBRARY_PATH="$tmp/llp" "$TOOL" deps "$f" 2>"$tmp/cap.err")
			assert_eq "deps of a cap_net_bind_service$c file run by nobody ${nnp:-}: same as the loader" "$out" "$want"
			if [ "$secure" = 1 ]; then
				assert_contains "it names the file capabilities" "$(cat "$tmp/cap.err")" \
					"secure-execution mode (file capabilities)"
			fi
		done
	done
	assert_eq "oracle sanity: AT_SECURE for nobody: +p 1, +i 0, +p under no_new_privs 0, +ei under no_new_privs 1" \
		"$("${as_nobody[@]}" env bin/app_capp.sec) $("${as_nobody[@]}" env bin/app_capi.sec) $("${as_nobody[@]}" --no-new-privs env bin/app_capp.sec) $("${as_nobody[@]}" --no-new-privs env bin/app_capei.sec)" "1 0 0 1"
	want=$(fx_expect bin/app_capep)
	check "oracle sanity: run by root, +ep takes llp/libfoo.so (root gains nothing)" \
		grep -qx "$tmp/llp/libfoo.so" <<<"$want"
	run_tool deps bin/app_capep
	assert_eq "deps of the +ep file run by root: same as the loader" "$out" "$want"
elif [ "${CI:-}" = true ]; then
	fail "file capabilities cannot be tested: no setcap (libcap2-bin)"
fi

# the one-shot form bundles copies without the bit (t201), which the image's loader runs as a
# plain exec: it is resolved as one, with LD_LIBRARY_PATH and the program's $ORIGIN
run_tool bin/app "$tmp/img"
assert_rc "magicpak bin/app img exits 0" 0
check "the bundle holds llp/libfoo.so (LD_LIBRARY_PATH counts for the copy)" test -f "img$tmp/llp/libfoo.so"
check "and bin/lib/libbar.so (its \$ORIGIN/lib counts)" test -f "img$tmp/bin/lib/libbar.so"
check "and the copy has no set-user-ID bit" bash -c '! test -u "$1"' _ "img$tmp/bin/app"
done_testing
