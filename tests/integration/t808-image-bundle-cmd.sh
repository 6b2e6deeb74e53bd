#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `magicpak bundle` takes the image options too: from a recorded session to an archive with no
# OUTPUT (no directory left), or to both; --strip there as well; the image runs under podman.
. "$(dirname "$0")/../lib.sh"
require_ptrace
require_python3

"$TOOL" record --db r.db -- /usr/bin/sqlite3 :memory: 'select 1' >/dev/null 2>rec.err || { echo "FAIL: record:"; cat rec.err; exit 1; }
mkdir w
run_tool bundle --db r.db --oci-archive w/img.tar --tag bsq:1 --entrypoint /usr/bin/sqlite3 \
	--cmd :memory: --label from=bundle
assert_rc "bundle --oci-archive without OUTPUT: exit 0" 0
assert_eq "only the archive is left" "$(only_files w)" img.tar
assert_eq "it verifies" "$(ocicheck verify w/img.tar)" ok
assert_eq "its config" "$(cfg w/img.tar 'c["config"]["Entrypoint"]+c["config"]["Cmd"]+[c["config"]["Labels"]["from"]]')" \
	"['/usr/bin/sqlite3', ':memory:', 'bundle']"
run_tool bundle --db r.db --strip --docker-archive w/dock.tar w/out
assert_rc "bundle --strip --docker-archive OUTPUT: exit 0" 0
check "OUTPUT written" test -x w/out/usr/bin/sqlite3
assert_eq "docker archive verifies" "$(ocicheck verify-docker w/dock.tar)" ok
check "--strip reported" grep -q '^magicpak: --strip: ' "$err"
run_tool bundle --db r.db
assert_rc "bundle without OUTPUT or archive: usage error" 2
run_tool bundle --db r.db --oci-archive w/x.tar --tag 'BAD TAG'
assert_rc "bundle with a bad tag: usage error" 2
check "nothing written" test ! -e w/x.tar
if command -v podman >/dev/null && [ "$(id -u)" = 0 ]; then
	trap 'podman rmi -f localhost/bsq:1 >/dev/null 2>&1; rm -rf "$tmp"' EXIT
	podman load -i w/img.tar >/dev/null 2>&1
	assert_eq "podman run of the bundle's image" "$(echo 'select 6*7;' | podman_run -i localhost/bsq:1 2>&1)" 42
fi
done_testing
