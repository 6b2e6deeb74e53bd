#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/git/run.sh - git init, commit and log: each run recorded (magicpak record), one bundle
# from the union of the three sessions (magicpak bundle), then the three commands again in the
# jail, one after the other in the jail's /tmp, with a shell lent by busybox.
. "$(dirname "$0")/../common.sh"
git=(git -c user.name=ex -c user.email=ex@example.org -c init.defaultBranch=main)
script='cd /tmp && git -c init.defaultBranch=main init -q r && cd r &&
git -c user.name=ex -c user.email=ex@example.org commit -q --allow-empty -m hello && git log --format=%s'

say "record init, commit and log on the host"
mkdir repo && cd repo
mp record --db "$work/git.db" --label init -- "${git[@]}" init -q .
mp record --db "$work/git.db" --label commit -- "${git[@]}" commit -q --allow-empty -m hello
mp record --db "$work/git.db" --label log -- "${git[@]}" log --format=%s
cd "$work"
mp sessions --db git.db

say "bundle the union of the three sessions (not the host's repository), test it, write the image"
mp bundle --db git.db -s init -s commit -s log -e "$work/**" bundle \
	--test --test-command "$script" --test-stdout hello \
	--oci-archive git.tar --tag "$tag" --entrypoint /usr/bin/git || { rc=$?; jail_or_skip $rc; exit 1; }
mp test bundle --busybox busybox --expect-stdout hello -- sh -c "$script"
if have_podman; then
	podman_load git.tar
	# The image has no shell: one git command per container, each with a fresh /tmp.
	got=$(podman_run "$image" --version)
	echo "podman run: $got"
	case $got in "git version "*) ;; *) exit 1 ;; esac
fi
sizes bundle git.tar
