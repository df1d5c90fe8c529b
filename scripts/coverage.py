"""Write docs/COVERAGE.md: which of Stripe's operations Billfold serves, by product area.

Reads Billfold's route table (``billfold.resources.registry.ROUTE_GROUPS``) and Stripe's list
of operations for API version 2024-04-10 (a TSV of method, path, operationId), matches them
with path parameter names ignored (``/v1/customers/{id}`` serves ``/v1/customers/{customer}``),
writes the table and prints a one-line summary for the README.

    .venv/bin/python scripts/coverage.py            # regenerate docs/COVERAGE.md
    .venv/bin/python scripts/coverage.py --check    # exit 1 if docs/COVERAGE.md is stale
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a file, the script still imports this checkout

API_VERSION = "2024-04-10"
DEFAULT_OPERATIONS = REPO.parent / "shared" / "reference" / f"stripe-operations-{API_VERSION}.tsv"
DEFAULT_OUTPUT = REPO / "docs" / "COVERAGE.md"
REGENERATE = ".venv/bin/python scripts/coverage.py"

# Product areas keyed by the first path segment after /v1/ (for /v1/test_helpers/..., the one
# after that). Segments not named here count as Other, so a new Stripe resource never breaks this.
AREAS: dict[str, tuple[str, ...]] = {
    "Payments": (
        "customers", "payment_intents", "payment_methods", "setup_intents", "setup_attempts",
        "charges", "refunds", "balance", "balance_transactions", "tokens",
    ),
    "Events & webhooks": ("events", "webhook_endpoints"),
    "Billing": (
        "invoices", "invoiceitems", "subscriptions", "subscription_items", "subscription_schedules",
        "products", "prices", "plans", "coupons", "promotion_codes", "credit_notes", "quotes",
        "billing", "billing_portal", "test_clocks", "tax_ids", "tax_rates", "entitlements",
        "invoice_payments", "invoice_rendering_templates",  # newer than 2024-04-10
    ),
    "Connect": (
        "account", "accounts", "account_links", "account_sessions", "application_fees",
        "country_specs", "transfers", "topups", "payouts",
    ),
    "Radar": ("radar", "reviews"),
    "Disputes": ("disputes",),
    "Checkout": ("checkout", "payment_links", "shipping_rates"),
    "Issuing": ("issuing",),
    "Terminal": ("terminal",),
    "Treasury": ("treasury",),
}
OTHER = "Other"
AREA_OF = {segment: area for area, segments in AREAS.items() for segment in segments}
AREA_ORDER = [*AREAS, OTHER]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str

    @property
    def key(self) -> tuple[str, str]:
        return self.method, template(self.path)


def template(path: str) -> str:
    """The path with parameter names erased, so routes and operations compare by shape."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def segments(path: str) -> list[str]:
    return path.removeprefix("/v1/").strip("/").split("/")


def namespaces(paths: Iterable[str]) -> set[tuple[str, ...]]:
    """Prefixes such as ``radar`` or ``test_helpers/issuing`` that hold resources, not objects:
    every path under them continues with a literal segment, and none stops at the prefix."""
    parts = [segments(p) for p in paths]
    candidates = {tuple(s[:i]) for s in parts for i in range(1, len(s))}
    found = set()
    for prefix in candidates:
        if any(p.startswith("{") for p in prefix):
            continue
        under = [s for s in parts if tuple(s[: len(prefix)]) == prefix]
        if all(len(s) > len(prefix) and not s[len(prefix)].startswith("{") for s in under):
            found.add(prefix)
    return found


def resource_of(path: str, spaces: set[tuple[str, ...]]) -> str:
    """``/v1/radar/value_lists/{id}`` -> ``radar/value_lists``; ``/v1/customers/{c}/tax_ids`` -> ``customers``."""
    parts = segments(path)
    depth = 1
    while depth < len(parts) and tuple(parts[:depth]) in spaces:
        depth += 1
    return "/".join(parts[:depth])


def area_of(path: str) -> str:
    parts = segments(path)
    first = parts[1] if parts[0] == "test_helpers" and len(parts) > 1 else parts[0]
    return AREA_OF.get(first, OTHER)


def read_operations(path: Path) -> list[Operation]:
    operations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or (number == 1 and line.lower().startswith("method\t")):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise SystemExit(f"{path}:{number}: expected method, path and operationId: {line!r}")
        operations.append(Operation(fields[0].upper(), fields[1], fields[2]))
    return operations


def billfold_routes() -> list[Operation]:
    from billfold.resources.registry import ROUTE_GROUPS

    return [
        Operation(route.method, route.path, f"{route.handler.__module__}.{route.operation}")
        for group in ROUTE_GROUPS
        for route in group.routes
    ]


