#!/bin/sh
# Resolve a name through NSS (nsswitch.conf, then /etc/hosts) and convert text with iconv
# (gconv-modules, then the ISO8859-1 module): glibc loads all of these at run time.
set -e
getent hosts localhost
printf 'caf\303\251\n' | iconv -f utf-8 -t latin1 | iconv -f latin1 -t utf-8
