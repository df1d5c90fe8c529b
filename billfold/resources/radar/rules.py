"""Radar's rule language: ``Block if :risk_score: > 75 and :card_country: in @risky``.

A hand-written tokenizer and recursive-descent parser (the grammar is a dozen lines, so a
parsing library would add a dependency without making it clearer); ``rule_eval`` evaluates
the tree against a payment. Parsing happens when a rule is saved, so a rule that does not parse is
refused then; evaluation never raises.

    rule       := ACTION "if" expr
    ACTION     := "allow" | "block" | "review" | "request 3d secure"
    expr       := conj ("or" conj)*
    conj       := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | test
    test       := operand [OP operand | "in" (@alias | "(" literal ("," literal)* ")")
                           | "like" STRING]
    operand    := :attribute: | ::metadata_key:: | ::customer:key:: | STRING | NUMBER | true | false

Stripe's semantics kept here: keywords and actions are case-insensitive, string comparisons
ignore case, and a comparison with an attribute the payment does not have is false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from billfold.errors import InvalidRequestError

# Radar's order of evaluation: the first group with a matching rule decides.
ACTIONS = ("request_three_d_secure", "allow", "block", "review")

# The attributes Billfold knows, by value type. ``amount_in_<currency>`` is added below.
NUMBER, STRING, BOOL = "number", "string", "bool"
ATTRIBUTES: dict[str, str] = {
    "amount": NUMBER,  # Billfold's: the amount in the payment currency's minor units
    "amount_in_usd": NUMBER,
    "billing_address_country": STRING,
    "card_bin": STRING,
    "card_brand": STRING,
    "card_country": STRING,
    "card_fingerprint": STRING,
    "card_funding": STRING,
    "currency": STRING,
    "customer": STRING,
    "email": STRING,
    "email_domain": STRING,
    "ip_address": STRING,
    "ip_country": STRING,
    "is_3d_secure": BOOL,
    "is_off_session": BOOL,
    "receipt_email": STRING,
    "risk_level": STRING,
    "risk_score": NUMBER,
}
_AMOUNT_IN = re.compile(r"amount_in_([a-z]{3})")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<meta>::(?:(?P<scope>customer):)?(?P<key>[^:\s]+)::)
  | (?P<attr>:(?P<name>[a-z0-9_]+):)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<list>@[A-Za-z0-9_\-]+)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = frozenset({"and", "or", "not", "in", "like", "true", "false", "if"})


class RuleSyntaxError(InvalidRequestError):
    def __init__(self, message: str, param: str = "rule") -> None:
        super().__init__(f"Invalid rule: {message}", param=param, code="parameter_invalid")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


# The tree: each node is a small frozen dataclass, evaluated against a Payment.
@dataclass(frozen=True)
class Attr:
    name: str

    @property
    def type(self) -> str:
        return ATTRIBUTES.get(self.name) or NUMBER


@dataclass(frozen=True)
class Meta:
    key: str
    customer: bool = False
    type: str = STRING


@dataclass(frozen=True)
class Literal:
    value: str | Decimal | bool

    @property
    def type(self) -> str:
        if isinstance(self.value, bool):
            return BOOL
        return NUMBER if isinstance(self.value, Decimal) else STRING


Operand = Attr | Meta | Literal


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class InList:
    left: Operand
    alias: str | None
    values: tuple[Literal, ...] = ()


@dataclass(frozen=True)
class Like:
    left: Operand
    pattern: str


@dataclass(frozen=True)
class Truthy:
    operand: Operand


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class Both:
    left: Node
    right: Node


@dataclass(frozen=True)
class Either:
    left: Node
    right: Node


Node = Compare | InList | Like | Truthy | Not | Both | Either


@dataclass(frozen=True)
class Rule:
    action: str
    predicate: str
    tree: Node

    def lists(self) -> set[str]:
        return set(_aliases(self.tree))


def _aliases(node: Node) -> list[str]:
    if isinstance(node, InList):
        return [node.alias] if node.alias else []
    if isinstance(node, Not):
        return _aliases(node.inner)
    if isinstance(node, Both | Either):
        return _aliases(node.left) + _aliases(node.right)
    return []


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None:
            raise RuleSyntaxError(f"unexpected character {text[at]!r} at position {at + 1}.")
        kind = found.lastgroup or ""
        if found.group("meta"):
            kind = "meta"
        elif found.group("attr"):
            kind = "attr"
        if kind != "space":
            tokens.append(Token(kind, found.group(0), at))
        at = found.end()
    return tokens


def parse(text: str) -> Rule:
    """``Block if :risk_score: > 75`` -> a Rule; a RuleSyntaxError (400) says what is wrong."""
    words = re.match(r"\s*(request\s+3d\s*s(?:ecure)?|allow|block|review)\s+if\s+", text, re.I)
    if words is None:
        raise RuleSyntaxError(
            "a rule starts with its action and 'if', e.g. \"Block if :risk_score: > 75\"; the "
            "actions are Allow, Block, Review and Request 3D Secure."
        )
    word = words.group(1).lower()
    action = "request_three_d_secure" if word.startswith("request") else word
    predicate = text[words.end():].strip()
    if not predicate:
        raise RuleSyntaxError("the rule has no condition after 'if'.")
    parser = _Parser(tokenize(predicate), predicate)
    tree = parser.expression()
    parser.finish()
    return Rule(action, predicate, tree)


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.at += 1
            return True
        return False

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.at += 1
            return True
        return False

    def fail(self, expected: str) -> RuleSyntaxError:
        token = self.peek()
        if token is None:
            return RuleSyntaxError(f"the condition ends where {expected} was expected.")
        return RuleSyntaxError(
            f"expected {expected} but found {token.text!r} at position {token.at + 1} of the condition."
        )

    def finish(self) -> None:
        if self.peek() is not None:
            raise self.fail("'and', 'or' or the end of the rule")

    def expression(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            node = Either(node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            node = Both(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return Not(self.unary())
        if self.punct("("):
            node = self.expression()
            if not self.punct(")"):
                raise self.fail("')'")
            return node
        return self.test()

    def test(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token is not None and token.kind == "op":
            self.at += 1
            right = self.operand()
            return _typed_compare(left, token.text, right)
        if self.keyword("in"):
            return self.membership(left)
        if self.keyword("like"):
            pattern = self.operand()
            if not isinstance(pattern, Literal) or pattern.type != STRING or left.type != STRING:
                raise RuleSyntaxError("'like' compares a text attribute with a quoted pattern.")
            return Like(left, str(pattern.value))
        if left.type != BOOL:
            raise self.fail("a comparison operator (=, !=, <, >, <=, >=), 'in' or 'like'")
        return Truthy(left)

    def membership(self, left: Operand) -> Node:
        token = self.peek()
        if token is not None and token.kind == "list":
            self.at += 1
            return InList(left, token.text[1:])
        if not self.punct("("):
            raise self.fail("a value list (@alias) or a parenthesized list of values")
        values = [self.literal()]
        while self.punct(","):
            values.append(self.literal())
        if not self.punct(")"):
            raise self.fail("',' or ')'")
        return InList(left, None, tuple(values))

    def literal(self) -> Literal:
        operand = self.operand()
        if not isinstance(operand, Literal):
            raise RuleSyntaxError("a list in parentheses holds quoted strings or numbers only.")
        return operand

    def operand(self) -> Operand:
        token = self.peek()
        if token is None:
            raise self.fail("an attribute or a value")
        self.at += 1
        if token.kind == "attr":
            name = token.text.strip(":")
            if name not in ATTRIBUTES and not _AMOUNT_IN.fullmatch(name):
                raise RuleSyntaxError(
                    f"unknown attribute {token.text}. Billfold knows "
                    + ", ".join(f":{n}:" for n in sorted(ATTRIBUTES))
                    + " and :amount_in_<currency>:."
                )
            return Attr(name)
        if token.kind == "meta":
            inner = token.text[2:-2]
            scope, _, key = inner.partition(":") if inner.startswith("customer:") else ("", "", inner)
            return Meta(key, customer=scope == "customer")
        if token.kind == "string":
            return Literal(re.sub(r"\\(.)", r"\1", token.text[1:-1]))
        if token.kind == "number":
            return Literal(Decimal(token.text))
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return Literal(token.text.lower() == "true")
        self.at -= 1
        if token.kind == "word" and token.text.lower() not in _KEYWORDS:
            raise RuleSyntaxError(
                f"{token.text!r} at position {token.at + 1} is not a value: quote text in single "
                "quotes (e.g. 'US') and write attributes between colons (e.g. :card_country:)."
            )
        raise self.fail("an attribute or a value")


def _typed_compare(left: Operand, op: str, right: Operand) -> Compare:
    types = {left.type, right.type}
    if op in ("<", ">", "<=", ">=") and types != {NUMBER}:
        # Metadata is text, but Stripe lets it be compared with numbers.
        if not (types <= {NUMBER, STRING} and (isinstance(left, Meta) or isinstance(right, Meta))):
            raise RuleSyntaxError(f"'{op}' compares numbers; {_describe(left)} and {_describe(right)} are not both numbers.")
    elif len(types) > 1 and not (isinstance(left, Meta) or isinstance(right, Meta)):
        raise RuleSyntaxError(f"{_describe(left)} and {_describe(right)} are of different types ({' and '.join(sorted(types))}).")
    return Compare(left, op, right)


def _describe(operand: Operand) -> str:
    if isinstance(operand, Attr):
        return f":{operand.name}:"
    if isinstance(operand, Meta):
        return f"::{'customer:' if operand.customer else ''}{operand.key}::"
    return repr(operand.value) if not isinstance(operand.value, Decimal) else str(operand.value)