def _percent(served: int, total: int) -> str:
    """Rounded down, so 100% means all of them; "<1%" rather than 0% once anything is served."""
    if not total:
        return "-"
    percent = served * 100 // total
    return "<1%" if served and not percent else f"{percent}%"


def _counts(operations: list[Operation], served: set[tuple[str, str]]) -> tuple[int, int]:
    return sum(op.key in served for op in operations), len(operations)


def summary_line(operations: list[Operation], served: set[tuple[str, str]]) -> str:
    by_area: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        by_area[area_of(op.path)].append(op)
    parts = [f"{area}: {'/'.join(map(str, _counts(by_area[area], served)))}" for area in AREA_ORDER]
    done, total = _counts(operations, served)
    return f"Stripe {API_VERSION} operations served: {done}/{total} ({_percent(done, total)}). " + ", ".join(
        parts
    )


def render(operations: list[Operation], routes: list[Operation], source: str) -> str:
    served = {route.key for route in routes}
    known = {op.key for op in operations}
    spaces = namespaces(op.path for op in operations)
    tree: dict[str, dict[str, list[Operation]]] = {area: defaultdict(list) for area in AREA_ORDER}
    for op in operations:
        tree[area_of(op.path)][resource_of(op.path, spaces)].append(op)

    done, total = _counts(operations, served)
    out = [
        "# Stripe API coverage",
        "",
        f"<!-- Generated by scripts/coverage.py; do not edit. Regenerate with `{REGENERATE}`. -->",
        "",
        f"Which operations of Stripe's API (OpenAPI document for version {API_VERSION}, `{source}`)",
        "Billfold serves, from the route table in `billfold/resources/registry.py`. A route serves an",
        "operation when method and path match, path parameter names aside. Areas follow the first",
        "path segment after `/v1/` (after `/v1/test_helpers/` for test helpers).",
        "",
        f"**{done} of {total} operations served ({_percent(done, total)}).**",
        "",
        "| Area | Served | Operations | % |",
        "| --- | ---: | ---: | ---: |",
    ]
    for area in AREA_ORDER:
        a_done, a_total = _counts([op for ops in tree[area].values() for op in ops], served)
        out.append(f"| [{area}](#{_anchor(area)}) | {a_done} | {a_total} | {_percent(a_done, a_total)} |")

    for area in AREA_ORDER:
        a_done, a_total = _counts([op for ops in tree[area].values() for op in ops], served)
        out += ["", f"## {area}", "", f"{a_done}/{a_total} operations served ({_percent(a_done, a_total)})."]
        for resource in sorted(tree[area]):
            ops = sorted(tree[area][resource], key=lambda op: (op.path, op.method))
            r_done, r_total = _counts(ops, served)
            out += ["", f"### {resource} ({r_done}/{r_total})", "", "| | Method | Path | Operation |",
                    "| :-: | --- | --- | --- |"]
            out += [
                f"| {'✓' if op.key in served else ''} | {op.method} | `{op.path}` | {op.operation_id} |"
                for op in ops
            ]

    extra = sorted(
        {route.key: route for route in routes if route.key not in known}.values(),
        key=lambda r: (r.path, r.method),
    )
    out += [
        "",
        f"## Billfold routes not in Stripe's {API_VERSION} document",
        "",
        "Newer Stripe operations (or paths that differ from Stripe's), served by Billfold.",
        "",
    ]
    if extra:
        out += ["| Area | Method | Path | Handler |", "| --- | --- | --- | --- |"]
        out += [f"| {area_of(r.path)} | {r.method} | `{r.path}` | `{r.operation_id}` |" for r in extra]
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=Path, default=DEFAULT_OPERATIONS,
                        help=f"Stripe's operations TSV (default: {DEFAULT_OPERATIONS})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="the Markdown file to write or check (default: docs/COVERAGE.md)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the output file is not up to date")
    args = parser.parse_args(argv)

    if not args.operations.is_file():
        print(f"coverage: {args.operations} not found (use --operations PATH)", file=sys.stderr)
        return 2
    operations = read_operations(args.operations)
    routes = billfold_routes()
    text = render(operations, routes, f"reference/{args.operations.name}")
    summary = summary_line(operations, {route.key for route in routes})

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current == text:
            print(summary)
            return 0
        diff = list(difflib.unified_diff(
            current.splitlines(), text.splitlines(), str(args.output), "generated", lineterm="", n=0
        ))
        print(f"coverage: {args.output} is out of date; run `{REGENERATE}`", file=sys.stderr)
        print("\n".join(diff[:60] + (["..."] if len(diff) > 60 else [])), file=sys.stderr)
        return 1

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
