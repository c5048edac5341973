#!/bin/sh
# bench/load.sh — mlctl's load generator against wrk, side by side, in one
# run, on the same targets: a fixed nginx response, then mlserve's V2 infer
# (when bin/mlserve is built).
#   1. closed model: `mlctl load --rate max` vs `wrk`, equal connections and
#      threads: req/s (ratio; target >= 0.8x wrk) and p50/p99.
#   2. open model at a fixed rate (default 5000 req/s): achieved rate
#      (target within 1%), late requests, p99 and mlctl's CPU.
# Each closed-model pair runs ROUNDS times alternating (wrk, mlctl, wrk,
# mlctl...); the best round of each is shown, with the median CPU time
# (user + sys) each tool spent per request: on a shared machine req/s is
# noisy, CPU per request much less so. Everything on 127.0.0.1;
# every process it starts is stopped by its pid.
#   bench/load.sh                     defaults below
#   DURATION=10 CONNS=64 THREADS=2 RATE=5000 ROUNDS=3 bench/load.sh
set -eu
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
RATE=${RATE:-5000}
ROUNDS=${ROUNDS:-2}
MLCTL=${MLCTL:-bin/mlctl}
MLSERVE=${MLSERVE:-bin/mlserve}

for t in wrk nginx python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "bench: needs $t" >&2; exit 2; }
done
[ -x "$MLCTL" ] || { echo "bench: build $MLCTL first (make)" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/mlctl-bench.XXXXXX")
pids=""
cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null || true
    done
    for p in $pids; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port
    i=0
    while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "bench: nothing listens on $1" >&2; exit 1; }
        sleep 0.05
    done
}

# ---- targets -------------------------------------------------------------
nport=$(free_port)
mkdir -p "$dir/nginx/logs" "$dir/nginx/tmp"
cat >"$dir/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/tmp; proxy_temp_path $dir/nginx/tmp;
  fastcgi_temp_path $dir/nginx/tmp; uwsgi_temp_path $dir/nginx/tmp;
  scgi_temp_path $dir/nginx/tmp;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/json; return 200 '{"model_name":"eta","outputs":[]}'; }
  }
}
EOF
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/logs/error.log" \
    >"$dir/nginx/logs/out" 2>&1 &
pids="$pids $!"
wait_port "$nport"

mport=""
if [ -x "$MLSERVE" ]; then
    "$MLSERVE" --listen 127.0.0.1:0 --load examples/eta/release-2.0.0.yaml \
        >"$dir/mlserve.out" 2>"$dir/mlserve.err" &
    pids="$pids $!"
    i=0
    while [ -z "$mport" ]; do
        mport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/mlserve.out")
        i=$((i + 1)); [ $i -lt 200 ] || { echo "bench: mlserve did not start" >&2; cat "$dir/mlserve.err" >&2; exit 1; }
        [ -n "$mport" ] || sleep 0.05
    done
fi

body='{"inputs":[{"name":"v","shape":[1],"datatype":"FP64","data":[50]},{"name":"d","shape":[1],"datatype":"FP64","data":[10]}]}'
printf '%s' "$body" >"$dir/body.json"
cat >"$dir/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
EOF

# ---- helpers -------------------------------------------------------------
# wrk's "50%  107.00us" -> ms
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

# CPU of one command: `times` (POSIX, builtin) writes this shell's
# children's user and sys times; snapshots before and after the command,
# taken in this shell (not a subshell), differ by the command's CPU.
cpu_of_children() { # snapshot-file -> seconds
    awk 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
        printf "%.4f", t }' "$1"
}
cpu_used() { # -> CPU seconds between $dir/t0 and $dir/t1
    awk -v a="$(cpu_of_children "$dir/t0")" -v b="$(cpu_of_children "$dir/t1")" 'BEGIN { printf "%.4f", b - a }'
}

# A field of the mlctl JSON document in $dir/mlctl.json ("latency.p99").
jget() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$dir/mlctl.json" "$1"
}

