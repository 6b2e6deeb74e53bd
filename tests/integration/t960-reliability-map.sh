#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 9: every case of the reliability plan (RELIABILITY.md, sections A-H) is in the map
# tests/reliability/map-*.tsv exactly once, with the tests that assert it (each one exists and
# names the case in its header) or, for a case that cannot run here, the reason, which the
# README's reliability section repeats.
. "$(dirname "$0")/../lib.sh"
maps=("$TESTS_DIR"/reliability/map-*.tsv)
readme=$TESTS_DIR/../README.md
ids() { local i; for i in $(seq 1 "$2"); do printf "%s-%02d\n" "$1" "$i"; done; }
want=$( { ids ELF 11; ids LIB 11; ids TRC 12; ids PRE 10; ids BPF 8; ids SQL 10; ids BND 14; ids ISO 11; } | LC_ALL=C sort)
# A copy of the plan next to the project, when there is one, must not have more cases.
for plan in "$TESTS_DIR/../../shared/RELIABILITY.md" "${RELIABILITY_MD:-}"; do
	[ -f "$plan" ] || continue
	assert_eq "the plan's cases are the ones this test knows" \
		"$(grep -oE '^### [A-Z]{3}-[0-9]{2}' "$plan" | cut -c5- | LC_ALL=C sort -u)" "$want"
done
got=$(cut -f1 "${maps[@]}" | grep -v '^$' | LC_ALL=C sort)
assert_eq "every case is mapped exactly once" "$got" "$want"

missing="" unnamed="" noreason="" notinreadme=""
while IFS=$'\t' read -r id tests note; do
	[ -n "$id" ] || continue
	if [ "$tests" = "-" ]; then
		case $note in
		"cannot run:"*) grep -q "$id" "$readme" || notinreadme+=" $id" ;;
		"n/a:"*) ;;
		*) noreason+=" $id" ;;
		esac
		continue
	fi
	for t in $tests; do
		case $t in
		t[0-9]*) f=$TESTS_DIR/integration/$t ;;
		*) f=$TESTS_DIR/$t ;;
		esac
		if [ ! -f "$f" ]; then missing+=" $id:$t"; continue; fi
		# the case is named in the test's opening comment (its first 25 lines)
		head -n 25 "$f" | grep -q "$id" || unnamed+=" $id:$t"
	done
done < <(cat "${maps[@]}")
assert_eq "every test a case names exists" "$missing" ""
assert_eq "every test a case names says so in its header" "$unnamed" ""
assert_eq "a case without a test says why (cannot run: / n/a:)" "$noreason" ""
assert_eq "the README lists each case that cannot run here" "$notinreadme" ""
done_testing
