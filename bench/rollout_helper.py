#!/usr/bin/python3
"""rollout_helper.py — small helpers for bench/rollout.sh (Debian's python3,
standard library only).

  ports N [USED]               N free TCP ports on 127.0.0.1 (probed by bind),
                          all in [20000, 32000) and outside 8100-8499
  journal PLAN DEPLOY     from `mlctl plan --output json` and
                          `mlctl deploy --output json`: one line
                          `waves node_ops duration_ms load_ms ready_ms
                           unload_ms router_ms steps`
  onenode DEPLOY...       median over deploy JSON files of a 1-node env:
                          `load_ms ready_ms`
  run OUT ERR -- CMD...   run CMD (stdout to OUT, stderr to ERR) and print
                          `wall_ms user_s sys_s maxrss_kb exit` from wait4
  floor WAVE ROUNDS ENVFILE RELEASE_A RELEASE_B
                          the node-side floor of a rolling deploy without a
                          router: per wave of WAVE nodes, the same calls
                          mlctl makes (load, version ready, unload of the
                          old version) from a lean client: one kept-alive
                          connection per node, each call sent to every
                          node of the wave at once. Deploys B then A,
                          ROUNDS times (the env must serve A and ends on
                          A); prints `min median max` ms per deploy
  stats X...              `min median max` of the numbers
  rollback URL VERSION -- MLCTL ARGS...
                          probe URL (an infer endpoint behind the router)
                          on a kept-alive connection until it answers; then
                          start the command and probe in a tight loop until
                          a response carries model_version VERSION; prints
                          `latency_ms command_ms probes failed`
"""
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time


def cmd_ports(n, used_file=None):
    """n free loopback ports, none of them listed in used_file (ports
    handed out earlier in this run, whose nodes may not listen yet); the
    ones returned are appended to it."""
    n = int(n)
    out = []
    used = set()
    if used_file and os.path.exists(used_file):
        with open(used_file) as f:
            used = {int(x) for x in f.read().split()}
    base = 20000 + random.randrange(0, 8000)
    port = base
    tried = 0
    while len(out) < n and tried < 12000:
        tried += 1
        port += 1
        if port >= 32000:
            port = 20000
        if 8100 <= port < 8500 or port in used:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        out.append(port)
    if len(out) < n:
        sys.exit("ports: found only %d free ports" % len(out))
    if used_file:
        with open(used_file, "a") as f:
            f.write(" ".join(map(str, out)) + "\n")
    print(" ".join(map(str, out)))


def load_json(path):
    with open(path) as f:
        return json.load(f)


def cmd_journal(plan_path, deploy_path):
    plan = load_json(plan_path)
    dep = load_json(deploy_path)
    if dep.get("exit_code") != 0:
        sys.exit("journal: the deploy failed: %s" % dep.get("reason"))
    if "duration_s" not in dep:
        sys.exit("journal: the deploy changed nothing (already on %s)"
                 % dep.get("to"))
    nodes = {s["n"]: len(s.get("nodes", [])) for s in plan["steps"]}
    ops = 0
    sums = {"load": 0.0, "wait-ready": 0.0, "unload": 0.0, "router": 0.0}
    for s in dep["steps"]:
        if s.get("undo"):
            continue
        k = s["kind"]
        if k in ("load", "unload", "wait-ready"):
            ops += nodes[s["step"]]
            sums[k] += s["ms"]
        elif k in ("drain", "undrain", "weights", "switch", "preview"):
            sums["router"] += s["ms"]
    print("%d %d %.3f %.3f %.3f %.3f %.3f %d" % (
        plan["waves"], ops, dep["duration_s"] * 1000, sums["load"],
        sums["wait-ready"], sums["unload"], sums["router"], len(dep["steps"])))


def cmd_onenode(paths):
    load, ready = [], []
    for p in paths:
        dep = load_json(p)
        if dep.get("exit_code") != 0:
            sys.exit("onenode: a deploy failed: %s" % dep.get("reason"))
        load.append(sum(s["ms"] for s in dep["steps"] if s["kind"] == "load"))
        ready.append(sum(s["ms"] for s in dep["steps"] if s["kind"] == "wait-ready"))
    print("%.3f %.3f" % (statistics.median(load), statistics.median(ready)))


def cmd_run(out, err, argv):
    with open(out, "wb") as o, open(err, "wb") as e:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=o, stderr=e)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    print("%.3f %.6f %.6f %d %d" % (wall * 1000, ru.ru_utime, ru.ru_stime,
                                    ru.ru_maxrss, proc.returncode))


# the ETA releases' data contract, as mlctl sends it in a load
ETA_EXPECTATIONS = {
    "inputs": {"v": {"type": "number", "exclusive_min": 0},
               "d": {"type": "number", "exclusive_min": 0}},
    "outputs": {"eta": {"type": "number", "min": 0}}}


def release_load_body(path):
    import re
    text = open(path).read()
    version = re.search(r"^version:\s*(\S+)", text, re.M).group(1)
    art = re.search(r"artifact:\s*\{\s*uri:\s*([^,\s]+)\s*,\s*sha256:\s*\"([0-9a-f]{64})\"",
                    text)
    uri = os.path.join(os.path.dirname(os.path.abspath(path)), art.group(1))
    return version, json.dumps({"parameters": {
        "version": version, "artifact": uri, "sha256": art.group(2),
        "expectations": ETA_EXPECTATIONS}}, separators=(",", ":"))


