"""Every headline figure in one run, each beside its floor from ../shared/bench measured in
the same run, as one table.

    python bench/all.py [--quick]

--quick uses smaller sizes (1M answer rows instead of 12M, one round of submissions and of the
Slow-3G phone, 30 s of load; the scrub always runs on 1M) for a look in a few minutes; without it the run takes about a quarter of an hour.
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> str:
    """Run one benchmark script and return what it printed (echoed as it goes)."""
    print(f"\n$ python bench/{script} {' '.join(args)}", flush=True)
    out = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True)
    print(out.stdout + out.stderr[-2000:], flush=True)
    if out.returncode:
        raise SystemExit(f"bench/{script} failed with status {out.returncode}")
    return out.stdout


def grab(pattern: str, text: str, default: str = "?") -> str:
    match = re.search(pattern, text)
    return match.group(1) if match else default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    rows = []

    out = run("submit.py", "--rounds", "1" if quick else "3", "--seconds", "10" if quick else "15")
    rows.append(("answers/s, POST /s/<unit>, SQLite, gunicorn 4 workers",
                 grab(r"survey\s+POST /s/<unit>:\s+([\d.]+)", out), grab(r"floor\s+POST /s/<unit>:\s+([\d.]+)", out),
                 grab(r"ratio survey/floor: ([\d.]+)", out), ">= 0.50"))

    out = run("ballots.py", "--count", "1000", "--memory-count", "5000" if quick else "20000")
    rows.append(("ballots/s, 1,000 numbered ballots with tokens", grab(r"= ([\d.]+) ballots/s", out),
                 grab(r"floor: .*= ([\d.]+) ballots/s", out), grab(r"ratio: ([\d.]+)", out), ">= 0.80"))
    rows.append(("peak memory, large ballot run", grab(r"peak memory: (.*)", out), "", "", "flat"))

    tally_rows = "1000000" if quick else "12000000"
    out = run("tally.py", "--rows", tally_rows)
    rows.append((f"results page, {int(tally_rows):,} answer rows (ms; floor = one GROUP BY)",
                 grab(r"results page .*: first ([\d.]+) ms", out), grab(r"floor GROUP BY .*: ([\d.]+) ms", out),
                 grab(r"ratio page/floor: ([\d.]+) \(first\)", out), "page < 1 s"))

    out = run("resident.py", "--rounds", "1" if quick else "3")
    for name, label, goal in (("first unit, first paint", "Slow 3G: first unit, first paint (ms)", "<= 2500"),
                              ("second unit, first paint", "Slow 3G: second unit, first paint (ms)", "<= 2500"),
                              ("submit -> thank-you, first paint", "Slow 3G: submit to thank-you (ms)", "<= 4500")):
        line = re.escape(name)
        rows.append((label, grab(line + r": (\d+) ms", out), grab(line + r".*?floor (\d+) ms", out),
                     grab(line + r".*?ratio ([\d.]+)", out), goal))

    out = run("scrub.py", "--rows", "1000000")
    for backend in ("sqlite", "postgres"):
        rows.append((f"scrub, 1,000,000 answer rows, {backend}: s; longest answer pause s",
                     grab(rf"scrub {backend}, [\d,]+ answer rows: ([\d.]+) s", out),
                     "", grab(rf"answering {backend} during the scrub: .*longest pause ([\d.]+) s", out),
                     "< 60 s; pause < 1 s"))

    if (HERE / "load.py").exists():
        out = run("load.py", "--seconds", "30" if quick else "60")
        rows.append(("load, 200 clients: answers/s, p50/p99 ms, lost/extra",
                     grab(r"([\d.]+) answers/s", out),
                     "", grab(r"(p50[^\n]*)", out), "lost 0, extra 0"))

    width = max(len(r[0]) for r in rows)
    print("\n" + "figure".ljust(width) + " | ours       | floor      | ratio  | goal")
    print("-" * (width + 48))
    for name, ours, floor, ratio, goal in rows:
        print(f"{name.ljust(width)} | {ours:<10} | {floor:<10} | {ratio:<6} | {goal}")


if __name__ == "__main__":
    main()
