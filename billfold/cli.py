"""The ``billfold`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from billfold.config import Settings

# A deployment sets the database once in the environment (deploy/README.md).
DEFAULT_DATABASE = os.environ.get("BILLFOLD_DATABASE_URL") or "billfold.db"


def _database_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help="SQLite file path or postgresql:// URL (default: $BILLFOLD_DATABASE_URL or ./billfold.db)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="billfold", description="A payments platform that speaks Stripe's API.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API server (and its workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=12111)
    serve.add_argument("--public-url", default="", help="address people use to reach hosted pages")
    serve.add_argument("--no-worker", action="store_true", help="do not deliver webhooks or run jobs in this process")
    serve.add_argument(
        "--workers", type=int, default=1,
        help="API processes sharing the port (more than 1 needs PostgreSQL)",
    )
    serve.add_argument("--pid-file", default=None, help="write the processes' pids here as JSON")
    serve.add_argument(
        "--log-format", choices=("json", "text"), default=os.environ.get("BILLFOLD_LOG_FORMAT") or "json",
        help="request log lines on stderr: JSON lines (default) or text",
    )
    _database_arg(serve)

    check = commands.add_parser(
        "check", help="verify the ledger and webhook deliveries; exit 1 listing any difference"
    )
    _database_arg(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON")

    worker = commands.add_parser(
        "worker", help="deliver webhooks and run scheduled jobs only (run beside API servers)"
    )
    _database_arg(worker)

    keys = commands.add_parser("keys", help="print the platform's API keys, or create one")
    _database_arg(keys)
    key_commands = keys.add_subparsers(dest="keys_command")
    create = key_commands.add_parser("create", help="create an API key")
    _database_arg(create)
    create.add_argument("--restricted", action="store_true", help="a restricted key (rk_...)")
    create.add_argument("--live", action="store_true", help="a live-mode key")
    create.add_argument("--name", default=None)
    create.add_argument(
        "--permission",
        action="append",
        default=[],
        metavar="RESOURCE=read|write",
        help="a right of a restricted key, e.g. customers=write (repeatable; * for all resources)",
    )

    settings = commands.add_parser("settings", help="print the platform account's settings (pricing, default_api_version), or change them")
    _database_arg(settings)
    setting_commands = settings.add_subparsers(dest="settings_command")
    change = setting_commands.add_parser("set", help="change pricing, e.g. card_fee_basis_points=250")
    _database_arg(change)
    change.add_argument("assignments", nargs="+", metavar="KEY=VALUE")

    radar = commands.add_parser("radar", help="manage the platform account's Radar rules")
    radar_commands = radar.add_subparsers(dest="radar_command", required=True)
    radar_rules = radar_commands.add_parser(
        "rules", help='list | add "Block if :risk_score: > 75" [POSITION] | remove ID | move ID POSITION'
    )
    _database_arg(radar_rules)
    radar_rules.add_argument("--live", action="store_true", help="the live-mode rules")
    radar_rules.add_argument("action", choices=("list", "add", "remove", "move"))
    radar_rules.add_argument("values", nargs="*")

    from billfold.devtools import listen, logs, trigger

    for tool in (listen, trigger, logs):
        tool.add_parser(commands)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command in ("listen", "trigger", "logs"):
        return int({"listen": listen.listen_command, "trigger": trigger.trigger_command,
                    "logs": logs.logs_command}[args.command](args))
    if args.command == "serve":
        from billfold.observability import request_log
        from billfold.server import serve as run

        # API processes the supervisor starts read the format from the environment.
        os.environ["BILLFOLD_LOG_FORMAT"] = args.log_format
        request_log.configure(args.log_format)
        if args.workers < 1:
            print("billfold: --workers must be at least 1", file=sys.stderr)
            return 2
        return run(
            Settings(
                database_url=args.database,
                host=args.host,
                port=args.port,
                public_url=args.public_url,
                run_worker=not args.no_worker,
            ),
            workers=args.workers,
            pid_file=args.pid_file,
        )
    if args.command == "check":
        from billfold.check import check_command

        return check_command(args.database, as_json=args.json)
    if args.command == "worker":
        from billfold.workers.runner import run as run_worker

        return run_worker(Settings(database_url=args.database))
    if args.command == "keys":
        return _keys(args)
    if args.command == "radar":
        from billfold.resources.radar.rule_store import rules_command

        return rules_command(args.database, args.action, args.values, args.live)
    if args.command == "settings":
        from billfold.ledger.pricing import settings_command

        pricing, status = _api_version_setting(args.database, getattr(args, "assignments", None))
        if status:
            return status
        return settings_command(args.database, pricing)
    return 2


def _api_version_setting(database: str, assignments: list[str] | None) -> tuple[list[str], int]:
    """Apply and print ``default_api_version``; the other assignments are pricing's to handle."""
    from billfold import accounts
    from billfold.app import Billfold
    from billfold.errors import InvalidRequestError

    versions = [item for item in assignments or [] if item.partition("=")[0].strip() == "default_api_version"]
    rest = [item for item in assignments or [] if item not in versions]
    app = Billfold(Settings(database_url=database))
    app.start()
    with app.db.transaction() as tx:
        for item in versions:
            try:
                accounts.set_default_api_version(tx, app.platform_account, item.partition("=")[2].strip())
            except InvalidRequestError as exc:
                print(f"billfold: {exc.message}", file=sys.stderr)
                return rest, 2
        current = accounts.account_settings(tx, app.platform_account)["default_api_version"]
    print(f"default_api_version={current}")
    return rest, 0


def _keys(args: argparse.Namespace) -> int:
    from billfold import accounts
    from billfold.app import Billfold
    from billfold.server import print_keys

    app = Billfold(Settings(database_url=args.database))
    app.start()
    if args.keys_command != "create":
        print_keys(app)
        return 0
    permissions: dict[str, str] = {}
    # A right over a resource no route belongs to would make a key that silently grants nothing.
    resources = {route.resource for route in app.router.routes} | {"*"}
    for item in args.permission:
        resource, _, right = item.partition("=")
        if right not in ("read", "write") or not resource:
            print(f"billfold: bad --permission {item!r}: use RESOURCE=read or RESOURCE=write", file=sys.stderr)
            return 2
        if resource not in resources:
            known = ", ".join(sorted(resources))
            print(f"billfold: unknown resource {resource!r} in --permission; known: {known}", file=sys.stderr)
            return 2
        permissions[resource] = right
    if args.restricted and not permissions:
        print("billfold: a restricted key needs at least one --permission", file=sys.stderr)
        return 2
    kind = "restricted" if args.restricted else "secret"
    key = accounts.ApiKey(
        accounts.new_key(kind, args.live), app.platform_account, kind, args.live, permissions, args.name
    )
    with app.db.transaction() as tx:
        accounts.insert_key(tx, key, app.clock.now())
    print(key.secret)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
