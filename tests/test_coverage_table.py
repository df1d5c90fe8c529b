"""docs/COVERAGE.md is generated from the route table; it must be regenerated when routes change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "coverage.py"
OPERATIONS = REPO.parent / "shared" / "reference" / "stripe-operations-2024-04-10.tsv"

pytestmark = pytest.mark.skipif(not OPERATIONS.is_file(), reason=f"{OPERATIONS} is not on this machine")


def run_coverage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--operations", str(OPERATIONS), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_coverage_table_matches_the_routes() -> None:
    result = run_coverage("--check")
    assert result.returncode == 0, (
        "docs/COVERAGE.md is stale: run `.venv/bin/python scripts/coverage.py` and commit it\n"
        + result.stderr
    )
    assert "Payments: " in result.stdout


def test_check_refuses_a_stale_table(tmp_path: Path) -> None:
    stale = tmp_path / "COVERAGE.md"
    stale.write_text((REPO / "docs" / "COVERAGE.md").read_text(encoding="utf-8") + "a hand edit\n")
    result = run_coverage("--check", "--output", str(stale))
    assert result.returncode == 1
    assert "out of date" in result.stderr
