"""Schools (学校): the sector, its two questionnaires and its respondent categories.

The assembly form (五个好, 评诺) is the sector's default and pairs with the parents'
point-of-service form, which the school's QR code answers. The scales and the common
categories (党代表, 人大代表, 本单位党员干部职工) come from the core's built-in plugin; the
school's teachers and staff answer as 本单位党员干部职工, which does not count toward the share.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "school"

CATEGORIES = [
    {"key": "parent", "label": {"zh": "家长", "en": "Parent"}, "counts_toward_share": True},
    {"key": "student", "label": {"zh": "学生", "en": "Pupil"}, "counts_toward_share": True},
    {"key": "neighbour", "label": {"zh": "学校周边居民", "en": "Resident living near the school"},
     "counts_toward_share": True},
]


@hookimpl
def survey_sectors():
    """The school sector."""
    return [{"key": SECTOR, "label": {"zh": "学校", "en": "Schools"}}]


@hookimpl
def survey_questionnaires():
    """The assembly form (the default) and the parents' form it pairs with."""
    return [HERE / "school.toml", HERE / "school_parents.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Parents, pupils and neighbours, for schools only."""
    return CATEGORIES if sector == SECTOR else []
