#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: BND-14.
# JSON in the config, manifest and index is valid, canonical and escaped: env, labels, entrypoint,
# cmd, workdir and user with quotes, backslashes, newlines, tabs, control bytes and non-ASCII text
# come back exactly; text that is not UTF-8 is refused (JSON cannot hold it).
. "$(dirname "$0")/../lib.sh"
require_python3

nl=$(printf 'a\nb')
run_tool /bin/true --oci-archive img.tar --docker-archive dock.tar --tag 'j:1' \
	--entrypoint '/bin/sh' --entrypoint '-c' --entrypoint "echo \"hi\" \\ $nl" \
	--cmd "$(printf 'tab\there')" --cmd "$(printf 'bell\a')" --cmd 'ünïcødé ✓' \
	--env "Q=\"quoted\"" --env "NL=$nl" --env 'BS=back\slash' \
	--label "k\"ey=va\"l" --label "multi=$nl" --workdir '/dir "with" quotes' --user 'us"er'
assert_rc "odd strings: exit 0" 0
for a in img.tar dock.tar; do
	v=verify; [ "$a" = dock.tar ] && v=verify-docker
	assert_eq "$a: verifies (canonical JSON)" "$(ocicheck "$v" "$a" 2>&1)" ok
	got=$(ocicheck config "$a" | python3 -c '
import json, sys
c = json.load(sys.stdin)["config"]
want = {
    "Entrypoint": ["/bin/sh", "-c", "echo \"hi\" \\ a\nb"],
    "Cmd": ["tab\there", "bell\x07", "ünïcødé ✓"],
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "Q=\"quoted\"", "NL=a\nb", "BS=back\\slash"],
    "Labels": {"k\"ey": "va\"l", "multi": "a\nb"},
    "WorkingDir": "/dir \"with\" quotes",
    "User": "us\"er",
}
bad = [k for k in want if c.get(k) != want[k]]
print("ok" if not bad else "differ: " + repr({k: c.get(k) for k in bad}))')
	assert_eq "$a: every string comes back exactly" "$got" ok
done
check "escaped, not raw: no raw newline inside the config" test "$(ocicheck config img.tar | wc -l)" = 1
check "control bytes as \\u escapes" sh -c 'tar -xOf "$1" "$(tar -tf "$1" | grep "\.json$" | grep -v manifest)" | grep -qF "\\u0007"' sh dock.tar

bad=$(printf 'x\xffy')
for opt in --cmd --entrypoint; do
	run_tool /bin/true --oci-archive bad.tar $opt "$bad"
	assert_rc "$opt with bytes that are not UTF-8: usage error" 2
	assert_one_error_line "$opt not UTF-8: one line naming the option" "$err" "$opt"
done
run_tool /bin/true --oci-archive bad.tar --env "A=$bad"
assert_rc "--env not UTF-8: usage error" 2
check "nothing written" test ! -e bad.tar

# Image options without an archive to hold them were dropped without a word.
for opt in "--tag x:1" "--entrypoint /bin/true" "--cmd a" "--env A=1" "--label a=b" "--expose 80" "--workdir /w" "--user 1"; do
	set -- $opt
	run_tool /bin/true plain.b "$@"
	assert_rc "$1 without an archive: usage error" 2
	assert_one_error_line "$1 without an archive: one line naming it" "$err" "$1 describes an image archive, and none is asked for"
	check "$1 without an archive: no bundle written" test ! -e plain.b
done
"$TOOL" record --db h.db -- /bin/true 2>/dev/null || fail "cannot record /bin/true"
run_tool bundle --db h.db plain.b --tag x:1
assert_rc "bundle --tag without an archive: usage error" 2
check "bundle --tag without an archive: no bundle written" test ! -e plain.b
done_testing
