#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: BND-14.
# --oci-archive / --docker-archive: the archive's layout, every blob's sha256 and size against its
# descriptor, diff_id = sha256 of the uncompressed layer, canonical JSON, the image config from
# the options; no OUTPUT means no directory is left behind; bad values are usage errors.
. "$(dirname "$0")/../lib.sh"
san_no_leak_scan
require_python3

mkdir w && cd w || exit 1
run_tool /usr/bin/sqlite3 --oci-archive img.tar --docker-archive dock.tar --tag sqlite:3 \
	--entrypoint /usr/bin/sqlite3 --cmd :memory: --cmd 'select 1' --env LANG=C.UTF-8 \
	--workdir /tmp --user 1000:1000 --label org.example.b=2 --label org.example.a=1 \
	--expose 8080 --expose 53/udp
assert_rc "one-shot with two archives and no OUTPUT: exit 0" 0
assert_eq "no OUTPUT: only the archives are left (no directory, no temporary file)" \
	"$(only_files .)" "$(printf 'dock.tar\nimg.tar')"
assert_eq "nothing on stdout" "$out" ""

listing_tar=$(tar -tvf img.tar 2>/dev/null | awk '{print $2, $4, $5}')
names=$(tar -tf img.tar)
check "OCI: blobs/, blobs/sha256/, three blobs, index.json, oci-layout, in this order" \
	test "$(printf '%s\n' "$names" | sed 's/[0-9a-f]\{64\}/H/')" = "$(printf 'blobs/\nblobs/sha256/\nblobs/sha256/H\nblobs/sha256/H\nblobs/sha256/H\nindex.json\noci-layout')"
check "OCI: blob names sorted" test "$(printf '%s\n' "$names" | LC_ALL=C sort)" = "$names"
check "OCI: every member 0/0 at 1970-01-01 00:00" test -z "$(printf '%s\n' "$listing_tar" | grep -v '^0/0 1970-01-01 00:00$')"
assert_eq "OCI: oci-layout" "$(tar -xOf img.tar oci-layout)" '{"imageLayoutVersion":"1.0.0"}'
assert_eq "OCI: blobs, sizes, diff_id, canonical JSON, gzip header" "$(ocicheck verify img.tar 2>&1)" ok
assert_eq "docker: config name, diff_id, canonical JSON" "$(ocicheck verify-docker dock.tar 2>&1)" ok
assert_eq "OCI: the tag in org.opencontainers.image.ref.name" \
	"$(ocicheck index img.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])')" "sqlite:3"
assert_eq "docker: RepoTags" "$(tar -xOf dock.tar manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RepoTags"])')" "['sqlite:3']"
check "docker: members are <config>.json, <layer>/, VERSION, layer.tar, manifest.json" \
	test "$(tar -tf dock.tar | sed 's/[0-9a-f]\{64\}/H/' | LC_ALL=C sort)" = "$(printf 'H.json\nH/\nH/VERSION\nH/layer.tar\nmanifest.json')"
check "docker: members sorted" test "$(tar -tf dock.tar | LC_ALL=C sort)" = "$(tar -tf dock.tar)"
for a in img.tar dock.tar; do
	assert_eq "$a: architecture from the bundled ELF files" "$(cfg $a 'c["architecture"]+"/"+c["os"]')" "amd64/linux"
	assert_eq "$a: Entrypoint" "$(cfg $a 'c["config"]["Entrypoint"]')" "['/usr/bin/sqlite3']"
	assert_eq "$a: Cmd, one argument each" "$(cfg $a 'c["config"]["Cmd"]')" "[':memory:', 'select 1']"
	assert_eq "$a: Env with a default PATH first" "$(cfg $a 'c["config"]["Env"]')" \
		"['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8']"
	assert_eq "$a: WorkingDir, User" "$(cfg $a 'c["config"]["WorkingDir"]+" "+c["config"]["User"]')" "/tmp 1000:1000"
	assert_eq "$a: Labels" "$(cfg $a 'sorted(c["config"]["Labels"].items())')" "[('org.example.a', '1'), ('org.example.b', '2')]"
	assert_eq "$a: ExposedPorts" "$(cfg $a 'sorted(c["config"]["ExposedPorts"])')" "['53/udp', '8080/tcp']"
	assert_eq "$a: created from SOURCE_DATE_EPOCH (unset: 0)" "$(cfg $a 'c["created"]')" "1970-01-01T00:00:00Z"
done
check "the layer holds the program" sh -c 'python3 "$1" tv img.tar | grep -qx "f usr/bin/sqlite3"' sh "$TESTS_DIR/fixtures/image/ocicheck.py"

