"""The README's two set-up commands are the ones CI and new users run."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_COMMAND = "bash .ci/setup.sh && .venv/bin/cnnviz"
TEST_COMMAND = "bash .ci/setup.sh --test && .venv/bin/python -m pytest"


def test_readme_gives_both_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert APP_COMMAND in readme
    assert TEST_COMMAND in readme
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert TEST_COMMAND in ci_lines


def test_setup_installs_what_the_readme_promises():
    setup = (ROOT / ".ci" / "setup.sh").read_text(encoding="utf-8")
    for package in ("libgl1", "libglib2.0-0", "libfontconfig1", "libxkbcommon-x11-0", "libdbus-1-3"):
        assert package in setup
    assert '-e ".${extras}"' in setup
