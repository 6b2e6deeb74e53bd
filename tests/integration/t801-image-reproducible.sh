#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases: BND-14.
# Reproducible archives: the same bundle built twice, in different directories, at different
# times, with other file mtimes, another umask and locale, gives byte-identical archives when the
# SOURCE_DATE_EPOCH is the same (unset = 0); another epoch gives another archive, with that mtime.
. "$(dirname "$0")/../lib.sh"
require_python3

mkdir -p data/sub && printf 'one\n' >data/sub/f && printf 'two\n' >data/g && ln -s sub/f data/link
mkdir a b c d
touch -d '2001-01-01 00:00' data/g data/sub/f
(cd a && unset SOURCE_DATE_EPOCH && umask 022 && LC_ALL=C "$TOOL" /usr/bin/sqlite3 -i "$tmp/data" \
	--oci-archive img.tar --docker-archive dock.tar --tag r:1 --entrypoint /usr/bin/sqlite3 --env 'X=a"b') 2>err.a
check "first build (SOURCE_DATE_EPOCH unset): exit 0" test -s a/img.tar
sleep 1.2
touch data/g data/sub/f
(cd b && SOURCE_DATE_EPOCH=0 && export SOURCE_DATE_EPOCH && umask 077 && LANG=C.UTF-8 LC_ALL=C.UTF-8 \
	"$TOOL" /usr/bin/sqlite3 -i "$tmp/data" --oci-archive "$tmp/b/img.tar" --docker-archive dock.tar --tag r:1 \
	--entrypoint /usr/bin/sqlite3 --env 'X=a"b') 2>err.b
check "second build (SOURCE_DATE_EPOCH=0, other dir, later, other mtimes, umask, locale): exit 0" test -s b/img.tar
assert_eq "OCI archives byte-identical (sha256)" "$(sha256sum <b/img.tar)" "$(sha256sum <a/img.tar)"
assert_eq "docker archives byte-identical (sha256)" "$(sha256sum <b/dock.tar)" "$(sha256sum <a/dock.tar)"
assert_eq "same manifest digest" "$(tar -xOf b/img.tar index.json)" "$(tar -xOf a/img.tar index.json)"

(cd c && SOURCE_DATE_EPOCH=1700000000 "$TOOL" /usr/bin/sqlite3 -i "$tmp/data" --oci-archive img.tar --tag r:1 \
	--entrypoint /usr/bin/sqlite3 --env 'X=a"b') 2>err.c
sleep 1.1
(cd d && SOURCE_DATE_EPOCH=1700000000 "$TOOL" /usr/bin/sqlite3 -i "$tmp/data" --oci-archive img.tar --tag r:1 \
	--entrypoint /usr/bin/sqlite3 --env 'X=a"b') 2>err.d
assert_eq "SOURCE_DATE_EPOCH=1700000000 twice: byte-identical" "$(sha256sum <d/img.tar)" "$(sha256sum <c/img.tar)"
check "another epoch: another archive" test "$(sha256sum <c/img.tar)" != "$(sha256sum <a/img.tar)"
assert_eq "epoch 0: layer entries 0:0, no owner names, mtime 0, parents first" "$(ocicheck layer-check a/img.tar 0)" ok
assert_eq "epoch 1700000000: every layer mtime is the epoch" "$(ocicheck layer-check c/img.tar 1700000000)" ok
assert_eq "epoch 1700000000: created" "$(cfg c/img.tar 'c["created"]')" "2023-11-14T22:13:20Z"
check "epoch 1700000000: the outer members too" test -z "$(tar --full-time -tvf c/img.tar | grep -v ' 2023-11-14 22:13:20 ')"
SOURCE_DATE_EPOCH=yesterday run_tool /bin/true --oci-archive bad.tar
assert_rc "SOURCE_DATE_EPOCH=yesterday: usage error" 2
assert_one_error_line "SOURCE_DATE_EPOCH=yesterday: one line naming it" "$err" SOURCE_DATE_EPOCH
done_testing
