"""Villages (村): the sector, its two questionnaires and its respondent categories.

The assembly form (五个好, 四议两公开, 评诺) is the sector's default and pairs with the
villagers' point-of-service form, which the QR code on the village notice board answers.
Urban communities (社区) have their own plugin, survey-plugin-communities. Scales and the
common categories (党代表, 人大代表, 本单位党员干部职工) come from the core's built-in plugin:
the village's own party members and cadres answer as 本单位党员干部职工.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "village"

CATEGORIES = [
    {"key": "villager", "label": {"zh": "村民", "en": "Villager"}, "counts_toward_share": True},
    {"key": "village_rep", "label": {"zh": "村民代表", "en": "Villagers' representative"}, "counts_toward_share": True},
]


@hookimpl
def survey_sectors():
    """The village sector."""
    return [{"key": SECTOR, "label": {"zh": "村", "en": "Villages"}}]


@hookimpl
def survey_questionnaires():
    """The assembly form (the default) and the villagers' form it pairs with."""
    return [HERE / "village.toml", HERE / "village_visit.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Villagers and villagers' representatives, for villages only."""
    return CATEGORIES if sector == SECTOR else []
