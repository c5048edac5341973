#!/bin/sh
# bench/rollout.sh — how fast mlctl rolls a release out, and rolls back.
#   1. rolling deploy of eta 2.0.0 over NODES (100) mlserve nodes on
#      loopback, zero bake time, behind haproxy (25%/25%: 2 waves of 50),
#      then again with `router: { driver: none }` (2 waves of 50 in place):
#      wall time (mlctl's duration_s and from outside), mlctl's CPU time
#      (user+sys) per node operation (loads + ready checks + unloads, from
#      the plan and the journal), peak RSS; against the lower bound
#      waves x one node's load time (load + ready of a 1-node env, median
#      of ONE_ROUNDS deploys). Each figure is the median of ROUNDS deploys
#      (2.0.0, 1.0.0, 2.0.0 ... all rolling). Without a router it also
#      times the same node calls from a lean client (the nodes' own cost,
#      the floor any controller pays on this machine).
#   2. blue/green rollback on 4 nodes behind haproxy: from the start of
#      `mlctl rollback` to the first infer response through the router
#      answered by the old pool (1.0.0); BG_ROUNDS times, min/median/max
#      (the probe also counts failed requests: there should be none).
# Prints one table (figure, value, target, ratio, pass/fail); exit 1 when a
# target is missed. Everything on 127.0.0.1; `mlctl down` and rm -rf of
# the temp project run on any exit.
#   bench/rollout.sh
#   NODES=100 ROUNDS=5 BG_ROUNDS=5 MLCTL=bin/mlctl bench/rollout.sh
set -eu
cd "$(dirname "$0")/.."
here=$(pwd)

NODES=${NODES:-100}
ROUNDS=${ROUNDS:-5}
ONE_ROUNDS=${ONE_ROUNDS:-7}
BG_ROUNDS=${BG_ROUNDS:-5}
MLCTL=${MLCTL:-bin/mlctl}
PY=/usr/bin/python3
HELP="$PY $here/bench/rollout_helper.py"

for t in haproxy $PY; do
    command -v "$t" >/dev/null 2>&1 || { echo "bench: needs $t" >&2; exit 2; }
