"""Per-request time as stored objects grow: 1k, 100k and 1M rows in Billfold's objects table.

Seeding a million objects through the API would take hours, so this clones what the API itself
wrote. It makes one customer and one confirmed PaymentIntent through stripe-python, reads back
the rows that produced (customer, payment method, PaymentIntent, charge, balance transaction and
their four events, plus the ledger entry), and inserts copies with fresh random ids of the same
shape, every reference between them rewritten, ``created`` spread over the past year, a distinct
email per customer, and the indexed columns filled exactly as billfold/store/objects.py fills
them. SQLite gets multi-row ``executemany`` batches, PostgreSQL ``COPY``; PostgreSQL is then
``ANALYZE``d (as autovacuum would soon do).

At each size it times, sequentially through stripe-python, requests that touch the grown data:
a PaymentIntent retrieve, PaymentIntent lists filtered by ``customer=`` and the newest page,
charges filtered by ``payment_intent=``, events filtered by ``type=``, a customer list by
``email=``, the balance, and a PaymentIntent create+confirm for a seeded customer. It prints each one's mean
and p50/p99 and the flatness ratio: mean at the largest size over mean at the smallest.

    .venv/bin/python bench/scale.py                          # 1k, 100k, 1M on SQLite and PostgreSQL
    .venv/bin/python bench/scale.py --database sqlite --sizes 1000,100000
    .venv/bin/python bench/scale.py --quick                  # 1k and 3k, SQLite, seconds
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stripe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402 - the checkout must be importable first
    Call,
    Report,
    Run,
    billfold,
    errors_note,
    measure,
    new_client,
    postgres_available,
    say,
)
from billfold.store.objects import INDEXED  # noqa: E402

TEMPLATE_EMAIL = "scale-template@bench.example"
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Random bytes become id characters by table lookup (a slight bias towards the first letters
# does not matter for a benchmark), far faster than choosing characters one by one.
ID_TABLE = bytes(ord(ALPHABET[i % len(ALPHABET)]) for i in range(256))
OBJECT_COLUMNS = ["id", "account", "livemode", "object", "created", *INDEXED, "deleted", "data"]
LEDGER_COLUMNS = [
    "id", "account", "livemode", "currency", "amount", "fee", "net", "type", "source",
    "available_on", "created",
]
BATCH = 20_000
YEAR = 365 * 24 * 3600


@dataclass
class Template:
    """The rows one customer and one confirmed payment left in the database."""

    objects: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    created: int

    @property
    def size(self) -> int:
        return len(self.objects)


@dataclass
class Seeded:
    """What was inserted so far, and what the measured requests pick from."""

    objects: int = 0
    seconds: float = 0.0
    customers: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)


# ---- reading the template back ----------------------------------------------------------------


class Store:
    """Just enough raw access to Billfold's database for reading rows and bulk inserting."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg

            self.pg = psycopg.connect(url)
        else:
            self.lite = sqlite3.connect(url, timeout=60)
            self.lite.row_factory = sqlite3.Row
            # Only this seeding connection skips the fsyncs; the server's own are unchanged.
            self.lite.execute("PRAGMA synchronous=OFF")
            self.lite.execute("PRAGMA cache_size=-262144")  # 256 MB: index pages stay cached

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        if self.postgres:
            from psycopg.rows import dict_row

            with self.pg.cursor(row_factory=dict_row) as cur:
                cur.execute(sql.replace("?", "%s"), params)
                found = cur.fetchall()
            self.pg.commit()
            return [dict(row) for row in found]
        return [dict(row) for row in self.lite.execute(sql, params).fetchall()]

    def insert(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgres:
            with self.pg.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            self.pg.commit()
        else:
            marks = ", ".join("?" for _ in columns)
            with self.lite:
                self.lite.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def refresh_totals(self) -> None:
        """Billfold keeps running ledger totals beside the rows; seeded rows need theirs too."""
        statements = (
            "DELETE FROM ledger_totals",
            "INSERT INTO ledger_totals (account, livemode, currency, net) SELECT account, livemode, "
            "currency, SUM(net) FROM ledger_entries GROUP BY account, livemode, currency",
        )
        if self.postgres:
            with self.pg.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
            self.pg.commit()
        else:
            with self.lite:
                for statement in statements:
                    self.lite.execute(statement)

    def analyze(self) -> None:
        if self.postgres:
            self.pg.autocommit = True
            self.pg.execute("ANALYZE objects")
            self.pg.execute("ANALYZE ledger_entries")
            self.pg.autocommit = False

    def count(self) -> int:
        return int(self.rows("SELECT COUNT(*) AS n FROM objects")[0]["n"])

    def close(self) -> None:
        if self.postgres:
            self.pg.close()
        else:
            self.lite.close()


def make_template(client: stripe.StripeClient, store: Store) -> Template:
    customer = client.v1.customers.create({"email": TEMPLATE_EMAIL, "name": "Scale Template"})
    client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
         "customer": customer.id}
    )
    first = store.rows("SELECT seq FROM objects WHERE id = ?", customer.id)[0]["seq"]
    objects = store.rows("SELECT * FROM objects WHERE seq >= ? ORDER BY seq", first)
    kinds = sorted(row["object"] for row in objects)
    if kinds.count("payment_intent") != 1 or kinds.count("charge") != 1:
        raise RuntimeError(f"unexpected rows for one payment: {kinds}")
    ids = [row["id"] for row in objects]
    marks = ", ".join("?" for _ in ids)
    ledger = store.rows(f"SELECT * FROM ledger_entries WHERE id IN ({marks}) OR source IN ({marks})", *ids, *ids)
    return Template(objects, ledger, int(customer.created))


