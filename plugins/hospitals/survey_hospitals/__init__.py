"""Hospitals (医院): the sector, its two questionnaires and its respondent categories.

The patients' survey comes first, so it is the sector's default; the service-window survey
is the second. Scales and the common categories come from the core's built-in plugin.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "hospital"

CATEGORIES = [
    {"key": "patient", "label": {"zh": "患者", "en": "Patient"}, "counts_toward_share": True},
    {"key": "family", "label": {"zh": "患者家属", "en": "Patient's family member"}, "counts_toward_share": True},
    {"key": "staff", "label": {"zh": "医务人员", "en": "Medical staff"}, "counts_toward_share": False},
]


@hookimpl
def survey_sectors():
    """The hospital sector."""
    return [{"key": SECTOR, "label": {"zh": "医院", "en": "Hospitals"}}]


@hookimpl
def survey_questionnaires():
    """The patients' survey (the default) and the service-window survey."""
    return [HERE / "hospital_patients.toml", HERE / "hospital_window.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Patients, their families and medical staff, for hospitals only."""
    return CATEGORIES if sector == SECTOR else []
