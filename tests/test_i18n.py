"""Two languages: every user-facing string has a Chinese translation; Chinese is the default."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_string_is_translated_to_chinese():
    result = subprocess.run([sys.executable, "scripts/translations.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fresh_instance_serves_chinese_with_no_extra_step(client, make_campaign):
    make_campaign()
    html = client.get("/s/GEN-001").get_data(as_text=True)
    assert "提交" in html and "您的身份" in html


def test_switch_is_remembered(client, make_campaign):
    make_campaign()
    client.get("/s/GEN-001?lang=en")
    assert "Submit" in client.get("/s/GEN-001").get_data(as_text=True)
    client.get("/s/GEN-001?lang=zh_CN")
    assert "提交" in client.get("/s/GEN-001", headers={"Accept-Language": "en"}).get_data(as_text=True)
