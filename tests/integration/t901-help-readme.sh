#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# t901: every command's -h and the README agree: the long options -h lists for a command are
# exactly those its README section names (the '### `magicpak CMD ...`' section up to the next
# '### '). The one-shot form's section is followed by "Images without a container daemon";
# bundle's README says it "takes every bundling, test and image option of the one-shot form
# except --install-to", and forget and vacuum share one section. Every command 'magicpak help'
# lists has 'magicpak help CMD' (exit 0) equal to 'magicpak CMD -h'. -v, -q and --log-level
# are documented once, as global options, in the README's "Command line" section.
. "$(dirname "$0")/../lib.sh"
readme=$TESTS_DIR/../README.md

# help_opts TEXT: the long options on the option lines of a help text, sorted.
help_opts() { printf '%s\n' "$1" | grep -E '^ +-' | grep -oE -- '--[a-z][a-z0-9-]*' | LC_ALL=C sort -u; }
# readme_opts HEADING-REGEX...: the long options named in the README sections whose '### '
# heading matches one of the extended regexes (each section ends at the next '##' heading).
readme_opts() {
	local re
	for re in "$@"; do
		# Only where the README lists options: the heading, tables, bullets, and synopsis
		# lines in code blocks (not examples of other tools, such as podman's flags).
		# (the regex through the environment: awk -v processes escapes, and gawk turns
		# "\[" into "[", a bracket expression)
		RE=$re awk '
		BEGIN { re = ENVIRON["RE"] }
		/^##/ { on = ($0 ~ re); code = 0 }
		!on { next }
		/^```/ { code = !code; syn = 0; next }
		code { if ($0 ~ /^magicpak / || (syn && $0 ~ /^ +[[-]/)) { print; syn = 1 } else syn = 0; next }
		/^(\||- |###)/' "$readme"
	done | grep -oE -- '--[a-z][a-z0-9-]*' | LC_ALL=C sort -u
}
# compare NAME HELP-OPTS README-OPTS: both lists equal, the difference shown otherwise.
compare() {
	t_n=$((t_n + 1))
	if [ "$2" = "$3" ]; then pass "$1: -h and README list the same options"; else
		fail "$1: -h and README differ (- only in -h, + only in the README):"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed -n 's/^</    -/p; s/^>/    +/p'
	fi
}

# Commands whose README section is still to be written (then this list shrinks; a command
# listed here that has a section is compared like the others).
readme_pending=""
cmds=$("$TOOL" help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
check "magicpak help lists commands" test -n "$cmds"
for c in $cmds; do
	run_tool help "$c"
	assert_rc "magicpak help $c exits 0" 0
	h=$out
	run_tool "$c" -h
	assert_eq "magicpak help $c is magicpak $c -h" "$out" "$h"
	check "magicpak help $c starts with its usage line" sh -c 'printf "%s\n" "$1" | head -n 1 | grep -q "^usage: magicpak $2"' sh "$h" "$c"
	hopts=$(help_opts "$h" | grep -vx -- '--help')
	if ! grep -q "^### \`magicpak $c[ \`]" "$readme"; then
		case " $readme_pending " in
		*" $c "*) echo "note: README has no section for magicpak $c yet; not compared"; continue ;;
		esac
	fi
	case $c in
	bundle)
		# "every bundling, test and image option of the one-shot form except --install-to"
		ropts=$( { readme_opts '^### `magicpak bundle ' '^### `magicpak \[OPTIONS\]' '^### Images without'
			printf '%s\n' --verbose --quiet --log-level; } |
			grep -vxE -- '--(install-to|dynamic|dynamic-arg|dynamic-stdin|version|help|cc|experimental-noload-resolver)' |
			LC_ALL=C sort -u) ;;
	forget | vacuum) ropts=$(readme_opts "^### \`magicpak forget " | grep -vx -- '--help') ;;
	*) ropts=$(readme_opts "^### \`magicpak $c[ \`]" | grep -vx -- '--help') ;;
	esac
	case $c in forget | vacuum)
		# One section for both: each command's options must be among the section's.
		t_n=$((t_n + 1))
		if [ -z "$(comm -23 <(printf '%s\n' "$hopts") <(printf '%s\n' "$ropts"))" ]; then
			pass "$c: every -h option is in the README"; else fail "$c: -h options missing from the README: $(comm -23 <(printf '%s\n' "$hopts") <(printf '%s\n' "$ropts") | tr '\n' ' ')"; fi
		continue ;;
	esac
	compare "$c" "$hopts" "$ropts"
done

# The one-shot form: magicpak --help against its section and the image section.
run_tool --help
assert_rc "magicpak --help exits 0" 0
compare "magicpak [OPTIONS] INPUT... OUTPUT" "$(help_opts "$out" | grep -vx -- '--help')" \
	"$( { readme_opts '^### `magicpak \[OPTIONS\]' '^### Images without'; printf '%s\n' --verbose --quiet --log-level; } |
		grep -vx -- '--help' | LC_ALL=C sort -u)"

# A mistyped command is told as one, not as a one-shot INPUT without its OUTPUT.
run_tool sesions
assert_rc "magicpak sesions: usage error" 2
assert_one_error_line "magicpak sesions: one line saying it is not a command" "$err" "'sesions' is not a magicpak command"
(cd "$tmp" && : >lone && "$TOOL" lone >/dev/null 2>"$tmp/lone.err"); rc=$?
assert_eq "an existing file alone is still the one-shot form: missing OUTPUT (exit $rc)" \
	"$rc:$(grep -c 'missing OUTPUT' "$tmp/lone.err")" "2:1"
done_testing
