"""The key that signs sessions and trainees' links: never a value published in the repository."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from training_app import create_app
from training_app.config import INTEGER_SETTINGS, PUBLIC_SECRET_KEY, SettingError, instance_secret_key

PRINT_KEY = "from training_app import create_app; print(create_app().config['SECRET_KEY'])"


def start_without_configuration(instance):
    """create_app() in a new process, as `flask run` starts it, with neither SECRET_KEY nor TRAINING_APP_CONFIG."""
    env = {name: value for name, value in os.environ.items()
           if name not in {"SECRET_KEY", "TRAINING_APP_CONFIG", "DATABASE_URL"}}
    started = subprocess.run([sys.executable, "-c", PRINT_KEY], env={**env, "INSTANCE_PATH": str(instance)},
                             capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    return started.stdout.strip(), started.stderr


def test_development_without_secret_key_makes_a_random_key_once_and_keeps_it(tmp_path):
    key, said = start_without_configuration(tmp_path)
    assert len(key) >= 32 and key != PUBLIC_SECRET_KEY
    assert "SECRET_KEY is not set: a random key was made" in said
    kept = tmp_path / "secret_key"
    assert kept.read_text().strip() == key
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # readable by its owner only
    again, said = start_without_configuration(tmp_path)
    assert again == key and "SECRET_KEY is not set" not in said  # a restart keeps sessions and links valid


def test_each_instance_folder_has_its_own_key(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert instance_secret_key(str(tmp_path / "a")) != instance_secret_key(str(tmp_path / "b"))


def test_a_damaged_key_file_is_refused(tmp_path):
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="holds no usable key"):
        instance_secret_key(str(tmp_path))


@pytest.mark.parametrize("key", [None, PUBLIC_SECRET_KEY, "short"])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, monkeypatch, key):
    if key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app("production")
    assert not (tmp_path / "secret_key").exists()


# --- whole-number settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [
    ("RECORD_RETENTION_YEARS", 0), ("RECORD_RETENTION_YEARS", -1), ("RECORD_RETENTION_YEARS", 3),
    ("RECORD_RETENTION_YEARS", 1000), ("MAIL_KEEP_DAYS", 0), ("TRAINEE_LINK_MAX_AGE_DAYS", 0),
    ("MAIL_PORT", 70000), ("REGISTRATION_CONFIRM_HOURS", "48h"), ("MAIL_RETRY_MINUTES", True)])
def test_a_whole_number_setting_out_of_its_bounds_is_refused_at_start(tmp_path, monkeypatch, key, value):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(SettingError, match=f"Réglage {key} invalide .* un nombre entier (entre|d'au moins)"):
        create_app("testing", {key: value})


def test_the_shortest_retention_that_keeps_the_certificates_promise_is_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    assert create_app("testing", {"RECORD_RETENTION_YEARS": 4, "MAIL_KEEP_DAYS": 1}).config[
        "RECORD_RETENTION_YEARS"] == 4


def test_a_setting_that_is_no_number_says_which_in_french_instead_of_a_value_error(tmp_path):
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path), "RECORD_RETENTION_YEARS": "six",
           "REMEMBER_COOKIE_DAYS": "trente"}
    started = subprocess.run([sys.executable, "-m", "flask", "--app", "training_app", "purge-expired", "--dry-run"],
                             env=env, capture_output=True, text=True)
    assert started.returncode != 0 and "ValueError" not in started.stderr
    assert "Réglage RECORD_RETENTION_YEARS invalide (« six ») : un nombre entier entre 4 et 100" in started.stderr


def test_the_guide_tells_every_setting_checked_at_start_up_and_the_retention_bound():
    """docs/README.md, « Réglages vérifiés au démarrage »: the settings check_settings refuses to start with."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "README.md").read_text()
    section = guide.split("## Réglages vérifiés au démarrage", 1)[1].split("\n## ", 1)[0]
    missing = [variable for variable, _least, _greatest in INTEGER_SETTINGS.values() if f"`{variable}`" not in section]
    assert not missing, f"docs/README.md does not name: {missing}"
    least, greatest = INTEGER_SETTINGS["RECORD_RETENTION_YEARS"][1:]
    assert f"entre {least} et {greatest} ans" in section and "`check_settings`" in section
