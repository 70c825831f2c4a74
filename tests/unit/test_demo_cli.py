"""`flask seed-demo`, as `make run` calls it: the demo accounts are printed, in French."""
from training_app.demo import ACCOUNTS


def test_seed_demo_prints_the_demo_accounts_in_french(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Comptes de démonstration" in result.output
    for email, name, _role, password in ACCOUNTS:
        line = next(line for line in result.output.splitlines() if email in line)
        assert password in line and name in line
    assert "Administrateur·rice" in result.output and "Formateur·rice" in result.output
    assert "admin " not in result.output and "trainer " not in result.output
