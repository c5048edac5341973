#!/bin/sh
# `make demo`: mlctl's main job on the embedded default. Today: validate
# every document of the project, then show the environments and the
# promotion pipeline. Later issues grow this into the full promotion demo
# (up, deploy, gates, canary, rollback, down).
set -eu
cd "$(dirname "$0")/.."
MLCTL=${MLCTL:-bin/mlctl}

echo "== mlctl validate"
$MLCTL validate
echo
echo "== environments"
for f in envs/dev.yaml envs/test.yaml envs/staging.yaml envs/prod.yaml; do
    $MLCTL validate --output json "$f" >/dev/null
    name=$(sed -n 's/^name: *//p' "$f")
    strategy=$(sed -n 's/^  type: *//p' "$f" | head -n 1)
    router=$(sed -n 's/^router: *{ *driver: *\([a-z]*\).*/\1/p' "$f")
    gates=$(sed -n 's/^gates: *//p' "$f")
    nodes=$(grep -c 'url: "http' "$f")
    printf '  %-8s %d node(s)  router %-8s strategy %-9s gates %s\n' \
        "$name" "$nodes" "${router:-none}" "${strategy:-recreate}" "${gates:-[]}"
done
echo
echo "== pipeline default"
printf '  '
sed -n 's/^stages: *//p' pipelines/default.yaml |
    sed 's/{ *env: *\([a-z]*\) *}/\1/g; s/[][]//g; s/ *, */ -> /g; s/^ *//; s/ *$//'
