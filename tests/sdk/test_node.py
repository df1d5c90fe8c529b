"""The official Node package (stripe-node) works against Billfold with only host, port and
protocol changed, as the README says."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.server import Server

HERE = Path(__file__).parent / "node"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed on this machine")
def test_stripe_node_payments(server: Server) -> None:
    if not (HERE / "node_modules" / "stripe").exists():
        npm = shutil.which("npm")
        assert npm is not None, "node without npm: install npm to fetch stripe-node"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True, timeout=300)
    assert NODE is not None
    done = subprocess.run(
        [NODE, "payments.js", "127.0.0.1", str(server.port), server.secret_key],
        cwd=HERE, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["customer"].startswith("cus_")
    assert result["metadata"] == {"from": "node"}
    assert result["status"] == "succeeded"
    assert result["fee"] == 88
    assert result["declined"] == {
        "type": "StripeCardError", "code": "card_declined", "decline_code": "generic_decline", "status": 402,
    }
    assert result["listed"] == [result["customer"]]
