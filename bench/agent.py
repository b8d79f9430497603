"""Driver of scripts/bench agent (see bench/agent.sh). Progress on stderr;
one JSON object on the last line of stdout."""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    """CPU time of all the process's threads, in ns precision (schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that just exited
    return total / 1e9


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Agent:
    def __init__(self, a, hz):
        self.log = open(os.path.join(a.work, f"agent-{hz}.log"), "w+")
        self.p = subprocess.Popen([os.path.join(a.bin, "stackhouse"), "agent", "--server", a.server,
                                   "--sample-rate", str(hz), "--log-level", "info"],
                                  stderr=self.log, stdout=subprocess.DEVNULL)
        for _ in range(300):
            self.log.seek(0)
            if "agent started" in self.log.read():
                return
            if self.p.poll() is not None:
                raise SystemExit("bench agent: the agent exited:\n" + open(self.log.name).read())
            time.sleep(0.1)
        raise SystemExit("bench agent: the agent did not start")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)


def workload(a, args):
    return subprocess.Popen([os.path.join(a.bin, "sampler_workload")] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def work_cpu(a, cycles):
    p = workload(a, ["work", str(cycles), "2"])
    out, _ = p.communicate()
    return json.loads(out.strip().splitlines()[-1])["process_cpu_ns"] / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--server")
    ap.add_argument("--work")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--seconds", type=float)
    a = ap.parse_args()
    result = {}

    # The agent's own cost on a busy host.
    for hz in (19, 99):
        agent = Agent(a, hz)
        busy = [workload(a, ["cpu", str(a.seconds + 2), "2"]), workload(a, ["syscalls", str(a.seconds + 2)])]
        time.sleep(1)
        c0, t0 = cpu_seconds(agent.p.pid), time.time()
        time.sleep(a.seconds)
        c1, t1 = cpu_seconds(agent.p.pid), time.time()
        rss = peak_rss_mb(agent.p.pid)
        for b in busy:
            b.wait()
        agent.stop()
        pct = 100 * (c1 - c0) / (t1 - t0)
        result[f"agent_cpu_pct_{hz}hz"] = round(pct, 3)
        result["agent_rss_mb"] = round(max(rss, result.get("agent_rss_mb", 0)), 1)
        log(f"{hz} Hz: agent CPU {pct:.3f}% of a core, peak RSS {rss:.1f} MB")

    # End to end: alternating rounds, a fixed amount of work each.
    o = json.loads(subprocess.run([os.path.join(a.bin, "sampler_workload"), "work", "10", "1"],
                                  capture_output=True, text=True).stdout.strip().splitlines()[-1])
    cycles = max(5, int(3.0 / (o["process_cpu_ns"] / 1e9 / 10)))
    plain, agent_runs, perf_runs = [], [], []
    pdata = os.path.join(a.work, "perf.data")
    for i in range(a.rounds):
        plain.append(work_cpu(a, cycles))
        agent = Agent(a, 99)
        agent_runs.append(work_cpu(a, cycles))
        agent.stop()
        perf = subprocess.Popen(["perf", "record", "-q", "-a", "-g", "-F", "99", "-o", pdata],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        perf_runs.append(work_cpu(a, cycles))
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=60)
        log(f"round {i + 1}/{a.rounds}: plain {plain[-1]:.2f} s, agent {agent_runs[-1]:.2f} s, "
            f"perf record {perf_runs[-1]:.2f} s")

    def pct(xs):
        return round(100 * (statistics.median(xs) / statistics.median(plain) - 1), 2)

    result["workload_slowdown_pct"] = pct(agent_runs)
    result["plain_cpu_s_min_max"] = [round(min(plain), 3), round(max(plain), 3)]
    result["perf_record_slowdown_pct"] = pct(perf_runs)
    result["rounds"] = a.rounds
    result["targets"] = {"agent_cpu_pct_19hz": 0.5, "agent_cpu_pct_99hz": 1, "agent_rss_mb": 64}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
