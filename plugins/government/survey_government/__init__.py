"""Government offices and service windows (机关和窗口单位): the sector, its two questionnaires
and its respondent categories.

The assembly form (五个好, 评诺) is the sector's default and pairs with the point-of-service
form for the people who came on business, which the office's QR code answers. Scales and the
common categories (党代表, 人大代表, 本单位党员干部职工) come from the core's built-in plugin.
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
    """The assembly form (the default) and the visitors' form it pairs with."""
    return [HERE / "government.toml", HERE / "government_visit.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Applicants, business representatives and conduct supervisors (invited from outside,
    like delegates: they do not count toward the share), for government only."""
    return CATEGORIES if sector == SECTOR else []
