#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/python/run.sh - a '#!/usr/bin/python3' script that imports json, sqlite3 and ssl and
# reads stdin. Their extension modules (_json, _sqlite3, _ssl) are dlopen'd, invisible to ld.so
# resolution: without --dynamic the test fails and names them; with it, they are bundled.
. "$(dirname "$0")/../common.sh"
input=$(printf 'a,1\nb,41')
want='{"rows": 2, "sum": 42, "tls13": true, "verify": true}'
mkdir -p app && cp "$EXAMPLE_DIR/report.py" app/report.py

say "library-only bundling misses the dlopen'd modules (this test is expected to fail)"
if mp "$work/app/report.py" --install-to /app/report.py without --test \
	--test-stdin "$input" --test-stdout "$want" 2>without.err; then
	echo "the bundle without --dynamic passed: the example no longer shows the failure"; exit 1
else
	rc=$?; jail_or_skip $rc; tail -n 1 without.err; [ "$rc" = 1 ] || exit 1
fi

say "--dynamic: run the script once, recorded, and bundle everything it used"
mp "$work/app/report.py" --install-to /app/report.py bundle --dynamic --dynamic-stdin "$input" \
	-e "$work/**" --test --test-stdin "$input" --test-stdout "$want" \
	--oci-archive python.tar --tag "$tag" --entrypoint /app/report.py ||
	{ rc=$?; jail_or_skip $rc; exit 1; }
mp test bundle --stdin "$input" --expect-stdout "$want" -- /app/report.py
echo
if have_podman; then
	podman_load python.tar
	got=$(printf '%s\n' "$input" | podman_run -i "$image")
	[ "$got" = "$want" ] || { echo "podman run printed '$got'"; exit 1; }
	echo "podman run: $got"
fi
sizes bundle python.tar
