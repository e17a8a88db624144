"""Villages and communities (村、社区): the sector, its questionnaire and its respondent
categories. Scales and the common categories come from the core's built-in plugin.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "village"

CATEGORIES = [
    {"key": "villager", "label": {"zh": "村民", "en": "Villager"}, "counts_toward_share": True},
    {"key": "village_rep", "label": {"zh": "村民代表", "en": "Villagers' representative"}, "counts_toward_share": True},
    {"key": "member", "label": {"zh": "党员", "en": "Party member"}, "counts_toward_share": False},
]


@hookimpl
def survey_sectors():
    """The village and community sector."""
    return [{"key": SECTOR, "label": {"zh": "村、社区", "en": "Villages and communities"}}]


@hookimpl
def survey_questionnaires():
    """The village satisfaction survey."""
    return [HERE / "village.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Villagers, their representatives and party members, for villages only."""
    return CATEGORIES if sector == SECTOR else []
