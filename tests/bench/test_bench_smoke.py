"""The benchmarks in bench/ still run: each script's --quick mode, end to end, with no timing checks.

All four run at once (each is mostly waiting on its own servers), so the module stays within a
few seconds of the slowest. The localstripe comparison runs Billfold only here
(``--skip-localstripe``): creating localstripe's virtual environment needs the package index.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = {
    "vs_localstripe": ["--skip-localstripe"],
    "load": [],
    "scale": [],
    "webhooks": [],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str, dict[str, object]]]:
    tmp = tmp_path_factory.mktemp("bench")
    started = {}
    for name, extra in SCRIPTS.items():
        out = tmp / f"{name}.json"
        started[name] = (
            subprocess.Popen(
                [sys.executable, str(REPO / "bench" / f"{name}.py"), "--quick", "--json", str(out), *extra],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
            out,
        )
    results = {}
    for name, (process, out) in started.items():
        stdout, stderr = process.communicate(timeout=300)
        data = json.loads(out.read_text()) if out.exists() else {}
        results[name] = (process.returncode, stdout, stderr, data)
    return results


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_quick_mode_prints_a_markdown_table(
    runs: dict[str, tuple[int, str, str, dict[str, object]]], name: str
) -> None:
    code, stdout, stderr, data = runs[name]
    assert code == 0, f"{name} exited {code}:\n{stdout}\n{stderr[-3000:]}"
    assert stdout.startswith("# "), stdout
    assert "- machine: " in stdout and "- date: " in stdout
    table = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert len(table) >= 3, stdout  # a header, the separator, and at least one row
    assert "| --- |" in stdout
    machine = data.get("machine")
    assert isinstance(machine, dict) and machine["cores"]
    rows = [value for key, value in data.items() if key not in ("title", "machine")]
    assert rows and all(isinstance(r, list) and r for r in rows), data


def test_wrk_output_is_read_into_figures() -> None:
    sys.path.insert(0, str(REPO))
    from bench.load import parse_wrk

    sample = """Running 2s test @ http://127.0.0.1:1
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.10ms    3.20ms  40.00ms   80.00%
  Latency Distribution
     50%   11.50ms
     75%   13.00ms
     90%   15.00ms
     99%    1.20s
  1215 requests in 2.00s, 3.10MB read
  Non-2xx or 3xx responses: 3
Requests/sec:    606.05
Transfer/sec:      1.55MB
"""
    found = parse_wrk(sample)
    assert found["rps"] == 606.05
    assert found["p50"] == 11.5 and found["p99"] == 1200.0
    assert found["requests"] == 1215 and found["non_2xx"] == 3
