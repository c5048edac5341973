#!/bin/sh
# Makes mlctl(1) from man/mlctl.1.in: the line holding only @EXIT_STATUS@
# becomes the output of `mlctl help exit-codes --roff`, so the EXIT STATUS
# section comes from the one list in the code (ML_EXIT_LIST in
# core/exitcode.h). The generated man/mlctl.1 is committed too, so a tarball
# has it without a build.
#
#   scripts/gen-man.sh MLCTL IN    print the page made from IN with the
#                                  binary MLCTL (the Makefile's rule)
#   scripts/gen-man.sh             write man/mlctl.1 with bin/mlctl
#   scripts/gen-man.sh --check     exit 1 when man/mlctl.1 is out of date
set -eu
root=$(dirname "$0")/..

usage() {
    echo "usage: scripts/gen-man.sh [MLCTL IN | --check]" >&2
    exit 2
}

# gen MLCTL IN: the page on stdout
gen() {
    if [ "$(grep -cx '@EXIT_STATUS@' "$2")" != 1 ]; then
        echo "gen-man: $2 must hold the line @EXIT_STATUS@ exactly once" >&2
        exit 1
    fi
    body=$(mktemp "${TMPDIR:-/tmp}/gen-man.XXXXXX")
    if ! "$1" help exit-codes --roff >"$body" || [ ! -s "$body" ]; then
        rm -f "$body"
        echo "gen-man: '$1 help exit-codes --roff' failed" >&2
        exit 1
    fi
    awk -v body="$body" '
        $0 == "@EXIT_STATUS@" { while ((getline l < body) > 0) print l; next }
        { print }
    ' "$2"
    rm -f "$body"
}

case $# in
2)  gen "$1" "$2" ;;
0|1)
    [ $# = 0 ] || [ "$1" = --check ] || usage
    tmp=$(mktemp "${TMPDIR:-/tmp}/gen-man.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    gen "${MLCTL:-$root/bin/mlctl}" "$root/man/mlctl.1.in" >"$tmp"
    if cmp -s "$tmp" "$root/man/mlctl.1"; then
        [ $# = 1 ] || touch "$root/man/mlctl.1"
    elif [ $# = 1 ]; then
        echo "gen-man: man/mlctl.1 is out of date: run scripts/gen-man.sh" >&2
        exit 1
    else
        cp "$tmp" "$root/man/mlctl.1"
        echo "gen-man: wrote man/mlctl.1" >&2
    fi
    ;;
*)  usage ;;
esac
