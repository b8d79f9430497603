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


def bpf_prog_stats():
    """name -> (run_time_ns, run_cnt) of the loaded BPF programs (needs
    kernel.bpf_stats_enabled=1)."""
    try:
        out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True).stdout
        return {p["name"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in json.loads(out)}
    except (OSError, ValueError, KeyError):
        return {}


class Agent:
    def __init__(self, a, hz, extra=()):
        self.log = open(os.path.join(a.work, f"agent-{hz}.log"), "w+")
        self.p = subprocess.Popen([os.path.join(a.bin, "stackhouse"), "agent", "--server", a.server,
                                   "--sample-rate", str(hz), "--log-level", "info"] + list(extra),
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

    # The agent's own cost on a busy host: its process's CPU time, plus the
    # time its BPF programs run in the kernel on the sampled tasks' CPUs
    # (kernel BPF statistics), which /proc charges to those tasks.
    subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=1"], check=False)
    configs = [("19hz", 19, []), ("99hz", 99, []), ("99hz_perf_engine", 99, ["--engine", "perf"]),
               ("99hz_off_cpu", 99, ["--off-cpu"])]
    for name, hz, extra in configs:
        agent = Agent(a, hz, extra)
        busy = [workload(a, ["cpu", str(a.seconds + 2), "2"]), workload(a, ["syscalls", str(a.seconds + 2)])]
        time.sleep(1)
        c0, t0, b0 = cpu_seconds(agent.p.pid), time.time(), bpf_prog_stats()
        time.sleep(a.seconds)
        c1, t1, b1 = cpu_seconds(agent.p.pid), time.time(), bpf_prog_stats()
        rss = peak_rss_mb(agent.p.pid)
        for b in busy:
            b.wait()
        agent.stop()
        pct = 100 * (c1 - c0) / (t1 - t0)
        bpf_ns = sum(b1[k][0] - b0.get(k, (0, 0))[0] for k in b1
                     if k in ("on_cpu_sample", "on_switch", "on_exec", "on_exit"))
        bpf_pct = 100 * bpf_ns / 1e9 / (t1 - t0)
        runs = b1.get("on_cpu_sample", (0, 0))[1] - b0.get("on_cpu_sample", (0, 0))[1]
        result[f"agent_cpu_pct_{name}"] = round(pct, 3)
        result[f"bpf_cpu_pct_{name}"] = round(bpf_pct, 3)
        if runs > 0:
            result[f"bpf_ns_per_sample_{name}"] = round((b1["on_cpu_sample"][0] - b0["on_cpu_sample"][0]) / runs)
        if name in ("19hz", "99hz"):
            result["agent_rss_mb"] = round(max(rss, result.get("agent_rss_mb", 0)), 1)
        agent.log.seek(0)
        engine = "bpf" if '"engine":"bpf"' in agent.log.read() else "perf"
        result[f"engine_{name}"] = engine
        log(f"{name}: engine {engine}, agent CPU {pct:.3f}% of a core (+{bpf_pct:.3f}% in BPF programs), "
            f"peak RSS {rss:.1f} MB")
    subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=0"], check=False)

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
    result["met"] = (result["agent_cpu_pct_19hz"] <= 0.5 and result["agent_cpu_pct_99hz"] <= 1 and
                     result["agent_rss_mb"] <= 64)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
