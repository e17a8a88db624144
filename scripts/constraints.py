"""Write constraints.txt: the exact versions, in the current venv, of everything the toolkit
and its plugins need at run time (with the `redis` extra), and nothing the tests need.

    python scripts/constraints.py > constraints.txt

Run it in the venv the whole suite passed in, before a release (docs/operators.md, Releases).
"""
from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution

ROOTS = [("survey-toolkit", {"redis"})]
OURS = {"survey-toolkit", "survey-plugin-schools", "survey-plugin-hospitals", "survey-plugin-villages",
        "survey-plugin-enterprises", "survey-plugin-government", "survey-plugin-example-branch"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(name: str, extras: set[str]) -> list[tuple[str, set[str]]]:
    """The distributions name (with extras) needs, with their own extras."""
    from packaging.requirements import Requirement
    found = []
    for line in distribution(name).requires or []:
        req = Requirement(line)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        found.append((req.name, set(req.extras)))
    return found


def closure() -> dict[str, str]:
    seen: dict[str, str] = {}
    todo = list(ROOTS) + [(n, set()) for n in sorted(OURS - {"survey-toolkit"})]
    while todo:
        name, extras = todo.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        key = canonical(dist.metadata["Name"])
        if key in seen and not extras:
            continue
        seen[key] = dist.version
        todo.extend(requirements(name, extras))
    return {k: v for k, v in seen.items() if k not in OURS}


if __name__ == "__main__":
    print("# Tested versions of the toolkit's run-time dependencies (with the redis extra).")
    print("# pip install -c constraints.txt …   — made by scripts/constraints.py from the venv the suite passed in.")
    for name, version in sorted(closure().items()):
        print(f"{name}=={version}")