def wave_call(socks, reqs):
    """Send reqs[i] on socks[i] at once; wait for every response (2xx)."""
    import selectors
    sel = selectors.DefaultSelector()
    bufs = {}
    for s, r in zip(socks, reqs):
        s.sendall(r)
        bufs[s] = b""
        sel.register(s, selectors.EVENT_READ)
    left = len(socks)
    while left:
        for key, _ in sel.select(10):
            s = key.fileobj
            d = s.recv(65536)
            if not d:
                sys.exit("floor: a node closed the connection")
            bufs[s] += d
            head, sep, body = bufs[s].partition(b"\r\n\r\n")
            if not sep:
                continue
            lines = head.split(b"\r\n")
            cl = [int(l.split(b":", 1)[1]) for l in lines[1:]
                  if l.lower().startswith(b"content-length:")]
            if len(body) < (cl[0] if cl else 0):
                continue
            if lines[0].split()[1][:1] != b"2":
                sys.exit("floor: %s" % bufs[s][:300])
            sel.unregister(s)
            left -= 1
    sel.close()


def http_req(method, path, body=""):
    b = body.encode()
    return (("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/json\r\nContent-Length: %d\r\n\r\n")
            % (method, path, len(b))).encode() + b


def cmd_floor(wave, rounds, envfile, rel_a, rel_b):
    import re
    wave, rounds = int(wave), int(rounds)
    ports = [int(p) for p in re.findall(r'url: "http://127\.0\.0\.1:(\d+)"',
                                        open(envfile).read())]
    va, body_a = release_load_body(rel_a)
    vb, body_b = release_load_body(rel_b)
    times = []
    for _ in range(rounds):
        for new, body, old in ((vb, body_b, va), (va, body_a, vb)):
            t0 = time.monotonic()
            for at in range(0, len(ports), wave):
                socks = []
                for p in ports[at:at + wave]:
                    s = socket.create_connection(("127.0.0.1", p))
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    socks.append(s)
                n = len(socks)
                wave_call(socks, [http_req(
                    "POST", "/v2/repository/models/eta/load", body)] * n)
                wave_call(socks, [http_req(
                    "GET", "/v2/models/eta/versions/%s/ready" % new)] * n)
                wave_call(socks, [http_req(
                    "POST", "/v2/repository/models/eta/unload",
                    json.dumps({"parameters": {"version": old}}))] * n)
                for s in socks:
                    s.close()
            times.append((time.monotonic() - t0) * 1000)
    cmd_stats(times)


def cmd_stats(xs):
    xs = sorted(float(x) for x in xs)
    print("%.3f %.3f %.3f" % (xs[0], statistics.median(xs), xs[-1]))


BODY = json.dumps({"inputs": [
    {"name": "v", "shape": [1], "datatype": "FP64", "data": [50.0]},
    {"name": "d", "shape": [1], "datatype": "FP64", "data": [10.0]}]})


def cmd_rollback(url, version, argv):
    assert url.startswith("http://")
    hostport, _, path = url[7:].partition("/")
    host, _, port = hostport.partition(":")
    path = "/" + path
    conn = [None]

    def probe():
        """One infer request; the model_version answered, or None."""
        for attempt in (0, 1):  # retry once on a dead kept-alive connection
            if conn[0] is None:
                conn[0] = http.client.HTTPConnection(host, int(port), timeout=2)
            try:
                conn[0].request("POST", path, BODY,
                                {"Content-Type": "application/json"})
                r = conn[0].getresponse()
                data = r.read()
                if r.status // 100 != 2:
                    return None
                return json.loads(data).get("model_version")
            except (OSError, http.client.HTTPException, ValueError):
                conn[0].close()
                conn[0] = None
                if attempt:
                    return None
        return None

    # the router answers, and not yet with VERSION
    deadline = time.monotonic() + 10
    while True:
        v = probe()
        if v is not None and v != version:
            break
        if time.monotonic() > deadline:
            sys.exit("rollback: the router at %s does not answer with a "
                     "version other than %s (last: %s)" % (url, version, v))
        time.sleep(0.01)
    probes = failed = 0
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    t_first = t_done = None
    while True:
        v = probe()
        probes += 1
        now = time.monotonic()
        if v is None:
            failed += 1
        elif v == version and t_first is None:
            t_first = now
        if t_done is None and proc.poll() is not None:
            t_done = now
        if t_first is not None and t_done is not None:
            break
        if now - t0 > 60:
            proc.kill()
            proc.wait()
            sys.exit("rollback: no response from %s within 60 s" % version)
    if proc.returncode != 0:
        sys.exit("rollback: %s exited %d" % (" ".join(argv), proc.returncode))
    print("%.3f %.3f %d %d" % ((t_first - t0) * 1000, (t_done - t0) * 1000,
                               probes, failed))


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] == "ports" and len(a) in (2, 3):
        cmd_ports(*a[1:3])
    elif a[0] == "journal" and len(a) == 3:
        cmd_journal(a[1], a[2])
    elif a[0] == "onenode" and len(a) >= 2:
        cmd_onenode(a[1:])
    elif a[0] == "run" and len(a) >= 5 and a[3] == "--":
        cmd_run(a[1], a[2], a[4:])
    elif a[0] == "floor" and len(a) == 6:
        cmd_floor(*a[1:])
    elif a[0] == "stats" and len(a) >= 2:
        cmd_stats(a[1:])
    elif a[0] == "rollback" and len(a) >= 5 and a[3] == "--":
        cmd_rollback(a[1], a[2], a[4:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
