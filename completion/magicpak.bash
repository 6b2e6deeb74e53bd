# SPDX-License-Identifier: MIT
# completion/magicpak.bash - bash completion for magicpak: subcommands, and each command's
# options as its own -h lists them (asked from the magicpak being completed, so they always
# agree), with values for the options that take a fixed set and files for the rest.

# _magicpak_opts PROG CMD: the long and short options 'PROG help CMD' (or 'PROG --help') lists.
_magicpak_opts()
{
	local text
	if [ -n "$2" ]; then text=$("$1" help "$2" 2>/dev/null); else text=$("$1" --help 2>/dev/null); fi
	printf '%s\n' "$text" | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ ,]//' | sort -u
}

_magicpak()
{
	local cur prev prog cmd i w
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	prog=${COMP_WORDS[0]}
	command -v "$prog" >/dev/null 2>&1 || prog=magicpak

	# The subcommand: the first word that is not a global option (or its value).
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--log-level) i=$((i + 1)) ;;
		-*) ;;
		*) cmd=$w; break ;;
		esac
	done

	case $prev in
	--log-level)
		mapfile -t COMPREPLY < <(compgen -W "Off Error Warn Info Debug" -- "$cur"); return ;;
	--via)
		mapfile -t COMPREPLY < <(compgen -W "ptrace preload bpf" -- "$cur"); return ;;
	--isolation)
		mapfile -t COMPREPLY < <(compgen -W "auto namespaces chroot" -- "$cur"); return ;;
	--format)
		mapfile -t COMPREPLY < <(compgen -W "dot svg" -- "$cur"); return ;;
	-s | --session)
		mapfile -t COMPREPLY < <(compgen -W "last" -- "$cur"); return ;;
	--tag | --label | -l | --entrypoint | --cmd | --env | --user | --expose | --since | \
	--test-command | --test-stdin | --test-stdout | --stdin | --expect-stdout | --dynamic-arg | \
	--dynamic-stdin | --upx-arg | -T | --timeout | --test-timeout | --linger)
		return ;;
	esac

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "-v -q --log-level $(_magicpak_opts "$prog" "")" -- "$cur")
		else
			local cmds
			cmds=$("$prog" help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
			[ -n "$cmds" ] || cmds="deps record collect test bundle graph sessions report diff merge forget vacuum"
			mapfile -t COMPREPLY < <(compgen -W "help $cmds" -- "$cur")
			mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
		fi
		return
	fi
	if [ "$cmd" = help ]; then
		mapfile -t COMPREPLY < <(compgen -W "$("$prog" help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')" -- "$cur")
		return
	fi
	if [[ $cur == -* ]]; then
		if "$prog" help "$cmd" >/dev/null 2>&1; then
			mapfile -t COMPREPLY < <(compgen -W "$(_magicpak_opts "$prog" "$cmd")" -- "$cur")
		else
			# Not a command: the original command line, whose INPUTs come first.
			mapfile -t COMPREPLY < <(compgen -W "$(_magicpak_opts "$prog" "")" -- "$cur")
		fi
		return
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -o bashdefault -F _magicpak magicpak
