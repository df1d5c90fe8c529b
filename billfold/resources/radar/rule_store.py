"""An account's Radar rules, kept as ``radar.rule`` objects and managed through Billfold's own
endpoints (``/billfold/api/radar/rules``, secret key) and ``billfold radar rules``.

Stripe manages rules in its Dashboard only, so these endpoints stay off ``/v1``. A rule's
``position`` orders it among the account's rules; Radar still evaluates by action first
(Request 3D Secure, Allow, Block, Review), and by position within an action.
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.resources.radar import rules as language
from billfold.wire.params import Int, Spec, Str
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("radar_rules")

MAX_RULES = 200
BASE = "/billfold/api/radar/rules"
CREATE: dict[str, Spec] = {"rule": Str(required=True, max_length=2000), "position": Int(min=1, max=MAX_RULES)}
UPDATE: dict[str, Spec] = {"rule": Str(max_length=2000), "position": Int(min=1, max=MAX_RULES)}


def all_rules(ctx: Ctx) -> list[dict[str, Any]]:
    """Every rule of the account, in the order Radar evaluates them."""
    found = ctx.objects.page("radar.rule", limit=MAX_RULES)
    return sorted(found.data, key=lambda r: (language.ACTIONS.index(r["action"]), r["position"]))


def _by_position(ctx: Ctx) -> list[dict[str, Any]]:
    found = ctx.objects.page("radar.rule", limit=MAX_RULES)
    return sorted(found.data, key=lambda r: int(r["position"]))


def rules_using(ctx: Ctx, alias: str) -> list[dict[str, Any]]:
    return [rule for rule in all_rules(ctx) if alias in language.parse(rule["text"]).lists()]


def _parsed(ctx: Ctx, text: str) -> language.Rule:
    from billfold.resources.radar.value_lists import by_alias

    rule = language.parse(text)
    for alias in sorted(rule.lists()):
        if by_alias(ctx, alias) is None:
            raise ResourceMissing("value list", f"@{alias}", param="rule")
    return rule


def _load(ctx: Ctx, rule_id: str, *, for_update: bool = False) -> dict[str, Any]:
    found = ctx.objects.get(rule_id, "radar.rule", for_update=for_update)
    if found is None:
        raise ResourceMissing("rule", rule_id, param="rule")
    return found


def _place(ctx: Ctx, rule: dict[str, Any], position: int | None) -> None:
    """Put ``rule`` at ``position`` (1-based; the end if None) and renumber the others."""
    ordered = [r for r in _by_position(ctx) if r["id"] != rule["id"]]
    index = len(ordered) if position is None else min(position - 1, len(ordered))
    ordered.insert(index, rule)
    for number, each in enumerate(ordered, start=1):
        if each["position"] != number or each is rule:
            each["position"] = number
            if each is not rule:
                ctx.objects.save(each)


def add_rule(ctx: Ctx, text: str, position: int | None = None) -> dict[str, Any]:
    parsed = _parsed(ctx, text)
    if len(_by_position(ctx)) >= MAX_RULES:
        raise InvalidRequestError(f"An account may have at most {MAX_RULES} Radar rules.", param="rule")
    rule: dict[str, Any] = {
        "id": ids.new_id("radar.rule"),
        "object": "radar.rule",
        "action": parsed.action,
        "created": ctx.now,
        "livemode": ctx.livemode,
        "position": 0,
        "predicate": parsed.predicate,
        "text": text.strip(),
    }
    _place(ctx, rule, position)
    return ctx.objects.insert(rule)


def change_rule(ctx: Ctx, rule_id: str, text: str | None, position: int | None) -> dict[str, Any]:
    rule = _load(ctx, rule_id, for_update=True)
    if text is not None:
        parsed = _parsed(ctx, text)
        rule.update(action=parsed.action, predicate=parsed.predicate, text=text.strip())
    if position is not None:
        _place(ctx, rule, position)
    return ctx.objects.save(rule)


def remove_rule(ctx: Ctx, rule_id: str) -> dict[str, Any]:
    rule = _load(ctx, rule_id, for_update=True)
    ctx.objects.save({**rule, "deleted": True}, deleted=True)
    for number, each in enumerate(_by_position(ctx), start=1):
        if each["position"] != number:
            each["position"] = number
            ctx.objects.save(each)
    return {"id": rule_id, "object": "radar.rule", "deleted": True}


@routes.get(BASE)
def list_rules(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return list_object(BASE, all_rules(ctx), False)


@routes.post(BASE, CREATE)
def create_rule(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return add_rule(ctx, params["rule"], params.get("position"))


@routes.get(BASE + "/{rule}")
def retrieve_rule(ctx: Ctx, params: dict[str, Any], rule: str) -> dict[str, Any]:
    return _load(ctx, rule)


@routes.post(BASE + "/{rule}", UPDATE)
def update_rule(ctx: Ctx, params: dict[str, Any], rule: str) -> dict[str, Any]:
    return change_rule(ctx, rule, params.get("rule"), params.get("position"))


@routes.delete(BASE + "/{rule}")
def delete_rule(ctx: Ctx, params: dict[str, Any], rule: str) -> dict[str, Any]:
    return remove_rule(ctx, rule)


register("radar.rule")


def rules_command(database: str, action: str, values: list[str], live: bool = False) -> int:
    """``billfold radar rules list|add TEXT [POSITION]|remove ID|move ID POSITION``."""
    import sys

    from billfold.app import Billfold
    from billfold.config import Settings
    from billfold.errors import StripeError
    from billfold.store.objects import Scope

    app = Billfold(Settings(database_url=database))
    app.start()
    try:
        with app.db.transaction() as tx:
            scope = Scope(app.platform_account, live)
            ctx = Ctx(app, tx, scope, app.default_version(app.platform_account), app.clock.now())
            if action == "add" and len(values) in (1, 2):
                position = int(values[1]) if len(values) == 2 else None
                changed = [add_rule(ctx, values[0], position)]
            elif action == "remove" and len(values) == 1:
                changed = [remove_rule(ctx, values[0])]
            elif action == "move" and len(values) == 2:
                changed = [change_rule(ctx, values[0], None, int(values[1]))]
            elif action == "list" and not values:
                changed = []
            else:
                print(f"billfold: usage: billfold radar rules {_USAGE}", file=sys.stderr)
                return 2
            for rule in changed:
                print(("removed " if rule.get("deleted") else "saved ") + rule["id"])
            for rule in all_rules(ctx):
                print(f"{rule['position']:>3}  {rule['id']}  {rule['text']}")
    except (StripeError, ValueError) as exc:
        print(f"billfold: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    return 0


_USAGE = 'list | add "Block if :risk_score: > 75" [POSITION] | remove RULE_ID | move RULE_ID POSITION'
