#!/bin/sh
# bench/serve.sh — one run, side by side, of the same V2 infer request
# (POST /v2/models/eta/infer, eta 2.0.0 under its data contract) against:
#   mlserve with 1 and 2 workers, the FastAPI + uvicorn peer (bench/peers,
#   1 worker, `async def`, the same contract in pydantic), and nginx
#   answering a fixed JSON body (the HTTP ceiling; 1 and 2 workers).
# Load: wrk -t2 -c64 -d$DURATION (default 10s) with a Lua script for the
# POST body. Prints req/s, p50, p99, peak RSS and the ratios. Everything
# runs on 127.0.0.1 free ports; every process is stopped by its pid.
#
#   sh bench/serve.sh                 # from the project root, after `make`
#   DURATION=3s sh bench/serve.sh     # shorter run
# Environment: MLSERVE_BIN (default bin/mlserve), THREADS (2), CONNS (64).
set -eu

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MLSERVE=${MLSERVE_BIN:-$ROOT/bin/mlserve}
PY=/usr/bin/python3

for tool in wrk nginx sha256sum awk; do
	command -v "$tool" >/dev/null 2>&1 || { echo "serve.sh: $tool is not installed" >&2; exit 2; }
done
[ -x "$MLSERVE" ] || { echo "serve.sh: $MLSERVE is missing (run make)" >&2; exit 2; }
$PY -c 'import fastapi, uvicorn' 2>/dev/null ||
	{ echo "serve.sh: $PY lacks fastapi/uvicorn (apt-get install python3-fastapi python3-uvicorn)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/mlserve-bench-XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The model and its release (contract included), as mlctl would load it.
cat >"$TMP/eta-2.0.0.yaml" <<'EOF'
apiVersion: mlctl/v1
kind: Model
name: eta
version: 2.0.0
type: linear
output: eta
terms:
  - { coef: 1.07, ratio: [d, v] }
  - { coef: 0.05 }
EOF
SHA=$(sha256sum "$TMP/eta-2.0.0.yaml" | awk '{print $1}')
cat >"$TMP/release-2.0.0.yaml" <<EOF
apiVersion: mlctl/v1
kind: Release
model: eta
version: 2.0.0
serving_mode: realtime
artifact: { uri: eta-2.0.0.yaml, sha256: "$SHA" }
expectations:
  inputs:
    v: { type: number, exclusive_min: 0 }
    d: { type: number, exclusive_min: 0 }
  outputs:
    eta: { type: number, min: 0 }
EOF

BODY='{"id":"bench","inputs":[{"name":"v","shape":[1],"datatype":"FP64","data":[50]},{"name":"d","shape":[1],"datatype":"FP64","data":[10]}]}'
cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
EOF
FIXED='{"model_name":"eta","model_version":"2.0.0","id":"bench","outputs":[{"name":"eta","datatype":"FP64","shape":[1],"data":[0.264]}]}'

# wait_http URL BODY: until the endpoint answers 200 (10 s at most)
wait_http() {
	i=0
	while [ $i -lt 100 ]; do
		if $PY - "$1" "$2" <<'EOF' 2>/dev/null; then return 0; fi
import sys, urllib.request
r = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"Content-Type": "application/json"})
sys.exit(0 if urllib.request.urlopen(r, timeout=1).status == 200 else 1)
EOF
		sleep 0.1
		i=$((i + 1))
	done
	echo "serve.sh: $1 did not come up" >&2
	return 1
}

# peak RSS (kB) of a pid plus its children
peak_rss() {
	total=0
	for p in $1 $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		v=$(awk '/^VmHWM:/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0)
		total=$((total + ${v:-0}))
	done
	echo $total
}

# run NAME URL PID WORKERS: wrk, then one result line into $TMP/results
run() {
	name=$1 url=$2 pid=$3 workers=$4
	wait_http "$url" "$BODY"
	wrk -t"$THREADS" -c"$CONNS" -d1s -s "$TMP/post.lua" "$url" >/dev/null 2>&1 || true # warm-up
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$TMP/post.lua" "$url" >"$TMP/$name.wrk" 2>&1
	rss=$(peak_rss "$pid")
	awk -v name="$name" -v rss="$rss" -v workers="$workers" '
		function ms(s) {
			if (s ~ /us$/) return substr(s, 1, length(s) - 2) / 1000
			if (s ~ /ms$/) return substr(s, 1, length(s) - 2) + 0
			if (s ~ /s$/) return substr(s, 1, length(s) - 1) * 1000
			return s + 0
		}
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx/ { bad = $NF }
		/Socket errors/ { err = $0 }
		END {
			printf "%s %.0f %.3f %.3f %.1f %d %s\n", name, rps, p50, p99, rss / 1024, workers, (bad == "" ? 0 : bad)
		}' "$TMP/$name.wrk" >>"$TMP/results"
	if grep -q "Socket errors" "$TMP/$name.wrk"; then
		echo "serve.sh: $name: $(grep 'Socket errors' "$TMP/$name.wrk")" >&2
	fi
}

start_mlserve() {
	workers=$1
	"$MLSERVE" --listen 127.0.0.1:0 --workers "$workers" --load "$TMP/release-2.0.0.yaml" \
		>"$TMP/mlserve-$workers.out" 2>"$TMP/mlserve-$workers.err" &
	MS_PID=$!
	PIDS="$PIDS $MS_PID"
	i=0
	while ! grep -q '^listening on ' "$TMP/mlserve-$workers.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$TMP/mlserve-$workers.err" >&2; exit 1; }
		sleep 0.05
	done
	MS_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/mlserve-$workers.out")
}

