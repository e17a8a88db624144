"""`survey plugin new NAME --sector KEY`: a ready plugin distribution for a branch.

What it writes installs with `pip install -e DIR` and passes its own tests as generated: a
pyproject with the entry point, the package with its hooks, a questionnaire, a respondent
category, tests that use the toolkit's fixtures (survey.testing) and a README. The texts are
starting points for the branch to rewrite; docs/plugins.md explains every part.
"""
from __future__ import annotations

import re
from pathlib import Path
from string import Template

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SECTOR_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TEMPLATES = Path(__file__).parent / "scaffold_templates"


class ScaffoldError(ValueError):
    """A plugin that cannot be generated, with what to do instead."""


def _names(name: str, sector: str) -> dict[str, str]:
    if not NAME_PATTERN.match(name) or len(name) > 40:
        raise ScaffoldError(f"plugin name {name!r}: use lower-case letters, digits and '-', "
                            "starting with a letter (e.g. clinic or county-clinics)")
    if not SECTOR_PATTERN.match(sector):
        raise ScaffoldError(f"sector key {sector!r}: use lower-case letters, digits and '_', "
                            "starting with a letter (e.g. clinic)")
    package = "survey_" + name.replace("-", "_")
    return {"name": name, "package": package, "distribution": f"survey-plugin-{name}",
            "sector": sector, "questionnaire": sector.replace("_", "-")}


def new_plugin(name: str, sector: str, out: Path, label_zh: str | None = None,
               label_en: str | None = None) -> list[Path]:
    """Write the plugin distribution into out/NAME; return the files written.

    Refuses (ScaffoldError) a bad name or sector key, or a folder that already exists, before
    writing anything.
    """
    values = _names(name, sector)
    values["label_zh"] = label_zh or "本系统单位"
    values["label_en"] = label_en or sector.replace("_", " ").capitalize()
    root = Path(out) / name
    if root.exists():
        raise ScaffoldError(f"{root} already exists: choose another name or --out folder")
    if not Path(out).is_dir():
        raise ScaffoldError(f"{out} is not a folder: create it or give another --out")
    written = []
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES).as_posix()[: -len(".tmpl")]
        relative = relative.replace("PACKAGE", values["package"]).replace("QUESTIONNAIRE", values["questionnaire"])
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
        written.append(target)
    return written
