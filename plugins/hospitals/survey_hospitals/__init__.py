"""Hospitals (医院): the sector, its questionnaires and its respondent categories.

The assembly form (五个好, 评诺) comes first, so it is the sector's default; it pairs with the
patients' point-of-service form, which the hospital's QR code answers. The service-window form
is a second point-of-service form, for a unit that is a hospital's windows. Scales and the
common categories (党代表, 人大代表, 本单位党员干部职工) come from the core's built-in plugin.
"""
from pathlib import Path

from survey import hookimpl

HERE = Path(__file__).parent
SECTOR = "hospital"

CATEGORIES = [
    {"key": "patient", "label": {"zh": "患者", "en": "Patient"}, "counts_toward_share": True},
    {"key": "family", "label": {"zh": "患者家属", "en": "Patient's family member"}, "counts_toward_share": True},
]


@hookimpl
def survey_sectors():
    """The hospital sector."""
    return [{"key": SECTOR, "label": {"zh": "医院", "en": "Hospitals"}}]


@hookimpl
def survey_questionnaires():
    """The assembly form (the default), the patients' form it pairs with, and the windows' form."""
    return [HERE / "hospital.toml", HERE / "hospital_patients.toml", HERE / "hospital_window.toml"]


@hookimpl
def survey_respondent_categories(sector):
    """Patients and their families, for hospitals only (the hospital's own staff answer as
    本单位党员干部职工, a common category that does not count toward the share)."""
    return CATEGORIES if sector == SECTOR else []
