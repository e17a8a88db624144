"""Enterprises and non-public organisations (企业和非公有制经济组织): the sector, its
questionnaire and its respondent categories. Scales and the common categories come from the
core's built-in plugin.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "enterprise"

CATEGORIES = [
    {"key": "employee", "label": {"zh": "职工", "en": "Employee"}, "counts_toward_share": True},
    {"key": "customer", "label": {"zh": "客户", "en": "Customer"}, "counts_toward_share": True},
    {"key": "neighbour", "label": {"zh": "周边群众", "en": "Resident living nearby"}, "counts_toward_share": True},
    {"key": "manager", "label": {"zh": "企业管理人员", "en": "Manager of the company"}, "counts_toward_share": False},
]


@hookimpl
def survey_sectors():
    """The enterprise sector."""
    return [{"key": SECTOR, "label": {"zh": "企业和非公有制经济组织",
                                      "en": "Enterprises and non-public organisations"}}]


@hookimpl
def survey_questionnaires():
    """The enterprise satisfaction survey."""
    return [HERE / "enterprise.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Employees, customers, neighbours and managers, for enterprises only."""
    return CATEGORIES if sector == SECTOR else []
