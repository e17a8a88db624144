"""Schools (学校): the sector, its questionnaire and its respondent categories.

The scales (satisfaction, rating, yesno, commitment) and the common categories (党代表,
人大代表, 服务对象, 普通群众代表) come from the core's built-in plugin.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "school"

CATEGORIES = [
    {"key": "parent", "label": {"zh": "家长", "en": "Parent"}, "counts_toward_share": True},
    {"key": "student", "label": {"zh": "学生", "en": "Student"}, "counts_toward_share": True},
    {"key": "teacher", "label": {"zh": "教职工", "en": "Teacher or staff member"}, "counts_toward_share": False},
    {"key": "neighbour", "label": {"zh": "学校周边居民", "en": "Resident living near the school"},
     "counts_toward_share": True},
]


@hookimpl
def survey_sectors():
    """The school sector."""
    return [{"key": SECTOR, "label": {"zh": "学校", "en": "Schools"}}]


@hookimpl
def survey_questionnaires():
    """The school satisfaction survey."""
    return [HERE / "school.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Parents, students, staff and neighbours, for schools only."""
    return CATEGORIES if sector == SECTOR else []