# ---- cloning ----------------------------------------------------------------------------------


class Cloner:
    """Copies of the template with new ids, times and emails, references kept consistent."""

    def __init__(self, template: Template, postgres: bool, rng: random.Random) -> None:
        self.template = template
        self.postgres = postgres
        self.rng = rng
        self.old_ids = [row["id"] for row in template.objects] + [row["id"] for row in template.ledger]
        self.old_ids = list(dict.fromkeys(self.old_ids))
        # Each row's JSON gets every id, the creation time and the email replaced; only the
        # words a row holds are replaced in it (str.replace beats one big regex here).
        self.words = [*self.old_ids, f":{template.created}", TEMPLATE_EMAIL]
        self.row_words = [[w for w in self.words if w in row["data"]] for row in template.objects]

    def new_id(self, old: str) -> str:
        prefix, _, rest = old.rpartition("_")
        return f"{prefix}_{self.rng.randbytes(len(rest)).translate(ID_TABLE).decode('ascii')}"

    def groups(self, start: int, count: int, oldest: int, spacing: float) -> Iterator[tuple[
        list[tuple[Any, ...]], list[tuple[Any, ...]], dict[str, str]
    ]]:
        """``count`` groups numbered from ``start``: object rows, ledger rows, the id mapping."""
        livemode: Any = False if self.postgres else 0
        deleted: Any = False if self.postgres else 0
        for n in range(start, start + count):
            mapping = {old: self.new_id(old) for old in self.old_ids}
            created = oldest + int(n * spacing)
            email = f"seed-{n}@bench.example"
            mapping[f":{self.template.created}"] = f":{created}"
            mapping[TEMPLATE_EMAIL] = email

            objects = []
            for row, words in zip(self.template.objects, self.row_words, strict=True):
                values: list[Any] = [mapping[row["id"]], row["account"], livemode, row["object"], created]
                for column in INDEXED:
                    value = row[column]
                    if column == "email" and value == TEMPLATE_EMAIL:
                        value = email
                    values.append(mapping.get(value, value) if isinstance(value, str) else value)
                data = row["data"]
                for word in words:
                    data = data.replace(word, mapping[word])
                values += [deleted, data]
                objects.append(tuple(values))
            ledger = []
            for row in self.template.ledger:
                shift = created - self.template.created
                ledger.append(
                    (mapping.get(row["id"], row["id"]), row["account"], livemode, row["currency"],
                     row["amount"], row["fee"], row["net"], row["type"],
                     mapping.get(row["source"], row["source"]), row["available_on"] + shift, created)
                )
            yield objects, ledger, mapping


