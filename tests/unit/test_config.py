"""The key that signs sessions and trainees' links: never a value published in the repository."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from training_app import create_app
from training_app.config import (INTEGER_SETTINGS, PUBLIC_SECRET_KEY, RATE_LIMIT_SETTINGS, SettingError,
                                 instance_secret_key)

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


# --- settings read during requests only: checked at start ---------------------------------------------------

@pytest.mark.parametrize("key", ["SIGN_IN_FAILURES_PER_ACCOUNT", "SIGN_IN_FAILURES_PER_NETWORK",
                                 "LINK_REQUESTS_PER_ADDRESS", "LINK_REQUESTS_PER_NETWORK",
                                 "REGISTRATION_REQUESTS_PER_ADDRESS"])
@pytest.mark.parametrize("value", ["10 par heure", "", "10 per hour;", "0 per hour; 30 per day"])
def test_a_rate_limit_that_cannot_be_read_is_refused_at_start(tmp_path, monkeypatch, key, value):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(SettingError, match=f"Réglage {key} invalide \\(« {value} »\\) : une ou plusieurs limites"):
        create_app("testing", {key: value})


@pytest.mark.parametrize("value", ["Europe/Pariss", "", "Europe/Paris ", "../etc/passwd"])
def test_a_time_zone_that_does_not_exist_is_refused_at_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(SettingError, match=f"Réglage TIMEZONE invalide \\(« {value} »\\) : un fuseau horaire"):
        create_app("testing", {"TIMEZONE": value})


def test_readable_rate_limits_and_time_zone_are_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    started = create_app("testing", {"SIGN_IN_FAILURES_PER_ACCOUNT": "5/minute; 20 per day",
                                     "TIMEZONE": "America/Cayenne"})
    assert started.config["TIMEZONE"] == "America/Cayenne"


def test_a_typo_in_a_limit_or_the_time_zone_stops_the_command_with_a_french_message(tmp_path):
    for variable, value in (("SIGN_IN_FAILURES_PER_ACCOUNT", "10 par heure"), ("TIMEZONE", "Europe/Pariss")):
        env = {**os.environ, "INSTANCE_PATH": str(tmp_path), variable: value}
        started = subprocess.run([sys.executable, "-m", "flask", "--app", "training_app", "purge-expired",
                                  "--dry-run"], env=env, capture_output=True, text=True)
        assert started.returncode != 0 and "ValueError" not in started.stderr
        assert "ZoneInfoNotFoundError" not in started.stderr
        assert f"Réglage {variable} invalide (« {value} »)" in started.stderr


# --- the public address, in production ---------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, "", "http://127.0.0.1:5000", "http://127.0.0.1:5000/", "formation.example.org",
                                   "ftp://example.org", "https://", "https:///formation"])
def test_production_refuses_to_start_without_the_sites_public_address(tmp_path, monkeypatch, value):
    """Every link e-mailed (password links, trainees' personal links, convocations) and QR code leads there."""
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    with pytest.raises(SettingError, match="Réglage PUBLIC_URL invalide .* l'adresse publique du site"):
        create_app("production", {"PUBLIC_URL": value})


@pytest.mark.parametrize("value", ["https://formation.example.org", "http://formation.example.org:8080/accueil"])
def test_production_starts_with_the_sites_public_address_and_links_lead_there(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    started = create_app("production", {"PUBLIC_URL": value})
    with started.app_context():
        from training_app.urls import public_url
        assert public_url("auth.login") == value + "/connexion"


def test_production_started_without_public_url_in_its_environment_says_so_in_french(tmp_path):
    """As gunicorn starts it: TRAINING_APP_CONFIG=production, a SECRET_KEY, no PUBLIC_URL."""
    env = {name: value for name, value in os.environ.items() if name != "PUBLIC_URL"}
    env.update({"INSTANCE_PATH": str(tmp_path), "TRAINING_APP_CONFIG": "production", "SECRET_KEY": "x" * 64})
    started = subprocess.run([sys.executable, "-c", PRINT_KEY], env=env, capture_output=True, text=True)
    assert started.returncode != 0
    assert "Réglage PUBLIC_URL invalide (non défini) : l'adresse publique du site" in started.stderr
    env["PUBLIC_URL"] = "https://formation.example.org"
    started = subprocess.run([sys.executable, "-c", PRINT_KEY], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr


def test_the_guide_tells_every_setting_checked_at_start_up_and_the_retention_bound():
    """docs/README.md, « Réglages vérifiés au démarrage »: the settings check_settings refuses to start with."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "README.md").read_text()
    section = guide.split("## Réglages vérifiés au démarrage", 1)[1].split("\n## ", 1)[0]
    checked = [variable for variable, _least, _greatest in INTEGER_SETTINGS.values()]
    missing = [variable for variable in [*checked, *RATE_LIMIT_SETTINGS, "TIMEZONE", "PUBLIC_URL"]
               if f"`{variable}`" not in section]
    assert not missing, f"docs/README.md does not name: {missing}"
    least, greatest = INTEGER_SETTINGS["RECORD_RETENTION_YEARS"][1:]
    assert f"entre {least} et {greatest} ans" in section and "`check_settings`" in section


@pytest.mark.parametrize("secure_cookies", [True, False])
def test_seed_demo_refuses_the_production_configuration_even_with_plain_http_cookies(tmp_path, monkeypatch,
                                                                                    secure_cookies):
    """The demo's accounts have published passwords: never on real data, even served over plain HTTP
    (SESSION_COOKIE_SECURE=0, which the refusal used to go by)."""
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    started = create_app("production", {"PUBLIC_URL": "https://formation.example.org",
                                        "SESSION_COOKIE_SECURE": secure_cookies,
                                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/real.db"})
    with started.app_context():  # the command's app, not the suite's (whose context is pushed for every test)
        result = started.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refuses to run with the production configuration" in result.output
    assert not (tmp_path / "real.db").exists() or (tmp_path / "real.db").stat().st_size == 0
