#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# t903: `make install-doc` (part of `make install`) installs the man page, generated from the
# help texts, and the bash completion; `man -l` renders the page without warnings, with a
# section for every command; the completion offers the subcommands and each command's options.
. "$(dirname "$0")/../lib.sh"
require_tool man
root=$(cd "$TESTS_DIR/.." && pwd)
# Install from a build directory holding only $TOOL (-o: never rebuild it here).
mkdir -p "$tmp/b" && ln -s "$TOOL" "$tmp/b/magicpak"
make -s -C "$root" BUILD="$tmp/b" -o "$tmp/b/magicpak" DESTDIR="$tmp/dest" PREFIX=/usr install-doc >"$tmp/make.log" 2>&1
check "make install-doc succeeds" test $? = 0 || sed 's/^/    /' "$tmp/make.log"
page=$tmp/dest/usr/share/man/man1/magicpak.1
check "the man page is installed in PREFIX/share/man/man1" test -s "$page"
check "the completion is installed in PREFIX/share/bash-completion/completions" \
	test -s "$tmp/dest/usr/share/bash-completion/completions/magicpak"
check "make install includes install-doc" sh -c 'make -n -C "$1" install 2>/dev/null | grep -q "share/man/man1"' sh "$root"

rendered=$(MANWIDTH=80 man --warnings -l "$page" 2>"$tmp/man.err" | tr -s ' ')
check "man -l renders it" test -n "$rendered"
assert_eq "man -l gives no warnings" "$(cat "$tmp/man.err")" ""
has() { case $1 in *"$2"*) return 0 ;; *) return 1 ;; esac; }
check "NAME section" has "$rendered" "magicpak - bundle programs"
for c in $("$TOOL" help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
	check "a section for magicpak $c" has "$rendered" "
 magicpak $c
"
done
for o in --dynamic --oci-archive --test-stdout --library-path --via --expect-stdout --since; do
	check "the page describes $o" has "$rendered" "$o"
done
check "MANPATH finds it as 'man magicpak'" has \
	"$(MANPATH=$tmp/dest/usr/share/man MANWIDTH=80 man magicpak 2>/dev/null | tr -s ' ')" "magicpak - bundle programs"

# Completion, driven the way bash drives it.
comp() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _magicpak
		printf "%s\n" "${COMPREPLY[@]}"' sh "$tmp/dest/usr/share/bash-completion/completions/magicpak" "$@"
}
cd "$tmp/b" || exit 1
export PATH=$tmp/b:$PATH
assert_eq "magicpak de<TAB>" "$(comp magicpak de)" "deps"
assert_eq "magicpak help re<TAB>" "$(comp magicpak help re)" "$(printf 'record\nreport')"
assert_eq "magicpak deps --t<TAB>" "$(comp magicpak deps --t)" "--tree"
assert_eq "magicpak -v record --via <TAB>" "$(comp magicpak -v record --via '')" "$(printf 'ptrace\npreload\nbpf')"
assert_eq "magicpak test B --isolation <TAB>" "$(comp magicpak test B --isolation "")" "$(printf 'auto\nnamespaces\nchroot')"
assert_contains "magicpak --dyn<TAB>" "$(comp magicpak --dyn)" "--dynamic-stdin"
assert_contains "magicpak bundle --oci<TAB>" "$(comp magicpak bundle --oci)" "--oci-archive"
assert_eq "magicpak --log-level W<TAB>" "$(comp magicpak --log-level W)" "Warn"
done_testing