run_wrk() { # url post? -> "rps p50 p99 cpu_us_per_request"
    if [ "$2" = post ]; then s="-s $dir/post.lua"; else s=""; fi
    times >"$dir/t0"
    # shellcheck disable=SC2086
    wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --latency $s "$1" >"$dir/wrk.out" 2>&1
    times >"$dir/t1"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk.out")
    p50=$(awk '$1 == "50%" { print $2 }' "$dir/wrk.out")
    p99=$(awk '$1 == "99%" { print $2 }' "$dir/wrk.out")
    n=$(awk '/ requests in / { print $1 }' "$dir/wrk.out")
    echo "$rps $(to_ms "$p50") $(to_ms "$p99") $(awk -v c="$(cpu_used)" -v n="$n" 'BEGIN { printf "%.2f", c * 1e6 / n }')"
}

run_mlctl_max() { # url post? -> "rps p50 p99 cpu_us_per_request"
    if [ "$2" = post ]; then
        set -- "$1" --body "$dir/body.json" -H "Content-Type: application/json"
    else
        set -- "$1"
    fi
    times >"$dir/t0"
    "$MLCTL" --quiet --output json load "$@" --rate max -c "$CONNS" -t "$THREADS" \
        -d "${DURATION}s" >"$dir/mlctl.json"
    times >"$dir/t1"
    n=$(jget requests)
    echo "$(jget achieved_rate) $(jget latency.p50) $(jget latency.p99) $(awk -v c="$(cpu_used)" -v n="$n" 'BEGIN { printf "%.2f", c * 1e6 / n }')"
}

run_mlctl_rate() { # url post? -> "achieved late p99 cpu% errors"
    if [ "$2" = post ]; then
        set -- "$1" --body "$dir/body.json" -H "Content-Type: application/json"
    else
        set -- "$1"
    fi
    times >"$dir/t0"
    "$MLCTL" --quiet --output json load "$@" --rate "$RATE" -c "$CONNS" \
        -d "${DURATION}s" >"$dir/mlctl.json"
    times >"$dir/t1"
    cpu=$(awk -v c="$(cpu_used)" -v e="$(jget elapsed_s)" 'BEGIN { printf "%.1f", 100 * c / e }')
    echo "$(jget achieved_rate) $(jget late) $(jget latency.p99) $cpu $(jget errors.total)"
}

best() { # "a b c" lines on stdin -> the line with the highest first field
    sort -g -r -k1,1 | head -n 1
}

bench_target() { # name url post?
    name=$1 url=$2 post=$3
    : >"$dir/w" ; : >"$dir/m"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        run_wrk "$url" "$post" >>"$dir/w"
        run_mlctl_max "$url" "$post" >>"$dir/m"
        r=$((r + 1))
    done
    # the median CPU per request over the rounds: steadier than req/s
    wcpu=$(awk '{ print $4 }' "$dir/w" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    mcpu=$(awk '{ print $4 }' "$dir/m" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    set -- $(best <"$dir/w") $(best <"$dir/m")
    ratio=$(awk -v a="$5" -v b="$1" 'BEGIN { printf "%.2f", a / b }')
    printf '%-8s closed  wrk    %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  CPU %5.2f us/req\n' "$name" "$1" "$2" "$3" "$wcpu"
    printf '%-8s closed  mlctl  %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  CPU %5.2f us/req  ratio %sx wrk\n' "$name" "$5" "$6" "$7" "$mcpu" "$ratio"
    set -- $(run_mlctl_rate "$url" "$post")
    off=$(awk -v a="$1" -v r="$RATE" 'BEGIN { printf "%+.2f", 100 * (a - r) / r }')
    printf '%-8s open    mlctl  %10.1f req/s  (%s%% of %s)  late %s  p99 %7.3f ms  errors %s  CPU %s%%\n' \
        "$name" "$1" "$off" "$RATE" "$2" "$3" "$5" "$4"
}

echo "bench/load.sh: $(nproc) CPUs, ${DURATION}s runs, $CONNS connections, $THREADS threads, best of $ROUNDS; $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2); $("$MLCTL" version 2>/dev/null | head -n 1)"
bench_target nginx "http://127.0.0.1:$nport/" get
if [ -n "$mport" ]; then
    bench_target mlserve "http://127.0.0.1:$mport/v2/models/eta/infer" post
else
    echo "mlserve  skipped: $MLSERVE is not built"
fi