stop() {
	kill "$1" 2>/dev/null || true
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

echo "bench/serve.sh: wrk -t$THREADS -c$CONNS -d$DURATION, POST /v2/models/eta/infer, $(nproc) CPUs" >&2
: >"$TMP/results"

for w in 1 2; do
	start_mlserve $w
	echo "  mlserve, $w worker(s) on :$MS_PORT" >&2
	run "mlserve-${w}w" "http://127.0.0.1:$MS_PORT/v2/models/eta/infer" "$MS_PID" $w
	stop "$MS_PID"
done

PORT=$(free_port)
echo "  FastAPI + uvicorn, 1 worker on :$PORT" >&2
$PY -m uvicorn --app-dir "$ROOT/bench/peers" fastapi_eta:app --host 127.0.0.1 --port "$PORT" \
	--workers 1 --no-access-log --log-level warning >"$TMP/uvicorn.log" 2>&1 &
UV_PID=$!
PIDS="$PIDS $UV_PID"
run "fastapi-1w" "http://127.0.0.1:$PORT/v2/models/eta/infer" "$UV_PID" 1
stop "$UV_PID"

for w in 1 2; do
	PORT=$(free_port)
	mkdir -p "$TMP/nginx-$w/logs"
	cat >"$TMP/nginx-$w/nginx.conf" <<EOF
worker_processes $w;
daemon off;
pid $TMP/nginx-$w/nginx.pid;
error_log $TMP/nginx-$w/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx-$w/body;
	proxy_temp_path $TMP/nginx-$w/proxy;
	fastcgi_temp_path $TMP/nginx-$w/fastcgi;
	uwsgi_temp_path $TMP/nginx-$w/uwsgi;
	scgi_temp_path $TMP/nginx-$w/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$PORT;
		location / {
			default_type application/json;
			return 200 '$FIXED';
		}
	}
}
EOF
	echo "  nginx fixed body, $w worker(s) on :$PORT" >&2
	nginx -p "$TMP/nginx-$w" -c "$TMP/nginx-$w/nginx.conf" 2>"$TMP/nginx-$w/stderr" &
	NG_PID=$!
	PIDS="$PIDS $NG_PID"
	run "nginx-${w}w" "http://127.0.0.1:$PORT/v2/models/eta/infer" "$NG_PID" $w
	stop "$NG_PID"
done

echo
awk '
	{ name[NR] = $1; rps[$1] = $2; p50[$1] = $3; p99[$1] = $4; rss[$1] = $5; w[$1] = $6; bad[$1] = $7 }
	END {
		printf "%-12s %10s %9s %9s %10s %14s %8s\n", "server", "req/s", "p50 ms", "p99 ms", "RSS MB", "RSS MB/worker", "non-2xx"
		for (i = 1; i <= NR; i++) {
			n = name[i]
			printf "%-12s %10.0f %9.3f %9.3f %10.1f %14.1f %8d\n", n, rps[n], p50[n], p99[n], rss[n], rss[n] / w[n], bad[n]
		}
		print ""
		if (rps["fastapi-1w"] > 0)
			printf "mlserve 1w / FastAPI 1w      %6.1fx   (target >= 10x)\n", rps["mlserve-1w"] / rps["fastapi-1w"]
		if (rps["nginx-1w"] > 0)
			printf "mlserve 1w / nginx 1w        %6.2fx   (target >= 0.6x)\n", rps["mlserve-1w"] / rps["nginx-1w"]
		if (rps["nginx-2w"] > 0) {
			printf "mlserve 1w / nginx 2w        %6.2fx\n", rps["mlserve-1w"] / rps["nginx-2w"]
			printf "mlserve 2w / nginx 2w        %6.2fx\n", rps["mlserve-2w"] / rps["nginx-2w"]
		}
		printf "mlserve 1w p99               %6.3f ms (target < 2 ms)\n", p99["mlserve-1w"]
	}' "$TMP/results"
