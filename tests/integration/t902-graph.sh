#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# t902: magicpak graph draws what deps resolves (every object a node, every DT_NEEDED an edge
# labelled with how it was found, a missing library red), a script's interpreter, a recorded
# session (its executables, their libraries, the files it opened), and SVG through Graphviz.
. "$(dirname "$0")/../lib.sh"

# labels DOT: the node labels, one a line, sorted.
labels() { printf '%s\n' "$1" | sed -n 's/^\tn[0-9]* \[label="\([^"]*\)".*/\1/p' | LC_ALL=C sort -u; }
# edge DOT FROM TO: the label of the edge between the nodes labelled FROM and TO.
edge() {
	printf '%s\n' "$1" | F=$2 T=$3 awk '
	match($0, /^\tn[0-9]+ \[label="/) { l = substr($0, RLENGTH + 1); sub(/".*/, "", l); id[l] = $1 }
	$2 == "->" && $1 == id[ENVIRON["F"]] && $3 == id[ENVIRON["T"]] { s = $0; sub(/.*label="/, "", s); sub(/".*/, "", s); print s }'
}

run_tool graph /usr/bin/sqlite3
assert_rc "graph FILE exits 0" 0
dot_out=$out
check "it is a DOT digraph" sh -c 'printf "%s\n" "$1" | head -n 1 | grep -qx "digraph magicpak {"' sh "$dot_out"
assert_eq "one node per object deps prints" "$(labels "$dot_out")" "$("$TOOL" deps /usr/bin/sqlite3 | LC_ALL=C sort -u)"
libsq=$("$TOOL" deps /usr/bin/sqlite3 | grep '/libsqlite3\.so')
assert_eq "the edge to libsqlite3 says how it was found" "$(edge "$dot_out" /usr/bin/sqlite3 "$libsq")" \
	"$("$TOOL" deps --tree /usr/bin/sqlite3 | sed -n 's/^    libsqlite3.so.0 => [^ ]* \[\(.*\)\]$/\1/p')"
needed=$(objdump -p /usr/bin/sqlite3 2>/dev/null | grep -c NEEDED)
assert_eq "one edge per DT_NEEDED of the program" \
	"$(printf '%s\n' "$dot_out" | grep -c "^	$(printf '%s\n' "$dot_out" | sed -n 's/^\t\(n[0-9]*\) \[label="\/usr\/bin\/sqlite3".*/\1/p') -> ")" "$needed"
check "the program is a box, libraries are ellipses" sh -c \
	'printf "%s\n" "$1" | grep -q "label=\"/usr/bin/sqlite3\", shape=box" && printf "%s\n" "$1" | grep -q "libsqlite3.so.0\", shape=ellipse"' sh "$dot_out"

# A script: its interpreter hangs off it.
printf '#!/bin/sh\necho hi\n' >"$tmp/hello.sh" && chmod +x "$tmp/hello.sh"
run_tool graph "$tmp/hello.sh"
assert_rc "graph SCRIPT exits 0" 0
assert_eq "the script's #! edge" "$(edge "$out" "$tmp/hello.sh" /bin/sh)" "#!"

# A missing library: drawn red, logged, exit 1 (as deps).
if command -v cc >/dev/null; then
	echo 'int foo(void) { return 1; }' >"$tmp/foo.c"
	echo 'int foo(void); int main(void) { return foo(); }' >"$tmp/main.c"
	cc_quiet -shared -fPIC -o "$tmp/libfoo.so" "$tmp/foo.c" && cc_quiet -o "$tmp/main" "$tmp/main.c" -L"$tmp" -lfoo
	rm -f "$tmp/libfoo.so"
	run_tool graph "$tmp/main"
	assert_rc "a missing library: exit 1" 1
	assert_eq "it is a red node reached by a 'not found' edge" "$(edge "$out" "$tmp/main" libfoo.so)" "not found"
	check "the missing node is red" sh -c 'printf "%s\n" "$1" | grep -q "label=\"libfoo.so\", shape=octagon, color=red"' sh "$out"
	check "the miss is logged" grep -q libfoo.so "$err"
fi

# Usage errors.
run_tool graph --format png /bin/true
assert_rc "--format png is a usage error" 2
run_tool graph --session last /bin/true
assert_rc "--session and FILE together is a usage error" 2

# A recorded session: the command, its executables, their libraries, the files it read.
if "$TOOL" record --db "$tmp/.probe.db" -- /bin/true >/dev/null 2>&1; then
	echo data >"$tmp/data.txt"
	"$TOOL" record --db "$tmp/g.db" --label catting -- /bin/cat "$tmp/data.txt" >/dev/null 2>&1
	run_tool graph --db "$tmp/g.db" --session catting
	assert_rc "graph --session exits 0" 0
	s=$(labels "$out" | grep '^session ')
	assert_contains "the session node names the session" "$s" "session 1: catting"
	cat_exe=$(labels "$out" | grep -E '/cat$' | head -n 1)
	assert_eq "the session exec'd cat" "$(edge "$out" "$s" "$cat_exe")" "exec"
	assert_eq "cat's libc edge" "$(edge "$out" "$cat_exe" /lib/x86_64-linux-gnu/libc.so.6)" "ld.so.cache"
	assert_eq "the session opened the data file" "$(edge "$out" "$s" "$tmp/data.txt")" "open"
	check "the data file is a note" sh -c 'printf "%s\n" "$1" | grep -q "data.txt\", shape=note"' sh "$out"
	run_tool graph --db "$tmp/g.db"
	assert_rc "the last session by default" 0
	run_tool graph --db "$tmp/g.db" --session nosuch
	assert_rc "an unknown session: exit 1" 1
	run_tool graph --db "$tmp/none.db"
	assert_rc "a missing database: exit 1" 1
else
	echo "note: record does not work here; session graphs not checked"
fi

# SVG through Graphviz, and a clear error without it.
if command -v dot >/dev/null; then
	check "dot accepts the DOT" sh -c 'printf "%s\n" "$1" | dot -Tcanon >/dev/null' sh "$dot_out"
	run_tool graph --format svg /usr/bin/sqlite3
	assert_rc "--format svg exits 0" 0
	assert_contains "it is SVG" "$out" "<svg"
	assert_contains "with the library in it" "$out" "libsqlite3.so.0"
else
	echo "note: Graphviz's dot is not installed; SVG rendering not checked"
fi
out=$(PATH=/nonexistent "$TOOL" graph --format svg /bin/true 2>"$err"); rc=$?
assert_rc "--format svg without dot: exit 1" 1
assert_one_error_line "one line saying dot is needed" "$err" "graphviz"
done_testing
