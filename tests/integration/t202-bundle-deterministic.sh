#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Determinism: the same inputs bundled twice (and with the options in another order) give the same tree:
# same paths, types, modes, link targets and contents.
. "$(dirname "$0")/../lib.sh"

same_tree() { # same_tree DESC A B
	check "$1: diff -r --no-dereference finds no difference" diff -r --no-dereference "$2" "$3"
	assert_eq "$1: same listing (path mode type target)" "$(listing "$3")" "$(listing "$2")"
	check "$1: the listing is not empty" test -n "$(listing "$2")"
}
for prog in /usr/bin/sqlite3 /usr/bin/awk /bin/bash; do
	n=$(basename "$prog")
	run_tool "$prog" "$tmp/$n.1"
	assert_rc "bundle $prog (1): exit 0" 0
	run_tool "$prog" "$tmp/$n.2"
	assert_rc "bundle $prog (2): exit 0" 0
	same_tree "$prog twice" "$tmp/$n.1" "$tmp/$n.2"
done

# Several inputs and includes, given in another order: the same tree.
run_tool -i /usr/share/zoneinfo/Europe -i /etc/hostname /usr/bin/sqlite3 /bin/bash "$tmp/m.1"
assert_rc "several inputs (1): exit 0" 0
run_tool -i /etc/hostname -i /usr/share/zoneinfo/Europe /bin/bash /usr/bin/sqlite3 "$tmp/m.2"
assert_rc "several inputs, other order (2): exit 0" 0
# The first INPUT differs, but neither is moved (no --install-to), so the trees must match.
same_tree "inputs and includes in another order" "$tmp/m.1" "$tmp/m.2"
done_testing
