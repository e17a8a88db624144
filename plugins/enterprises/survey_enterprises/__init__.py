"""Enterprises and non-public organisations (企业和非公有制经济组织): the sector, its
two questionnaires and its respondent categories.

The assembly form (五个好, 兴业奉献, 评诺) is the sector's default and pairs with the customers'
point-of-service form, which the company's QR code answers. Scales and the common categories
(党代表, 人大代表, 本单位党员干部职工) come from the core's built-in plugin: the company's own
employees and managers answer as 本单位党员干部职工, which does not count toward the share, as
in every sector.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "enterprise"

CATEGORIES = [
    {"key": "customer", "label": {"zh": "客户", "en": "Customer"}, "counts_toward_share": True},
    {"key": "neighbour", "label": {"zh": "周边群众", "en": "Resident living nearby"}, "counts_toward_share": True},
]


@hookimpl
def survey_sectors():
    """The enterprise sector."""
    return [{"key": SECTOR, "label": {"zh": "企业和非公有制经济组织",
                                      "en": "Enterprises and non-public organisations"}}]


@hookimpl
def survey_questionnaires():
    """The assembly form (the default) and the customers' form it pairs with."""
    return [HERE / "enterprise.toml", HERE / "enterprise_visit.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Customers and people living nearby, for enterprises only."""
    return CATEGORIES if sector == SECTOR else []
