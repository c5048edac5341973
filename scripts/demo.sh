#!/bin/sh
# `make demo`: mlctl's main job on the embedded default (envs/, all on
# 127.0.0.1). It validates the project, starts every environment (mlserve
# nodes, nginx for staging, haproxy for prod) and deploys eta 1.0.0
# everywhere without gates (the release already running). Then 2.0.0 and
# 2.1.0 go to test (unit, integration gates) and staging (smoke, load,
# acceptance): 2.1.0 fails staging's load and acceptance gates and staging
# is rolled back to 2.0.0. Under bounded background traffic through prod's
# router, 2.0.0 goes to prod (blue/green), prod is rolled back and forward,
# rolled back to 1.0.0 and canaried to 2.0.0 (analysis every second); then
# a canary of 2.1.0 is aborted by the analysis and rolled back. It prints
# prod's history and how the background traffic fared (the good releases'
# window, then the 2.1.0 window on its own line), and stops everything.
# The state goes to a fresh directory (MLCTL_STATE, default
# build/demo-state) so the demo never touches a real ledger.
set -eu
cd "$(dirname "$0")/.."
MLCTL=${MLCTL:-bin/mlctl}
STATE=${MLCTL_STATE:-build/demo-state}
rm -rf "$STATE"
mkdir -p "$STATE"
export MLCTL_STATE="$STATE"
export NO_COLOR=${NO_COLOR:-1}
R=examples/eta

step() { printf '\n== %s\n' "$*"; }
cleanup() { $MLCTL --quiet down >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

step "mlctl validate"
$MLCTL validate

step "mlctl up (every managed environment)"
$MLCTL up

step "eta 1.0.0 everywhere: the release already running (no gates)"
for env in dev test staging prod; do
    $MLCTL --quiet deploy $R/release-1.0.0.yaml --env $env
done

# ---- gates (mlctl gate) --------------------------------------------------
# Every deploy of 2.0.0 and 2.1.0 to test and staging is followed by that
# environment's gates (test: unit, integration; staging: smoke, load,
# acceptance), with JUnit XML and the load report under $STATE/gates.
# 2.1.0 passes test's gates (it keeps its contract) and fails staging's
# load and acceptance gates, which marks it rejected there; staging then
# rolls back to 2.0.0. The load gate runs 5 s (the release's duration).
GATES="$STATE/gates"
mkdir -p "$GATES"
gate() { # gate VERSION ENV EXPECTED-EXIT
    rc=0
    $MLCTL gate $R/release-$1.yaml --env $2 --junit "$GATES/$2-$1.xml" || rc=$?
    if [ "$rc" != "$3" ]; then
        echo "demo: mlctl gate $1 in $2 exited $rc, expected $3" >&2
        exit 1
    fi
}

step "eta 2.0.0 to test, then test's gates (unit, integration)"
$MLCTL --quiet deploy $R/release-2.0.0.yaml --env test
gate 2.0.0 test 0

step "eta 2.0.0 to staging (rolling), then staging's gates (smoke, load, acceptance)"
$MLCTL --quiet deploy $R/release-2.0.0.yaml --env staging
gate 2.0.0 staging 0

step "eta 2.1.0 to test: unit and integration pass (it keeps its contract)"
$MLCTL --quiet deploy $R/release-2.1.0.yaml --env test
gate 2.1.0 test 0

step "eta 2.1.0 to staging: smoke passes, load and acceptance fail (exit 1)"
$MLCTL --quiet deploy $R/release-2.1.0.yaml --env staging
gate 2.1.0 staging 1

step "staging: roll back to the last good release (2.0.0)"
$MLCTL rollback --env staging
$MLCTL history --env staging
echo "JUnit XML and load reports: $GATES"
# ---- end of gates --------------------------------------------------------

step "background traffic through prod's router (bounded: 200 req/s for 25 s)"
$MLCTL load --env prod --release $R/release-2.0.0.yaml --rate 200 \
    --duration 25s --quiet --output json > "$STATE/traffic.json" 2>"$STATE/traffic.err" &
LOAD_PID=$!
sleep 1

step "eta 2.0.0 to prod (blue/green)"
$MLCTL deploy $R/release-2.0.0.yaml --env prod --strategy bluegreen

step "prod: roll back (one router switch), then forward again"
$MLCTL rollback --env prod
$MLCTL deploy $R/release-2.0.0.yaml --env prod --strategy bluegreen

# ---- canary (prod's own strategy) ----------------------------------------
# prod's steps are 10% and 50% with 5 s pauses; every second mlctl scrapes
# each node's /metrics and compares the canary with the stable nodes, with
# 500 req/s of its own through the router (analysis traffic).
step "prod: roll back to 1.0.0, so that there is something to canary"
$MLCTL rollback --env prod

step "eta 2.0.0 to prod (canary: 10%, 50%, analysis every second)"
$MLCTL deploy $R/release-2.0.0.yaml --env prod

wait $LOAD_PID || true
count() { # count FILE -> "requests failed" from mlctl load's JSON
    r=$(sed -n 's/^ *"requests": *\([0-9]*\).*/\1/p' "$1" | head -n 1)
    f=$(sed -n 's/^ *"total": *\([0-9]*\).*/\1/p' "$1" | head -n 1)
    echo "${r:-0} ${f:-?}"
}
set -- $(count "$STATE/traffic.json")
GOOD_REQ=$1 GOOD_FAILED=$2

step "eta 2.1.0 to prod (canary): the analysis aborts it at 10% (exit 1)"
$MLCTL load --env prod --release $R/release-2.0.0.yaml --rate 200 \
    --duration 4s --quiet --output json > "$STATE/traffic-2.1.0.json" 2>"$STATE/traffic-2.1.0.err" &
LOAD_PID=$!
sleep 0.5
rc=0
$MLCTL deploy $R/release-2.1.0.yaml --env prod || rc=$?
if [ "$rc" != 1 ]; then
    echo "demo: the canary of 2.1.0 exited $rc, expected 1" >&2
    exit 1
fi
wait $LOAD_PID || true
set -- $(count "$STATE/traffic-2.1.0.json")
BAD_REQ=$1 BAD_FAILED=$2
# ---- end of canary -------------------------------------------------------

step "mlctl status --env prod"
$MLCTL status --env prod || true

step "mlctl history --env prod"
$MLCTL history --env prod

echo
echo "background traffic: $GOOD_REQ requests, $GOOD_FAILED failed"
echo "2.1.0 window: $BAD_REQ requests, $BAD_FAILED failed (the share the bad canary got until the analysis aborted it)"

step "mlctl down"
trap - EXIT INT TERM
$MLCTL down
