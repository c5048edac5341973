#!/bin/sh
# Installs the Debian packages mlctl needs to build and test, and only those
# that are missing: a library counts as present when pkg-config finds it, a
# tool when `command -v` does. Safe to run on every build; apt-get runs only
# when something is missing (as root, or through sudo when available).
set -eu

missing=""
need_lib() { # pkg-config-name debian-package
    pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"
}
need_tool() { # command debian-package
    command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need_file() { # path debian-package
    [ -e "$1" ] || missing="$missing $2"
}

need_tool pkg-config pkg-config
need_tool cc gcc
need_tool make make
if command -v pkg-config >/dev/null 2>&1; then
    need_lib yaml-0.1 libyaml-dev
    need_lib libcurl libcurl4-openssl-dev
    need_lib libuv libuv1-dev
    need_lib libgit2 libgit2-dev
    need_lib criterion libcriterion-dev
    need_lib jansson libjansson-dev
    need_lib libcrypto libssl-dev
else
    missing="$missing libyaml-dev libcurl4-openssl-dev libuv1-dev libgit2-dev libcriterion-dev libjansson-dev libssl-dev"
fi
need_file /usr/include/http_parser.h libhttp-parser-dev
need_tool nginx nginx-light
need_tool haproxy haproxy
need_tool wrk wrk
need_tool cppcheck cppcheck
need_tool promtool prometheus
need_tool xmllint libxml2-utils
need_tool mandoc mandoc
need_tool clang clang
need_file /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a libclang-rt-14-dev
need_tool git git
need_tool curl curl           # the exec node driver's tests call nodes with it
need_tool python3 python3     # bench peers, a test's artifact server
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null ||
    missing="$missing python3-fastapi python3-uvicorn"

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps: missing packages:$missing (run as root: apt-get install$missing)" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
