#!/bin/sh
# `make demo`: mlctl's main job on the embedded default (envs/, all on
# 127.0.0.1). It validates the project, starts every environment (mlserve
# nodes, nginx for staging, haproxy for prod), deploys eta 1.0.0 everywhere
# (the release already running), then 2.0.0 to staging (rolling) and to
# prod (blue/green) while bounded background traffic runs through prod's
# router, rolls prod back and forward again, prints prod's history and how
# the background traffic fared, and stops everything.
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

step "background traffic through prod's router (bounded: 200 req/s for 25 s)"
$MLCTL load --env prod --release $R/release-2.0.0.yaml --rate 200 \
    --duration 25s --quiet --output json > "$STATE/traffic.json" 2>"$STATE/traffic.err" &
LOAD_PID=$!
sleep 1

step "eta 2.0.0 to staging (rolling)"
$MLCTL deploy $R/release-2.0.0.yaml --env staging

step "eta 2.0.0 to prod (blue/green)"
$MLCTL deploy $R/release-2.0.0.yaml --env prod --strategy bluegreen

step "prod: roll back (one router switch), then forward again"
$MLCTL rollback --env prod
$MLCTL deploy $R/release-2.0.0.yaml --env prod --strategy bluegreen

step "mlctl status --env prod"
$MLCTL status --env prod || true

step "mlctl history --env prod"
$MLCTL history --env prod

wait $LOAD_PID || true
requests=$(sed -n 's/^ *"requests": *\([0-9]*\).*/\1/p' "$STATE/traffic.json" | head -n 1)
failed=$(sed -n 's/^ *"total": *\([0-9]*\).*/\1/p' "$STATE/traffic.json" | head -n 1)
echo
echo "background traffic: ${requests:-0} requests, ${failed:-?} failed"

step "mlctl down"
trap - EXIT INT TERM
$MLCTL down
