#!/usr/bin/env python3
"""CPU-time A/B of libraries on bench cells, for when wall-clock ratios are too noisy.

Runs one cell child (`src/cell.ts`, as `pnpm bench` does) per (round, workload, peer,
library), interleaving the libraries (their order flips every round), and reports the
median CPU seconds (user + system, the child's GC threads included) and the median of
its runs' records/s.

  python3 scripts/cpu-ab.py --lib now=../dynamic-batcher/src/index.ts \\
      --lib before=/path/to/other/checkout/packages/dynamic-batcher/src/index.ts \\
      --workload W1s --peers ours-full,ours-idle --rounds 3

Run from packages/bench with the workspace's Node 24 first on the PATH (e.g. through
`pnpm exec python3 ...`), or pass --node.
"""
import argparse, json, os, shutil, statistics, subprocess

SPECS = {
    "W1": {"group": "W1", "workload": "W1", "via": "submit", "size": 200000},
    "W1s": {"group": "W1s", "workload": "W1s", "via": "submit", "size": 1000, "perProducer": 200},
    "W1b": {"group": "W1b", "workload": "W1b", "via": "bulk", "size": 200000},
}

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--lib", action="append", required=True, help="name=path of a library's src/index.ts")
parser.add_argument("--workload", action="append", choices=sorted(SPECS), required=True)
parser.add_argument("--peers", required=True, help="comma-separated peer names, as in the bench")
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--runs", type=int, default=11)
parser.add_argument("--node", default=shutil.which("node"))
args = parser.parse_args()

libs = dict(entry.split("=", 1) for entry in args.lib)
cpu, rate = {}, {}
for round_ in range(args.rounds):
    names = list(libs) if round_ % 2 == 0 else list(libs)[::-1]
    for workload in args.workload:
        for peer in args.peers.split(","):
            for name in names:
                spec = dict(SPECS[workload], peer=peer, process="async", windowMs=1, runs=args.runs, warmup={"runs": 3})
                env = dict(os.environ, BENCH_LIBRARY=os.path.abspath(libs[name]))
                child = subprocess.Popen(
                    [args.node, "--expose-gc", "--max-old-space-size=8192", "src/cell.ts", json.dumps([spec])],
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                out = child.stdout.read().decode()
                _, _, usage = os.wait4(child.pid, 0)
                lines = [line for line in out.splitlines() if line.startswith("@@bench-result ")]
                result = json.loads(lines[0].split(" ", 1)[1]) if lines else {}
                runs = [run["recPerSec"] for run in result.get("runs", [])]
                key = (workload, peer, name)
                cpu.setdefault(key, []).append(usage.ru_utime + usage.ru_stime)
                rate.setdefault(key, []).append(statistics.median(runs) if runs else float("nan"))
for key in sorted(cpu):
    print(f"{key[0]:4} {key[1]:20} {key[2]:10} cpu {statistics.median(cpu[key]):6.2f} s "
          f"(rounds {', '.join(f'{c:.2f}' for c in cpu[key])})  {statistics.median(rate[key]):,.0f} rec/s")
