#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reliability cases also covered here: BPF-05, TRC-10.
# record --via bpf: the probe alone records a small shell pipeline like ptrace does (same
# op|path|errno rows for open/exec/stat/access), the first event is the command's exec
# (BPF-08), relative paths are resolved against the cwd (chdir followed in the events) and a
# dirfd, the session is complete with source bpf and its processes and exit statuses; rows
# are written while the command runs, and the kernel's folded repeats join them at the end.
# The thread that reads the probe is named magicpak-side (top -H, perf --comm).
. "$(dirname "$0")/../lib.sh"
require_sqlite3
require_cc
require_ptrace
require_bpf

mkdir -p "$tmp/d/sub"; echo hi >"$tmp/d/sub/rel.txt"
cmd=(sh -c 'cd "$1" && cat sub/rel.txt >/dev/null && cd sub && cat ./rel.txt ../sub/rel.txt >/dev/null; exit 3' sh "$tmp/d")
db=$tmp/b.db
record_rc "$db" --via bpf -- "${cmd[@]}"
assert_rc "record --via bpf exits with the command's status" 3
assert_eq "one session, complete, source bpf" "$(sql "$db" 'select count(*), complete, source from sessions')" "1|1|bpf"
assert_eq "foreign keys hold (the recording connection does not check them)" \
	"$(sql "$db" 'PRAGMA foreign_key_check')|$(sql "$db" 'select count(*) > 0 from session_paths')" "|1"
assert_eq "the first access is the command's exec (BPF-08)" \
	"$(sql "$db" "select op || '|' || errno from file_accesses where path = '/usr/bin/sh' or path = '/bin/sh' order by time limit 1")" "exec|0"
rows=$(brows "$db" bpf)
has_row "a relative path after cd is resolved" "$rows" "open|$tmp/d/sub/rel.txt|0"
lacks_row "no raw relative path is stored" "$rows" "open|sub/rel.txt|0"
check "no empty or relative path at all" test -z "$(sql "$db" "select path from file_accesses where path not like '/%'")"
assert_eq "processes: sh and its cats, with exit statuses" \
	"$(sql "$db" "select count(*) from processes where executable like '%/cat'")|$(sql "$db" "select exit_status from processes where parent_pid is null")" "2|3"
# the same run under ptrace: the probe sees the same open/exec/stat/access rows
pdb=$tmp/p.db
record_rc "$pdb" -- "${cmd[@]}"
f() { grep -E '^(open|exec|stat|access)\|' | grep -v '^exec|/' ; }
filt() { grep -E '^(open|exec|stat|access)\|'; }
assert_eq "ptrace and bpf agree on every open/exec/stat/access row" \
	"$(LC_ALL=C comm -3 <(brows "$pdb" ptrace | filt) <(brows "$db" bpf | filt))" ""
# openat with a dirfd: `find` walks with openat(dirfd, name)
record_rc "$db" --via bpf -- find "$tmp/d" -name nothing
assert_rc "find under --via bpf" 0
check "find's dirfd-relative opens are absolute" test -z "$(sql "$db" "select path from file_accesses where path not like '/%'")"
# repeats folded in the kernel keep their count: 500 opens and 300 failed stats, as ptrace counts
bpf_fixture repeat
counts() { sql "$1" "select op || '|' || errno || '|' || sum(count) from file_accesses where session_id = (select max(id) from sessions)
	and path in ('/etc/hostname', '/etc/magicpak-t700.missing') group by op, errno order by op"; }
run_tool -v record --db "$db" --via bpf -- "$tmp/repeat" 500 300 /etc/magicpak-t700.missing
assert_eq "folded in the kernel: the counts are the calls made" "$(counts "$db")" "$(printf 'open|0|500\nstat|2|300')"
folded=$(sed -n 's/.*bpf probe: [0-9]* records, \([0-9]*\) repeats folded.*/\1/p' "$err")
check "-v tells the repeats folded in the kernel: at least 499 + 299 (${folded:-none})" \
	test "${folded:-0}" -ge 798
record_rc "$pdb" -- "$tmp/repeat" 500 300 /etc/magicpak-t700.missing
assert_eq "the same counts as ptrace" "$(counts "$pdb")" "$(printf 'open|0|500\nstat|2|300')"
# rows are written while the command runs: the first open is in the file during a pause,
# and the kernel's count of its repeats afterwards lands on that same row
cat >"$tmp/pause.c" <<'CEOF'
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
	close(open("/etc/hostname", O_RDONLY));
	usleep(2000000);
	for (int i = 0; i < 499; i++)
		close(open("/etc/hostname", O_RDONLY));
	return 0;
}
CEOF
cc_quiet -O0 -o "$tmp/pause" "$tmp/pause.c" || { echo "FAIL: cannot build pause.c"; exit 1; }
ldb=$tmp/l.db
record_rc "$ldb" --via bpf -- /bin/true
"$TOOL" record --db "$ldb" --via bpf --label live -- "$tmp/pause" >/dev/null 2>"$tmp/live.err" &
pid=$!
live() { [ -n "$(sql "$ldb" "select 1 from file_accesses f join sessions s on s.id = f.session_id where s.label = 'live' and f.path = '/etc/hostname'")" ]; }
wait_for 5 live
assert_eq "during the pause, the first open is in the file (session still incomplete)" \
	"$(sql "$ldb" "select s.complete || '|' || f.count from file_accesses f join sessions s on s.id = f.session_id where s.label = 'live' and f.path = '/etc/hostname'")" "0|1"
