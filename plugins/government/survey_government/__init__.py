"""Government offices and service windows (机关和窗口单位): the sector, its questionnaire and
its respondent categories. Scales and the common categories come from the core's built-in
plugin.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "government"

CATEGORIES = [
    {"key": "applicant", "label": {"zh": "办事群众", "en": "Member of the public doing business here"},
     "counts_toward_share": True},
    {"key": "enterprise_rep", "label": {"zh": "企业代表", "en": "Representative of a business"},
     "counts_toward_share": True},
    {"key": "supervisor", "label": {"zh": "行风监督员", "en": "Conduct supervisor"}, "counts_toward_share": False},
]


@hookimpl
def survey_sectors():
    """The government office and service window sector."""
    return [{"key": SECTOR, "label": {"zh": "机关和窗口单位", "en": "Government offices and service windows"}}]


@hookimpl
def survey_questionnaires():
    """The government office satisfaction survey."""
    return [HERE / "government.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Applicants, business representatives and conduct supervisors, for government only."""
    return CATEGORIES if sector == SECTOR else []
