#!/bin/sh
# Greet every name read on stdin; only shell built-ins, so the bundle is dash and its libc.
while read -r name || [ -n "$name" ]; do
	[ -n "$name" ] && printf 'hello, %s\n' "$name"
done
