"""docs/plugins.md shows the example plugin's real files: a page that drifts from them fails."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```[a-z]*\n(?P<body>.*?)\n```", re.S)


def test_every_file_shown_in_the_plugin_guide_is_the_real_file():
    page = (ROOT / "docs/plugins.md").read_text(encoding="utf-8")
    shown = {m["path"]: m["body"] for m in BLOCK.finditer(page)}
    assert set(shown) >= {"plugins/example-branch/pyproject.toml",
                          "plugins/example-branch/survey_example_branch/__init__.py",
                          "plugins/example-branch/survey_example_branch/library.toml",
                          "plugins/example-branch/tests/test_example_branch.py"}
    for path, body in shown.items():
        assert body == (ROOT / path).read_text(encoding="utf-8").rstrip("\n"), f"docs/plugins.md shows an old {path}"


def test_the_guide_names_every_fixture_and_helper_the_toolkit_offers():
    import survey.testing as testing
    page = (ROOT / "docs/plugins.md").read_text(encoding="utf-8")
    offered = [name for name in vars(testing) if not name.startswith("_") and callable(getattr(testing, name))
               and getattr(getattr(testing, name), "__module__", "") == "survey.testing"]
    for name in offered:
        if name in ("free_port", "wait_for_port", "PostgresServer", "backend"):
            continue  # the suite's own plumbing
        assert f"`{name}" in page or f".{name}(" in page, f"docs/plugins.md does not mention {name}"
