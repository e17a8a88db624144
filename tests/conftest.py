"""The core's fixtures come from survey.testing (installed as a pytest11 plugin)."""
from pathlib import Path

import pytest

GENERAL_ITEMS = ["leadership", "members", "mechanism", "results", "reputation", "serve_development",
                 "task_completion", "harmony", "satisfaction", "efficiency", "attitude", "integrity"]


@pytest.fixture
def full_answer():
    """A complete, valid answer to the built-in five-goods questionnaire."""
    data = {"category": "resident", "comment": "服务态度好"}
    data.update({key: "satisfied" for key in GENERAL_ITEMS})
    return data


@pytest.fixture
def shared_dir():
    """../shared beside the repository (the floors and the domain texts)."""
    return Path(__file__).resolve().parents[2] / "shared"