wait "$pid"; rc=$?
assert_eq "the record completes" "$rc" 0
assert_eq "at the end, one row for the 500 opens (499 folded in the kernel, added to it)" \
	"$(sql "$ldb" "select count(*) || '|' || sum(f.count) from file_accesses f join sessions s on s.id = f.session_id where s.label = 'live' and f.path = '/etc/hostname' and f.op = 'open'")" "1|500"
assert_eq "its per-path summary counts the 500 too (session_paths, as the view computes it)" \
	"$(sql "$ldb" "select sp.count || '|' || v.count from session_paths sp join paths p on p.id = sp.path_id join sessions s on s.id = sp.session_id
		join session_path_summary v on v.session_id = sp.session_id and v.path_id = sp.path_id where s.label = 'live' and p.path = '/etc/hostname'")" "500|500"
assert_eq "and the session's event count agrees with its rows" \
	"$(sql "$ldb" "select events = (select sum(count) from file_accesses where session_id = s.id) from sessions s where label = 'live'")" 1

# after a cd through a symlinked directory, '..' is the parent of where the kernel went, as
# ptrace and preload (getcwd) see it: the file really read, not the one beside the link
mkdir -p "$tmp/sl/real/sub" "$tmp/sl/logical"; echo REAL >"$tmp/sl/real/x"; echo LOGICAL >"$tmp/sl/logical/x"
ln -s ../real/sub "$tmp/sl/logical/link"; echo Y >"$tmp/sl/real/sub/y"
record_rc "$tmp/sl.db" --via bpf -- sh -c 'cd "$1/logical/link" && cat ../x y >/dev/null' sh "$tmp/sl"
assert_rc "record --via bpf of a cd through a symlink: exit 0" 0
rows=$(brows "$tmp/sl.db" bpf)
has_row "'../x' after it is the x beside the link's target" "$rows" "open|$tmp/sl/real/x|0"
lacks_row "not the x beside the link, never opened" "$rows" "open|$tmp/sl/logical/x|0"
has_row "'y' is in the link's target" "$rows" "open|$tmp/sl/real/sub/y|0"

# each process's argv as the kernel laid it out for the program (a script's is its
# interpreter's, as preload records it), empty and spaced arguments kept, a long one cut at
# MP_BPF_ARGS_MAX with its last string ended
printf '#!/bin/sh\nexit 0\n' >"$tmp/scr.sh"; chmod +x "$tmp/scr.sh"
record_rc "$tmp/a.db" --via bpf -- sh -c '/bin/echo "a b" "" c >/dev/null; "$1" x; /bin/true "$(printf "%6000s" "" | tr " " x)"' sh "$tmp/scr.sh"
assert_rc "record --via bpf of echo, a script and a long argument: exit 0" 0
args=$(sql "$tmp/a.db" "select argv from processes where executable != '/bin/true' order by id")
has_row "the shell's argv" "$args" "[\"sh\",\"-c\",\"/bin/echo \\\"a b\\\" \\\"\\\" c >/dev/null; \\\"\$1\\\" x; /bin/true \\\"\$(printf \\\"%6000s\\\" \\\"\\\" | tr \\\" \\\" x)\\\"\",\"sh\",\"$tmp/scr.sh\"]"
has_row "echo's, with its empty argument" "$args" '["/bin/echo","a b","","c"]'
has_row "the script's, its interpreter's" "$args" "[\"/bin/sh\",\"$tmp/scr.sh\",\"x\"]"
assert_eq "true's 6,000-byte argument, cut to the probe's 4 KiB" \
	"$(sql "$tmp/a.db" "select json_array_length(argv) || '|' || json_extract(argv, '\$[0]') || '|' || (length(json_extract(argv, '\$[1]')) between 4000 and 4096) from processes where executable = '/bin/true'")" "2|/bin/true|1"

# the thread reading the probe has its own name, as the command (magicpak's child) sees it;
# it is started once the command has exec'd, so the command looks for up to 2 s
record_rc "$tmp/n.db" --via bpf -- sh -c 'for i in $(seq 200); do cat /proc/$PPID/task/*/comm > "$1"; grep -q magicpak-side "$1" && break; sleep 0.01; done' sh "$tmp/threads"
assert_rc "record --via bpf of a command listing magicpak's threads: exit 0" 0
has_row "one is magicpak-side, reading the probe" "$(cat "$tmp/threads")" magicpak-side
done_testing