# --env PATH replaces the default; a NAME without a TAG gets :latest.
run_tool /bin/true --oci-archive p.tar --tag example.org:5000/team/true --env PATH=/bin --env A=1 --env A=2
assert_rc "--env PATH and a registry tag: exit 0" 0
assert_eq "--env PATH replaces the default, a later A replaces an earlier one" "$(cfg p.tar 'c["config"]["Env"]')" "['PATH=/bin', 'A=2']"
assert_eq "NAME without TAG: :latest" \
	"$(ocicheck index p.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])')" \
	"example.org:5000/team/true:latest"

# With OUTPUT given, both the directory and the archive.
run_tool /bin/true out --oci-archive both.tar
assert_rc "OUTPUT and an archive: exit 0" 0
check "OUTPUT written" test -x out/usr/bin/true -o -x out/bin/true
check "archive written" test -s both.tar
check "no temporary files left" test -z "$(ls -A | grep magicpak)"

# Bad values: a usage error naming the option, nothing written.
for bad in "--tag Upper:1" "--tag a:b:c/d" "--tag name:" "--tag ../x" "--tag -x" "--tag a..b" \
	"--tag a___b" "--tag a-/b" "--tag .host/x" "--user a:b:c" "--user :x" "--expose 0" "--expose 80/xyz" "--expose http" \
	"--env =x" "--env NOEQUALS" "--label novalue" "--workdir relative"; do
	# shellcheck disable=SC2086
	run_tool /bin/true bad.out --oci-archive bad.tar $bad
	assert_rc "$bad: usage error" 2
	assert_one_error_line "$bad: one error line naming the option" "$err" "${bad%% *}"
	check "$bad: nothing written" test ! -e bad.tar -a ! -e bad.out
done
run_tool /bin/true --oci-archive x.tar --docker-archive x.tar
assert_rc "the same file for both archives: usage error" 2
# Without an archive, OUTPUT stays required.
run_tool /bin/true
assert_rc "no archive and no OUTPUT: usage error" 2
# The archive's path is checked before anything is built: something there that is not a
# regular file is never replaced (a rename would put a file in place of /dev/null: the test
# uses a device node of its own, never the host's), and a directory it cannot be written in
# fails at once, leaving no OUTPUT.
mkdir -p "$tmp/pa"; ln -s "$tmp/pa/target" "$tmp/pa/link"; mkfifo "$tmp/pa/fifo"
odd=("$tmp/pa/link" "$tmp/pa/fifo" "$tmp/pa")
if mknod "$tmp/pa/null" c 1 3 2>/dev/null; then
	odd+=("$tmp/pa/null")
elif [ "${CI:-}" = true ]; then
	fail "cannot make a device node (CI runs as root)"
fi
for a in "${odd[@]}"; do
	before=$(stat -c '%F %i' "$a")
	run_tool /bin/true "$tmp/pa-out" --oci-archive "$a"
	assert_rc "--oci-archive $a (not a regular file): usage error" 2
	assert_one_error_line "--oci-archive $a: one line saying it is not a regular file" "$err" "'$a': not a regular file"
	assert_eq "--oci-archive $a: left as it was" "$(stat -c '%F %i' "$a")" "$before"
	assert_no_output "--oci-archive $a" "$tmp/pa-out"
done
for a in "$tmp/nodir/x.tar" /proc/x.tar; do
	run_tool /bin/true "$tmp/pa-out" --oci-archive "$a"
	assert_rc "--oci-archive $a (no directory to write it in): exit 1" 1
	assert_one_error_line "--oci-archive $a: one line naming it" "$err" "--oci-archive '$a': cannot write in"
	assert_no_output "--oci-archive $a: no OUTPUT either" "$tmp/pa-out"
done
# a user name with no /etc/passwd in the bundle to find it in: said (the container would not
# start); a number, or a name the bundle can look up, is not
run_tool /bin/true --oci-archive "$tmp/u1.tar" --user app
assert_rc "--user app without /etc/passwd: exit 0" 0
assert_one_error_line "--user app without /etc/passwd: one warning saying so" "$err" "the bundle has no /etc/passwd"
run_tool /bin/true --oci-archive "$tmp/u2.tar" --user 1000:1000
assert_eq "--user 1000:1000: no warning" "$(cat "$err")" ""
run_tool /bin/true --oci-archive "$tmp/u3.tar" --user root -i /etc/passwd
assert_eq "--user root with /etc/passwd included: no warning" "$(cat "$err")" ""
done_testing
