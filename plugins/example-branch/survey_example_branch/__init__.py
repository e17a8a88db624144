"""A branch's own survey plugin: public libraries (公共图书馆). See docs/plugins.md."""
from pathlib import Path

from survey import hookimpl


@hookimpl
def survey_sectors():
    return [{"key": "library", "label": {"zh": "公共图书馆", "en": "Public libraries"}}]


@hookimpl
def survey_questionnaires():
    return [Path(__file__).parent / "library.toml"]


@hookimpl
def survey_respondent_categories(sector):
    if sector != "library":
        return []
    return [{"key": "reader", "label": {"zh": "读者", "en": "Reader"}, "counts_toward_share": True}]
