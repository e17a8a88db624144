"""A new sector arrives by `pip install` alone, and leaves by `pip uninstall`.

A fresh virtual environment (seeing the already installed core and its dependencies) gets the
example branch plugin from plugins/example-branch: its sector shows in `survey plugins` and in
the admin's sector choice, with no change to core code; uninstalling removes it.
"""
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADMIN_SECTORS = """
import os, re
from survey import create_app
from survey.auth import create_user
from survey.migrate import upgrade
app = create_app()
with app.app_context():
    upgrade()
    create_user("office", "correct-horse-battery")
client = app.test_client()
page = client.get("/admin/login").get_data(as_text=True)
token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
client.post("/admin/login", data={"username": "office", "password": "correct-horse-battery", "csrf_token": token})
client.post("/admin/campaigns/new", data={})
print(client.get("/admin/campaigns/new").status_code)
with app.app_context():
    from survey.models import Campaign
    from survey.db import db
    db.session.add(Campaign(slug="c", name="c")); db.session.commit()
html = client.get("/admin/campaigns/c/units/new").get_data(as_text=True)
print("SECTORS:" + ",".join(re.findall(r'<option[^>]*value="([a-z_\\-]+)"', html)))
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    where = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(where)
    return where


def run(env, *args, cwd=None, tmp=None):
    env_vars = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env_vars.update(PATH=f"{env / 'bin'}:{os.environ['PATH']}", SURVEY_INSTANCE=str(tmp),
                    PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run(list(args), cwd=cwd, env=env_vars, capture_output=True, text=True, timeout=300)


def test_example_plugin_installs_and_uninstalls(env, tmp_path):
    # install from a copy: an in-tree build would leave metadata in plugins/example-branch
    source = shutil.copytree(ROOT / "plugins/example-branch", tmp_path / "example-branch")
    before = run(env, str(env / "bin/python"), "-m", "survey.cli", "plugins", tmp=tmp_path)
    assert "example-branch" not in before.stdout, "the example plugin must not be installed in the base environment"
    install = run(env, str(env / "bin/python"), "-m", "pip", "install", "--no-deps", "-q", str(source), tmp=tmp_path)
    assert install.returncode == 0, install.stderr
    listed = run(env, str(env / "bin/python"), "-m", "survey.cli", "plugins", "--check", tmp=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "example-branch" in listed.stdout and "sectors: library" in listed.stdout
    admin = run(env, str(env / "bin/python"), "-c", ADMIN_SECTORS, tmp=tmp_path)
    assert "library" in admin.stdout.split("SECTORS:")[1], admin.stdout + admin.stderr
    remove = run(env, str(env / "bin/python"), "-m", "pip", "uninstall", "-y", "-q", "survey-plugin-example-branch", tmp=tmp_path)
    assert remove.returncode == 0, remove.stderr
    after = run(env, str(env / "bin/python"), "-m", "survey.cli", "plugins", tmp=tmp_path)
    assert after.returncode == 0 and "example-branch" not in after.stdout and "library" not in after.stdout
