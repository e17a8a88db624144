"""Maintainers: refresh the message catalog after changing user-facing strings.

    python scripts/translations.py            # extract, merge into zh_CN, list what is untranslated
    python scripts/translations.py --check    # exit 1 if any string lacks a Chinese translation

Translations themselves are edited in survey/translations/zh_CN/LC_MESSAGES/messages.po.
The app compiles the catalog on start (survey/i18n.py), so no compiled file is committed.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "survey/translations/zh_CN/LC_MESSAGES/messages.po"


def extract() -> "Catalog":
    """Every translatable string in the code and templates."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                        "-k", "_l", "-k", "lazy_gettext", "--no-location", "--sort-output", "-o", str(pot), "."],
                       cwd=ROOT, check=True, capture_output=True)
        with pot.open("rb") as f:
            return read_po(f)


def untranslated(template, catalog) -> list[str]:
    """msgids of the template with no (or a fuzzy) translation in the catalog."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        text = found.string if found else None
        if isinstance(text, (tuple, list)):
            text = text[0] if all(text) else ""
        if not text or (found and found.fuzzy):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def main(argv) -> int:
    template = extract()
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    if "--check" not in argv:
        catalog.update(template, no_fuzzy_matching=True)
        with PO.open("wb") as f:
            write_po(f, catalog, sort_output=True, omit_header=False, ignore_obsolete=True, width=100)
    missing = untranslated(template, catalog)
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    return 1 if missing and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
