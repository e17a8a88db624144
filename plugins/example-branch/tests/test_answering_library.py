"""A branch tests its plugin the way the core does: the `app`, `client` and `make_campaign`
fixtures come from the toolkit's pytest plugin (survey.testing), on SQLite and PostgreSQL."""
import importlib.metadata

import pytest

import survey_example_branch


@pytest.fixture
def app_config():
    installed = any(ep.name == "example-branch" for ep in importlib.metadata.entry_points(group="survey.plugins"))
    return {} if installed else {"SURVEY_EXTRA_PLUGINS": [("example-branch", survey_example_branch)]}


def test_a_reader_rates_the_library(client, make_campaign):
    make_campaign(units=[("LIB-001", "县图书馆", "library")])
    page = client.get("/s/LIB-001").get_data(as_text=True)
    assert "县图书馆" in page and "读者" in page
    form = {"category": "reader"}
    for line in page.splitlines():
        if 'type="radio"' in line and 'value="satisfied"' in line:
            form[line.split('name="')[1].split('"')[0]] = "satisfied"
    assert client.post("/s/LIB-001", data=form).status_code == 303
