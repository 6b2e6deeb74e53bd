#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Corrupt program headers and PT_INTERP (ELF-03, ELF-06), made by patching copies of /bin/true:
# each is one "magicpak: " error line naming the file, exit 1, fast, no crash, never "static".
. "$(dirname "$0")/../lib.sh"
TOOL_TIMEOUT=10
TOOL_ULIMIT_V=262144   # E-IN: memory stays below ulimit -v 262144
patch() { python3 "$TESTS_DIR/fixtures/elfpatch.py" "$@"; }
mk() { cp /bin/true "$1" && shift_name=$1 && shift && patch "$shift_name" "$@"; }

mk ph_past_eof ehdr e_phoff 0x7fffffff00
patch ph_past_eof ehdr e_phnum 0xffff
patch ph_past_eof ehdr e_phentsize 7
assert_bad_input "phdrs past EOF (e_phoff huge, e_phnum 0xffff, e_phentsize 7)" "$tmp/ph_past_eof" "program header|phdr|truncated|corrupt|malformed|invalid"
mk ph_xnum ehdr e_phnum 0xffff
patch ph_xnum shdr0 sh_info 0
assert_bad_input "e_phnum PN_XNUM with section 0 sh_info 0" "$tmp/ph_xnum" "program header|phdr|corrupt|malformed|invalid"
mk ph_wrap ehdr e_phoff -16
assert_bad_input "e_phoff wraps (2**64-16)" "$tmp/ph_wrap" "program header|phdr|truncated|corrupt|malformed|invalid"
mk ph_ent0 ehdr e_phentsize 0
assert_bad_input "e_phentsize 0" "$tmp/ph_ent0" "program header|phdr|phentsize|corrupt|malformed|invalid"
mk ph_ent7 ehdr e_phentsize 7
assert_bad_input "e_phentsize 7" "$tmp/ph_ent7" "program header|phdr|phentsize|corrupt|malformed|invalid"
mk ph_60000 ehdr e_phnum 60000
assert_bad_input "e_phnum 60000 past EOF" "$tmp/ph_60000" "program header|phdr|truncated|corrupt|malformed|invalid"
mk ph_none ehdr e_phnum 0
assert_bad_input "ET_DYN with no program headers is malformed, not static" "$tmp/ph_none" "program header|phdr|malformed|corrupt|invalid"

ilen=$(LC_ALL=C readelf -lW /bin/true | awk '$1 == "INTERP" {print $5}')
mk interp_nonul phdr 3 p_filesz $((ilen - 1))
assert_bad_input "PT_INTERP without NUL" "$tmp/interp_nonul" "interp|PT_INTERP"
mk interp_huge phdr 3 p_filesz $((8 << 20))
assert_bad_input "PT_INTERP p_filesz 8 MiB" "$tmp/interp_huge" "interp|PT_INTERP"
mk interp_empty phdr 3 p_filesz 1
patch interp_empty phdr 3 p_offset 0x3f   # e_shstrndx high byte: a NUL
assert_bad_input "PT_INTERP empty string" "$tmp/interp_empty" "interp|PT_INTERP"
mk interp_two phdr 4 p_type 3
assert_bad_input "two PT_INTERP" "$tmp/interp_two" "interp|PT_INTERP"
done_testing
