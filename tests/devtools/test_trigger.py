"""``billfold trigger``: each supported event really happens on a running Billfold.

One ``billfold trigger`` run per backend makes every supported event (one process, to keep the
suite fast); each parametrized test then checks its own event in ``GET /v1/events``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from billfold.devtools.trigger import FIXTURES
from tests.conftest import BACKENDS
from tests.devtools.support import own_server, run, sdk
from tests.support.server import Server

EVENTS = sorted(FIXTURES)
SUCCEEDED = re.compile(r"^Trigger succeeded! Billfold emitted (\S+) \((evt_\w+)(?: on (acct_\w+))?\)\.$")


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(request, tmp_path_factory, "trigger")


@pytest.fixture(scope="module")
def triggered(server: Server) -> dict[str, Any]:
    """Every event's newest ids before the run, the run's output, and what it says it emitted."""
    client = sdk(server)
    before = {event: {e.id for e in client.v1.events.list({"type": event, "limit": 100}).data}
              for event in EVENTS}
    started = int(time.time())
    result = run(server, "trigger", *EVENTS)
    emitted = {m.group(1): (m.group(2), m.group(3))
               for m in map(SUCCEEDED.match, result.stdout.splitlines()) if m}
    return {"before": before, "started": started, "result": result, "emitted": emitted}


@pytest.mark.parametrize("event", EVENTS)
def test_trigger_makes_the_event(server: Server, triggered: dict[str, Any], event: str) -> None:
    result = triggered["result"]
    assert event in triggered["emitted"], f"{event} not reported:\n{result.stdout}\n{result.stderr}"
    event_id, account = triggered["emitted"][event]
    client = sdk(server)
    options: Any = {"stripe_account": account} if account else {}
    found = client.v1.events.retrieve(event_id, options=options)
    assert found.type == event
    assert found.created >= triggered["started"] - 1
    assert event_id not in triggered["before"][event]
    # It is the newest (or among the newest) of its type in the account's event list.
    listed = client.v1.events.list({"type": event, "limit": 100}, options=options).data
    assert event_id in {e.id for e in listed}
    if account:
        assert found.account == account
    # The objects the fixture printed are real: the event's object can be fetched in the API.
    assert found.data.object.to_dict().get("id")


def test_the_whole_run_succeeded(triggered: dict[str, Any]) -> None:
    result = triggered["result"]
    assert result.returncode == 0, result.stderr
    assert sorted(triggered["emitted"]) == EVENTS
    assert "Running the fixture for payment_intent.succeeded:" in result.stdout
    assert re.search(r"POST /v1/payment_intents -> payment_intent pi_\w+", result.stdout)


def test_list_names_every_event() -> None:
    result = run(None, "trigger", "--list")
    assert result.returncode == 0
    listed = [line.strip() for line in result.stdout.splitlines()[1:]]
    assert listed == EVENTS


def test_an_unknown_event_lists_the_supported_ones(server: Server) -> None:
    result = run(server, "trigger", "payment_intent.exploded")
    assert result.returncode == 2
    assert "cannot trigger payment_intent.exploded" in result.stderr
    assert "payment_intent.succeeded" in result.stderr and "invoice.paid" in result.stderr
    assert "Running the fixture" not in result.stdout


def test_a_bad_key_is_refused(server: Server) -> None:
    result = run(server, "trigger", "customer.created", key="sk_test_not_a_real_key_0000")
    assert result.returncode == 1
    assert "Invalid API Key provided" in result.stderr
    assert "Trigger succeeded" not in result.stdout


def test_an_unreachable_server_is_reported() -> None:
    result = run(None, "trigger", "customer.created", "--api-base", "http://127.0.0.1:9",
                 "--api-key", "sk_test_whatever")
    assert result.returncode == 1
    assert "cannot reach Billfold at http://127.0.0.1:9" in result.stderr


def test_no_key_at_all_is_explained(tmp_path: Path) -> None:
    result = run(None, "trigger", "customer.created", "--api-base", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 1
    assert "no API key" in result.stderr


def test_a_declined_fixture_still_reports_the_decline(server: Server) -> None:
    result = run(server, "trigger", "payment_intent.payment_failed")
    assert result.returncode == 0, result.stderr
    assert "card declined (generic_decline)" in result.stdout
    [match] = [m for m in map(SUCCEEDED.match, result.stdout.splitlines()) if m]
    failed = sdk(server).v1.events.retrieve(match.group(2))
    intent: stripe.PaymentIntent = failed.data.object  # type: ignore[assignment]
    assert intent["last_payment_error"]["code"] == "card_declined"


def test_the_key_can_come_from_the_database(server: Server, tmp_path: Path) -> None:
    result = run(None, "trigger", "customer.created", "--api-base", server.url,
                 "--database", server.database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [match] = [m for m in map(SUCCEEDED.match, result.stdout.splitlines()) if m]
    assert sdk(server).v1.events.retrieve(match.group(2)).type == "customer.created"