done
case $MLCTL in /*) ;; *) MLCTL=$here/$MLCTL ;; esac
[ -x "$MLCTL" ] || { echo "bench: build $MLCTL first (make)" >&2; exit 2; }
if [ -z "${MLCTL_MLSERVE:-}" ] && [ ! -x "$(dirname "$MLCTL")/mlserve" ]; then
    echo "bench: no mlserve next to $MLCTL (make, or set MLCTL_MLSERVE)" >&2
    exit 2
fi

# 100 nodes, each with a listener and mlctl's connection to it, plus the
# router's two backends: a few hundred descriptors
need_fd=$((NODES * 4 + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need_fd" ]; then
    ulimit -n "$need_fd" 2>/dev/null || {
        echo "bench: ulimit -n is $(ulimit -n), need $need_fd" >&2; exit 2; }
fi

export NO_COLOR=1
unset MLCTL_STATE 2>/dev/null || true
dir=$(mktemp -d "${TMPDIR:-/tmp}/mlctl-rollout.XXXXXX")
out=$dir/out
mkdir -p "$dir/envs" "$dir/examples/eta" "$out"
cp -r examples/eta/models examples/eta/release-1.0.0.yaml \
    examples/eta/release-2.0.0.yaml examples/eta/cases.csv "$dir/examples/eta/"

ml() { "$MLCTL" -C "$dir" --state "$dir/.mlctl" --no-color "$@"; }

cleanup() {
    st=$?
    trap - EXIT INT TERM HUP PIPE
    if [ -d "$dir/.mlctl" ]; then
        ml --quiet down >/dev/null 2>"$dir/down.err" ||
            { echo "bench: mlctl down failed:" >&2; cat "$dir/down.err" >&2; }
    fi
    rm -rf "$dir"
    exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

R1=examples/eta/release-1.0.0.yaml
R2=examples/eta/release-2.0.0.yaml

# write_env NAME NODES ROUTER STRATEGY  (ROUTER: haproxy | none)
write_env() {
    if [ "$3" = none ]; then np=$2; else np=$(($2 + 2)); fi
    ports=$($HELP ports "$np" "$dir/used.ports")
    {
        printf 'apiVersion: mlctl/v1\nkind: Environment\nname: %s\n' "$1"
        printf 'tier: staging\nmanaged: true\nnode_driver: v2\nnodes:\n'
        i=0
        for p in $ports; do
            i=$((i + 1))
            if [ "$i" -le "$2" ]; then
                printf '  - { name: %s-%d, url: "http://127.0.0.1:%d" }\n' "$1" "$i" "$p"
            elif [ "$i" = $(($2 + 1)) ]; then
                listen=$p
            else
                printf 'router: { driver: %s, listen: "127.0.0.1:%s", preview: "127.0.0.1:%s" }\n' \
                    "$3" "$listen" "$p"
                echo "127.0.0.1:$listen" >"$dir/$1.listen"
            fi
        done
        [ "$3" != none ] || printf 'router: { driver: none }\n'
        printf 'strategy: %s\n' "$4"
    } >"$dir/envs/$1.yaml"
}

# timed_deploy ENV RELEASE TAG: plan + deploy with JSON; the deploy's
# `wall_ms user_s sys_s maxrss_kb exit` (wait4) in $out/TAG.time
timed_deploy() {
    ml plan "$2" --env "$1" --output json >"$out/$3.plan.json"
    $HELP run "$out/$3.json" "$out/$3.err" -- \
        "$MLCTL" -C "$dir" --state "$dir/.mlctl" --no-color --quiet \
        deploy "$2" --env "$1" --output json >"$out/$3.time"
    [ "$(cut -d' ' -f5 "$out/$3.time")" = 0 ] || {
        echo "bench: deploy $2 to $1 failed:" >&2
        cat "$out/$3.err" "$out/$3.json" >&2
        exit 1
    }
}

med() { $HELP stats "$@" | cut -d' ' -f2; }
f3() { awk -v x="$1" 'BEGIN { printf "%.3f", x }'; }

rows=""
fails=0
# row FIGURE VALUE UNIT TARGET_OP TARGET [BOUND]: ratio = value / target
# (value / bound for the wall-time rows)
row() {
    ratio=$(awk -v v="$2" -v t="${6:-$5}" 'BEGIN { printf "%.2fx", v / t }')
    ok=$(awk -v v="$2" -v t="$5" -v op="$4" 'BEGIN {
        if (op == "<=") r = v <= t; else r = v < t; print r ? "pass" : "FAIL" }')
    [ "$ok" = pass ] || fails=$((fails + 1))
    rows="$rows$1|$(f3 "$2") $3|$4 $(f3 "$5") $3|$ratio|$ok
"
}

echo "bench: project $dir, mlctl $MLCTL" >&2

# ---- one node's load time (the unit of the lower bound) -----------------
write_env one 1 none "{ type: rolling }"
ml --quiet up one >/dev/null
ml --quiet deploy "$R1" --env one >/dev/null
files=""
i=0
while [ $i -lt "$ONE_ROUNDS" ]; do
    i=$((i + 1))
    if [ $((i % 2)) = 1 ]; then r=$R2; else r=$R1; fi
    timed_deploy one "$r" "one$i"
    files="$files $out/one$i.json"
done
set -- $($HELP onenode $files)
one_load=$1 one_ready=$2
one_ms=$(awk -v a="$1" -v b="$2" 'BEGIN { print a + b }')
ml --quiet down one >/dev/null
echo "bench: one node: load $one_load ms + ready $one_ready ms" >&2

# ---- rolling deploys over NODES nodes -----------------------------------
# rolling ENV ROUTER LABEL
rolling() {
    env=$1 router=$2 label=$3
    write_env "$env" "$NODES" "$router" "{ type: rolling }"
    t=$(date +%s.%N)
    ml --quiet up "$env" >/dev/null
    up_s=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    ml --quiet deploy "$R1" --env "$env" --strategy recreate >/dev/null
    rss_nodes=$(for f in "$dir/.mlctl/run/$env"/*.pid; do
        ps -o rss= -p "$(head -n 1 "$f")" 2>/dev/null || true; done |
        awk '{ s += $1 } END { printf "%.0f", s / 1024 }')
    echo "bench: $env: $NODES nodes up in $up_s s, 1.0.0 loaded; nodes' RSS $rss_nodes MB" >&2
    walls="" outs="" cpus="" rsss="" waves=0 ops=0
    i=0
    while [ $i -lt "$ROUNDS" ]; do
        i=$((i + 1))
        if [ $((i % 2)) = 1 ]; then r=$R2; else r=$R1; fi
        timed_deploy "$env" "$r" "$env$i"
        set -- $($HELP journal "$out/$env$i.plan.json" "$out/$env$i.json")
        waves=$1 ops=$2
        walls="$walls $3"
        echo "bench: $env round $i ($r): $1 waves, $2 node ops, engine $3 ms" \
            "(load $4, ready $5, unload $6, router $7 ms; $8 steps)" >&2
        set -- $(cat "$out/$env$i.time")
        outs="$outs $1"
        cpus="$cpus $(awk -v u="$2" -v s="$3" -v n="$ops" 'BEGIN { print (u + s) * 1000 / n }')"
        rsss="$rsss $(awk -v m="$4" 'BEGIN { print m / 1024 }')"
        echo "bench: $env round $i: outside $1 ms, user $2 s, sys $3 s, max RSS $4 kB" >&2
    done
    bound=$(awk -v w="$waves" -v o="$one_ms" 'BEGIN { print w * o }')
    wall=$(med $walls)
    row "$label wall (engine)" "$wall" ms "<=" "$(awk -v b="$bound" 'BEGIN { print 1.5 * b }')" "$bound"
    row "$label wall (outside)" "$(med $outs)" ms "<=" "$(awk -v b="$bound" 'BEGIN { print 1.5 * b }')" "$bound"
    row "$label CPU / node op" "$(med $cpus)" ms "<" 1
    row "$label peak RSS" "$(med $rsss)" MB "<" 32
    info="$info  $label: $waves waves x $one_ms ms = bound $bound ms; $ops node ops per deploy
"
    if [ "$router" = none ]; then
        # the same node calls from a lean client: what the nodes cost
        if [ "$r" = "$R2" ]; then other=$R1; else other=$R2; fi
        set -- $($HELP floor $((NODES / waves)) "$ROUNDS" "$dir/envs/$env.yaml" \
            "$dir/$r" "$dir/$other")
        info="$info  $label: node-side floor (lean client, same calls, waves of $((NODES / waves))): $2 ms median ($1..$3); mlctl's engine $wall ms = $(awk -v a="$wall" -v b="$2" 'BEGIN { printf "%.1f", a / b }')x the floor
"
    fi
    ml --quiet down "$env" >/dev/null
}

info=""
rolling roll haproxy "rolling $NODES haproxy"
rolling flat none "rolling $NODES no router"

# ---- blue/green rollback -------------------------------------------------
write_env bg 4 haproxy "{ type: bluegreen }"
ml --quiet up bg >/dev/null
ml --quiet deploy "$R1" --env bg >/dev/null
ml --quiet deploy "$R2" --env bg >/dev/null
listen=$(cat "$dir/bg.listen")
lats="" cmds="" probes=0 failed=0
i=0
while [ $i -lt "$BG_ROUNDS" ]; do
    i=$((i + 1))
    set -- $($HELP rollback "http://$listen/v2/models/eta/infer" 1.0.0 -- \
        "$MLCTL" -C "$dir" --state "$dir/.mlctl" --no-color --quiet rollback --env bg)
    lats="$lats $1" cmds="$cmds $2"
    probes=$((probes + $3)) failed=$((failed + $4))
    echo "bench: rollback $i: first 1.0.0 response after $1 ms; command done after $2 ms" >&2
    ml --quiet deploy "$R2" --env bg >/dev/null # forward again
done
set -- $($HELP stats $lats)
row "bluegreen rollback min" "$1" ms "<" 200
row "bluegreen rollback median" "$2" ms "<" 200
row "bluegreen rollback max" "$3" ms "<" 200
set -- $($HELP stats $cmds)
info="$info  blue/green rollback command: $1 / $2 / $3 ms (min/median/max); probes $probes, failed $failed
"

# ---- table ----------------------------------------------------------------
echo
printf '%-34s %12s %15s %8s %s\n' figure value target ratio result
printf '%s' "$rows" | while IFS='|' read -r f v t r ok; do
    printf '%-34s %12s %15s %8s %s\n' "$f" "$v" "$t" "$r" "$ok"
done
echo
echo "one node's load time: $one_load ms load + $one_ready ms ready = $one_ms ms (median of $ONE_ROUNDS)"
printf '%s' "$info"
echo "(ratios: wall time / lower bound; other rows: value / target)"
[ "$fails" = 0 ] || exit 1
