"""Copy the example plugin's real files into the blocks of docs/plugins.md that show them
(`<!-- file: PATH -->` before a fenced block); tests/test_docs_plugins.py checks they agree."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs/plugins.md"
BLOCK = re.compile(r"(<!-- file: (?P<path>[^ ]+) -->\n```[a-z]*\n)(?P<body>.*?)(\n```)", re.S)


def main() -> None:
    text = PAGE.read_text(encoding="utf-8")
    text = BLOCK.sub(lambda m: m.group(1) + (ROOT / m["path"]).read_text(encoding="utf-8").rstrip("\n") + m.group(4), text)
    PAGE.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