def seed(store: Store, cloner: Cloner, seeded: Seeded, target: int, total_planned: int) -> None:
    """Insert groups until the objects table holds at least ``target`` rows."""
    began = time.perf_counter()
    per_group = cloner.template.size
    have = store.count()
    groups_needed = max(0, -(-(target - have) // per_group))
    planned_groups = total_planned // per_group + 1
    oldest = int(time.time()) - YEAR
    spacing = YEAR / planned_groups
    start = len(seeded.customers)
    objects: list[tuple[Any, ...]] = []
    ledger: list[tuple[Any, ...]] = []
    for group_objects, group_ledger, mapping in cloner.groups(start, groups_needed, oldest, spacing):
        objects += group_objects
        ledger += group_ledger
        for row in cloner.template.objects:
            if row["object"] == "customer":
                seeded.customers.append(mapping[row["id"]])
            elif row["object"] == "payment_intent":
                seeded.intents.append(mapping[row["id"]])
        seeded.emails.append(mapping[TEMPLATE_EMAIL])
        if len(objects) >= BATCH:
            store.insert("objects", OBJECT_COLUMNS, objects)
            store.insert("ledger_entries", LEDGER_COLUMNS, ledger)
            objects, ledger = [], []
    store.insert("objects", OBJECT_COLUMNS, objects)
    store.insert("ledger_entries", LEDGER_COLUMNS, ledger)
    store.refresh_totals()
    store.analyze()
    seeded.objects = store.count()
    seeded.seconds += time.perf_counter() - began


# ---- measuring --------------------------------------------------------------------------------


def requests_at(seeded: Seeded) -> list[tuple[str, Call]]:
    rng = random.Random(11)

    def pick(items: list[str]) -> str:
        return items[rng.randrange(len(items))]

    def retrieve(c: stripe.StripeClient, _i: int) -> None:
        wanted = pick(seeded.intents)
        if c.v1.payment_intents.retrieve(wanted).id != wanted:
            raise RuntimeError("retrieved another PaymentIntent")

    def by_customer(c: stripe.StripeClient, _i: int) -> None:
        if len(c.v1.payment_intents.list({"customer": pick(seeded.customers), "limit": 10}).data) < 1:
            raise RuntimeError("a seeded customer's PaymentIntent is not listed")

    def newest(c: stripe.StripeClient, _i: int) -> None:
        if len(c.v1.payment_intents.list({"limit": 10}).data) != 10:
            raise RuntimeError("the newest page does not hold 10 PaymentIntents")

    def charges(c: stripe.StripeClient, _i: int) -> None:
        if len(c.v1.charges.list({"payment_intent": pick(seeded.intents), "limit": 10}).data) != 1:
            raise RuntimeError("a seeded PaymentIntent's charge is not listed")

    def events(c: stripe.StripeClient, _i: int) -> None:
        if len(c.v1.events.list({"type": "charge.succeeded", "limit": 10}).data) != 10:
            raise RuntimeError("fewer than 10 charge.succeeded events")

    def by_email(c: stripe.StripeClient, _i: int) -> None:
        if len(c.v1.customers.list({"email": pick(seeded.emails), "limit": 10}).data) != 1:
            raise RuntimeError("the email filter did not find exactly one customer")

    def balance(c: stripe.StripeClient, _i: int) -> None:
        if not c.v1.balance.retrieve().pending:
            raise RuntimeError("the balance shows nothing pending")

    def confirm(c: stripe.StripeClient, _i: int) -> None:
        intent = c.v1.payment_intents.create(
            {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
             "customer": pick(seeded.customers)}
        )
        if intent.status != "succeeded":
            raise RuntimeError(f"PaymentIntent {intent.id} is {intent.status}")

    return [
        ("PaymentIntent retrieve", retrieve),
        ("PaymentIntent list customer=", by_customer),
        ("PaymentIntent list limit=10", newest),
        ("charge list payment_intent=", charges),
        ("event list type=", events),
        ("customer list email=", by_email),
        ("balance retrieve", balance),
        ("PaymentIntent create+confirm", confirm),
    ]


def run_backend(backend: str, workdir: Path, args: argparse.Namespace) -> list[tuple[int, int, Run]]:
    results: list[tuple[int, int, Run]] = []
    with billfold(backend, workdir, f"scale-{backend}", with_worker=False) as server:
        store = Store(server.database_url)
        try:
            client = new_client(server.url, server.secret_key)
            template = make_template(client, store)
            cloner = Cloner(template, store.postgres, random.Random(5))
            seeded = Seeded()
            for size in args.sizes:
                seed(store, cloner, seeded, size, max(args.sizes))
                say(f"{backend}: {seeded.objects:,} objects stored (seeding took {seeded.seconds:.1f} s so far)")
                for name, call in requests_at(seeded):
                    run = measure(name, server.url, server.secret_key, call, 1, args.lookups)
                    say(f"  {name}: mean {run.mean_ms():.2f} ms, p99 {run.percentile(99):.2f} ms")
                    results.append((size, seeded.objects, run))
            results.append((-1, 0, Run(f"seeding {seeded.objects:,} objects", 0, wall=seeded.seconds)))
        finally:
            store.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--sizes",
        type=lambda s: sorted(int(part) for part in s.split(",") if part.strip()),
        default=[1000, 100_000, 1_000_000],
        help="stored object counts to measure at, comma separated",
    )
    parser.add_argument("--lookups", type=int, default=300, help="sequential requests per size and kind")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1k and 3k objects, SQLite")
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.lookups, args.database = [1000, 3000], 10, "sqlite"
    if any(not 100 <= size <= 5_000_000 for size in args.sizes) or not 1 <= args.lookups <= 100_000:
        parser.error("each of --sizes must be 100..5000000 and --lookups 1..100000")
    backends = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    if "postgres" in backends and not postgres_available():
        say("no PostgreSQL reachable; SQLite only")
        backends.remove("postgres")

    report = Report("Billfold per-request time as stored objects grow")
    every: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="billfold-bench-") as tmp:
        for backend in backends:
            results = run_backend(backend, Path(tmp), args)
            measured = [(size, stored, run) for size, stored, run in results if size >= 0]
            every += [run for _, _, run in measured]
            rows = [
                [run.name, stored, len(run.latencies), run.errors, run.mean_ms(), run.percentile(50),
                 run.percentile(99)]
                for _, stored, run in measured
            ]
            report.table(
                f"{backend}_sizes",
                f"{backend}: {args.lookups} sequential requests per row, one client",
                ["request", "objects stored", "requests", "errors", "mean ms", "p50 ms", "p99 ms"],
                rows,
            )
            smallest, largest = min(args.sizes), max(args.sizes)
            flat = []
            for name in dict.fromkeys(run.name for _, _, run in measured):
                low = next(r for s, _, r in measured if s == smallest and r.name == name)
                high = next(r for s, _, r in measured if s == largest and r.name == name)
                flat.append([
                    name, low.mean_ms(), high.mean_ms(), f"{high.mean_ms() / low.mean_ms():.2f}",
                    low.percentile(50), high.percentile(50),
                    f"{high.percentile(50) / low.percentile(50):.2f}",
                ])
            report.table(
                f"{backend}_flatness",
                f"{backend}: flatness, {largest:,} over {smallest:,} target objects (1.00 = flat)",
                ["request", f"mean ms @ {smallest:,}", f"mean ms @ {largest:,}", "mean ratio",
                 f"p50 ms @ {smallest:,}", f"p50 ms @ {largest:,}", "p50 ratio"],
                flat,
            )
            seeding = [run for size, _, run in results if size < 0][0]
            report.note(f"{backend}: {seeding.name} took {seeding.wall:.1f} s.")
    note = errors_note(every)
    if note:
        report.note(note)
    report.emit(args.json)
    return 1 if any(run.errors for run in every) else 0


if __name__ == "__main__":
    raise SystemExit(main())
