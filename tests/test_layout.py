"""The test suite itself: every test file is collected by plain `pytest`, not only by `python -m pytest`."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_plain_pytest_collects_every_test_file():
    pytest_cmd = Path(sys.executable).with_name("pytest")
    result = subprocess.run([str(pytest_cmd), "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # One line per file ("tests/test_x.py: 12") or per test ("tests/test_x.py::test_y"), by verbosity.
    collected = {line.split("::")[0].split(":")[0] for line in result.stdout.splitlines()
                 if line.startswith("tests/")}
    assert collected == {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")}
