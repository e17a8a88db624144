"""Urban communities (社区): the sector, its two questionnaires and its respondent categories.

The assembly form (五个好, 文明和谐, 评诺) is the sector's default and pairs with the residents'
point-of-service form, which the community's QR code answers. The theme is the seeds'
"civilised and harmonious" (文明和谐先锋, 001). Scales and the common categories (党代表,
人大代表, 本单位党员干部职工: the community's own party members, cadres and staff) come from the
core's built-in plugin.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "community"

CATEGORIES = [
    {"key": "community_resident", "label": {"zh": "居民", "en": "Resident"}, "counts_toward_share": True},
    {"key": "resident_rep", "label": {"zh": "居民代表", "en": "Residents' representative"},
     "counts_toward_share": True},
]


@hookimpl
def survey_sectors():
    """The community sector."""
    return [{"key": SECTOR, "label": {"zh": "社区", "en": "Communities"}}]


@hookimpl
def survey_questionnaires():
    """The assembly form (the default) and the residents' form it pairs with."""
    return [HERE / "community.toml", HERE / "community_visit.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Residents and residents' representatives, for communities only."""
    return CATEGORIES if sector == SECTOR else []
