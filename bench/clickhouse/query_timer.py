#!/usr/bin/env python3
"""Times the flame-graph queries of bench/clickhouse/run.sh against a running clickhouse-server.

Python 3 standard library only. Prints one JSON object on stdout, progress on stderr.

Two queries, each run `--warmup` times untimed and then `--runs` times timed (medians reported):

  1. the 24 h "flame graph" query:
       SELECT <key>, sum(value) FROM <samples>
       WHERE service = '<service>' AND ts >= <from> AND ts < <to> GROUP BY <key>
  2. fetching the frames of the stacks it returned:
       SELECT <key>, frames FROM <stacks> WHERE <key> IN (<every key query 1 returned>)

Each is timed three ways, nothing subtracted:
  *_client_ms  wall time of a whole `clickhouse-client --query ...` process (start, connect, run,
               print the result), high-resolution timer (time.perf_counter) around it;
  *_server_ms  the elapsed time `clickhouse-client --time` prints (measured inside the client from
               sending the query to the end of the result, without process start and connect);
  *_http_ms    one POST on a kept-alive HTTP connection (what an application would see), result
               read completely (TabSeparated).
client_overhead_ms is the median client wall time of `SELECT 1`: the fixed cost of starting
clickhouse-client and connecting, included in every *_client_ms figure.
"""
import argparse
import http.client
import json
import statistics
import subprocess
import sys
import time
import urllib.parse


def log(msg):
    print(f"query_timer: {msg}", file=sys.stderr, flush=True)


class Client:
    def __init__(self, tcp_port, http_port):
        self.cmd = ["clickhouse-client", "--host", "127.0.0.1", "--port", str(tcp_port), "--time"]
        self.http = http.client.HTTPConnection("127.0.0.1", http_port, timeout=600)

    def run_client(self, query):
        """Runs query in a new clickhouse-client; returns (wall_s, server_s, stdout).

        The query goes in on stdin: the frames query holds thousands of keys, too long
        for one command-line argument to be safe."""
        t0 = time.perf_counter()
        p = subprocess.run(self.cmd, input=query.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"clickhouse-client failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
        # --time prints the elapsed seconds as the last line on stderr.
        server = float(p.stderr.decode().split()[-1])
        return wall, server, p.stdout

    def run_http(self, query):
        """Runs query as one POST on the kept-alive connection; returns (wall_s, body)."""
        t0 = time.perf_counter()
        self.http.request("POST", "/?" + urllib.parse.urlencode({"default_format": "TabSeparated"}),
                          body=query.encode())
        r = self.http.getresponse()
        body = r.read()
        wall = time.perf_counter() - t0
        if r.status != 200:
            raise SystemExit(f"HTTP {r.status}: {body.decode()[-2000:]}")
        return wall, body


def ms(seconds):
    return round(seconds * 1000.0, 1)


def bench(c, query, warmup, runs, label):
    """Returns (median client ms, median server ms, median http ms, stdout of the last client run)."""
    for _ in range(warmup):
        c.run_client(query)
        c.run_http(query)
    walls, servers, https = [], [], []
    out = b""
    for _ in range(runs):
        w, s, out = c.run_client(query)
        walls.append(w)
        servers.append(s)
        h, _ = c.run_http(query)
        https.append(h)
    log(f"{label}: client ms {[ms(x) for x in walls]}, server ms {[ms(x) for x in servers]}, "
        f"http ms {[ms(x) for x in https]}")
    return ms(statistics.median(walls)), ms(statistics.median(servers)), ms(statistics.median(https)), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True, help="native TCP port")
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--samples", default="samples", help="samples table")
    ap.add_argument("--stacks", default="stacks", help="stacks table")
    ap.add_argument("--key", default="stack_hash", help="stack key column in both tables")
    ap.add_argument("--service", default="svc")
    ap.add_argument("--from", dest="t_from", type=int, required=True, help="unix seconds, inclusive")
    ap.add_argument("--to", dest="t_to", type=int, required=True, help="unix seconds, exclusive")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()

    c = Client(a.port, a.http_port)
    res = {}

    # Fixed cost of a clickhouse-client process (start + connect + trivial query).
    overhead = []
    for i in range(a.warmup + a.runs):
        w, _, _ = c.run_client("SELECT 1")
        if i >= a.warmup:
            overhead.append(w)
    res["client_overhead_ms"] = ms(statistics.median(overhead))

    q24 = (f"SELECT {a.key}, sum(value) FROM {a.samples} "
           f"WHERE service = '{a.service}' AND ts >= toDateTime({a.t_from}) AND ts < toDateTime({a.t_to}) "
           f"GROUP BY {a.key}")
    log(q24)
    res["query_24h_client_ms"], res["query_24h_server_ms"], res["query_24h_http_ms"], out = \
        bench(c, q24, a.warmup, a.runs, "24h group by")
    keys = [line.split(b"\t", 1)[0].decode() for line in out.splitlines() if line]
    res["stacks_returned"] = len(keys)
    res["value_sum"] = sum(int(line.split(b"\t")[1]) for line in out.splitlines() if line)
    if not keys:
        raise SystemExit("the 24 h query returned no rows")

    qfr = f"SELECT {a.key}, frames FROM {a.stacks} WHERE {a.key} IN ({','.join(keys)})"
    log(f"SELECT {a.key}, frames FROM {a.stacks} WHERE {a.key} IN (... {len(keys)} keys, "
        f"{len(qfr)} bytes of query ...)")
    res["frames_client_ms"], res["frames_server_ms"], res["frames_http_ms"], out = \
        bench(c, qfr, a.warmup, a.runs, "frames")
    res["frames_rows"] = sum(1 for line in out.splitlines() if line)
    res["frames_result_bytes"] = len(out)
    if res["frames_rows"] != len(keys):
        raise SystemExit(f"frames query found {res['frames_rows']} of {len(keys)} stacks")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
