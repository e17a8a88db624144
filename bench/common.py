"""Helpers for the benchmarks: where ../shared is, free ports, starting and stopping servers."""
import os
import re
import signal
import subprocess
from pathlib import Path

from survey.testing import free_port, wait_for_port

__all__ = ["ROOT", "SHARED", "free_port", "start", "stop", "wait_for_port", "wrk"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def start(cmd, env=None, cwd=None) -> subprocess.Popen:
    """Start a server in its own process group (so stop() ends its workers too)."""
    return subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def wrk(url: str, script: Path, seconds: int, threads: int = 2, connections: int = 32) -> dict:
    """Run wrk; return requests/s, completed requests and non-2xx/3xx responses."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    done = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rate": rate, "requests": done, "bad": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else "", "raw": out}
