"""Parameter declarations: each resource declares its parameters once.

The same declaration validates a request (unknown names refused, types coerced from
form strings, enums and bounds checked, each error naming its ``param``) and
describes the operation for Billfold's own OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from billfold.errors import InvalidRequestError

UNSET: Any = object()


class Spec:
    required: bool = False
    # ``""`` is Stripe's way to clear an optional value; emptyable params accept it as None.
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> Any:
        raise NotImplementedError

    def openapi(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, value: Any, param: str) -> Any:
        if self.emptyable and value == "":
            return None
        return self.parse(value, param)


def _invalid(message: str, param: str, code: str = "parameter_invalid") -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code=code)


def _scalar(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise _invalid(f"Invalid {param}: expected a single value, not a hash or array", param)
    return value


@dataclass
class Str(Spec):
    required: bool = False
    emptyable: bool = False
    max_length: int = 5000
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    description: str = ""

    def parse(self, value: Any, param: str) -> str:
        text = _scalar(value, param)
        if self.enum is not None and text not in self.enum:
            choices = ", ".join(self.enum[:-1]) + (
                f", or {self.enum[-1]}" if len(self.enum) > 1 else self.enum[0]
            )
            raise _invalid(f"Invalid {param}: must be one of {choices}", param)
        if len(text) > self.max_length:
            shown = text if len(text) <= 23 else f"{text[:10]}...{text[-10:]}"
            raise InvalidRequestError(
                f"Invalid string: {shown}; must be at most {self.max_length} characters",
                param=param,
            )
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise _invalid(f"Invalid {param}: {text!r} is not in the expected format", param)
        return text

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        return schema


@dataclass
class Int(Spec):
    required: bool = False
    emptyable: bool = False
    min: int | None = None
    max: int | None = 99_999_999_999
    description: str = ""

    def parse(self, value: Any, param: str) -> int:
        text = _scalar(value, param).strip()
        if not re.fullmatch(r"-?\d{1,19}", text):
            raise _invalid(f"Invalid integer: {text}", param, "parameter_invalid_integer")
        number = int(text)
        if self.min is not None and number < self.min:
            raise _invalid(
                f"This value must be greater than or equal to {self.min}.", param,
                "parameter_invalid_integer",
            )
        if self.max is not None and number > self.max:
            raise _invalid(
                f"This value must be less than or equal to {self.max}.", param,
                "parameter_invalid_integer",
            )
        return number

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.min is not None:
            schema["minimum"] = self.min
        if self.max is not None:
            schema["maximum"] = self.max
        return schema


def Amount(required: bool = False, min: int = 0) -> Int:  # noqa: N802 - reads like a type
    return Int(required=required, min=min, max=99_999_999)


def Timestamp(required: bool = False, emptyable: bool = False) -> Int:  # noqa: N802
    return Int(required=required, emptyable=emptyable, min=0, max=253_402_300_799)


@dataclass
class Bool(Spec):
    required: bool = False
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> bool:
        text = _scalar(value, param)
        if text == "true":
            return True
        if text == "false":
            return False
        raise _invalid(f"Invalid boolean: {text}", param, "parameter_invalid_boolean")

    def openapi(self) -> dict[str, Any]:
        return {"type": "boolean"}


# Stripe's presentment currencies (ISO 4217, lowercase); zero-decimal ones listed in money.py.
CURRENCIES = frozenset(
    """aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp
    byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel
    gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd
    kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn
    nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd
    shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst
    xaf xcd xof xpf yer zar zmw""".split()
)


@dataclass
class Currency(Spec):
    required: bool = False
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> str:
        text = _scalar(value, param).lower()
        if text not in CURRENCIES:
            raise _invalid(
                f"Invalid currency: {text}. Stripe currently supports these currencies: "
                + ", ".join(sorted(CURRENCIES)),
                param,
            )
        return text

    def openapi(self) -> dict[str, Any]:
        return {"type": "string", "format": "currency"}


@dataclass
class Dict(Spec):
    fields: Mapping[str, Spec] = field(default_factory=dict)
    required: bool = False
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _invalid(f"Invalid object: {param} must be a hash", param, "parameter_invalid")
        return parse_fields(self.fields, value, prefix=param)

    def openapi(self) -> dict[str, Any]:
        return object_schema(self.fields)


@dataclass
class List(Spec):
    item: Spec = field(default_factory=Str)
    required: bool = False
    emptyable: bool = False
    max_items: int = 100
    description: str = ""

    def parse(self, value: Any, param: str) -> list[Any]:
        if isinstance(value, dict):
            if not all(k.isdigit() for k in value):
                raise _invalid(f"Invalid array: {param} must be an array", param)
            items = [value[k] for k in sorted(value, key=int)]
        elif isinstance(value, list):
            items = value
        else:
            raise _invalid(f"Invalid array: {param} must be an array", param)
        if len(items) > self.max_items:
            raise _invalid(f"Invalid array: {param} must have at most {self.max_items} items", param)
        return [self.item.check(item, f"{param}[{i}]") for i, item in enumerate(items)]

    def openapi(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.openapi()}


METADATA_MAX_KEYS = 50
METADATA_MAX_KEY = 40
METADATA_MAX_VALUE = 500


def _too_many_keys(count: int) -> str:
    return f"Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {count}."


@dataclass
class Metadata(Spec):
    """Stripe's metadata: 50 keys, keys up to 40 characters, values up to 500; ``""`` unsets."""

    required: bool = False
    emptyable: bool = True
    description: str = ""

    def parse(self, value: Any, param: str) -> dict[str, str | None]:
        if not isinstance(value, dict):
            raise _invalid(
                f"Invalid {param}: metadata must be a hash of string keys and string values "
                f"(as in {param}[key]=value), or an empty string to unset it.",
                param,
            )
        if len(value) > METADATA_MAX_KEYS:
            raise _invalid(_too_many_keys(len(value)), param)
        result: dict[str, str | None] = {}
        for key, item in value.items():
            if not isinstance(item, str):
                raise _invalid(
                    f"Invalid value for {param}[{key}]: metadata values must be strings, "
                    "not a hash or an array.",
                    param,
                )
            if "[" in key or "]" in key:
                raise _invalid(
                    f"Invalid {param} key: {key}. Metadata keys may not contain square brackets.",
                    param,
                )
            if len(key) > METADATA_MAX_KEY:
                raise _invalid(
                    f"Metadata keys can have up to {METADATA_MAX_KEY} characters, but you passed "
                    f"in a key that is {len(key)} characters. Invalid key: {key[:METADATA_MAX_KEY]}...",
                    param,
                )
            if len(item) > METADATA_MAX_VALUE:
                raise _invalid(
                    f"Metadata values can have up to {METADATA_MAX_VALUE} characters, but you passed "
                    f"in a value that is {len(item)} characters. Invalid value: {item[:30]}...",
                    param,
                )
            result[key] = item or None
        return result

    def openapi(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": {"type": "string"}}


@dataclass
class AnyOf(Spec):
    """A value that may take one of several shapes, e.g. ``created`` (timestamp or range)."""

    options: tuple[Spec, ...] = ()
    required: bool = False
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> Any:
        errors: list[tuple[Spec, InvalidRequestError]] = []
        for option in self.options:
            try:
                return option.check(value, param)
            except InvalidRequestError as exc:
                errors.append((option, exc))
        assert errors
        # Report the error of the option shaped like the value (``created=x`` is a bad integer,
        # ``created[gte]=x`` a bad range), not whichever option happened to be tried last.
        hashes = (Dict, Metadata, List)
        for option, error in errors:
            if isinstance(value, dict | list) == isinstance(option, hashes):
                raise error
        raise errors[-1][1]

    def openapi(self) -> dict[str, Any]:
        return {"anyOf": [option.openapi() for option in self.options]}


def apply_metadata(current: dict[str, str], changes: dict[str, str | None] | None) -> dict[str, str]:
    """Merge a metadata update as Stripe does: ``None`` (sent as ``""``) removes a key."""
    if changes is None:
        return {}
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise _invalid(_too_many_keys(len(merged)), "metadata")
    return merged


def parse_fields(specs: Mapping[str, Spec], raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in raw.items():
        param = f"{prefix}[{name}]" if prefix else name
        spec = specs.get(name)
        if spec is None:
            raise _invalid(f"Received unknown parameter: {param}", param, "parameter_unknown")
        result[name] = spec.check(value, param)
    for name, spec in specs.items():
        if spec.required and name not in raw:
            param = f"{prefix}[{name}]" if prefix else name
            raise _invalid(f"Missing required param: {param}.", param, "parameter_missing")
    return result


def object_schema(specs: Mapping[str, Spec]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: spec.openapi() for name, spec in specs.items()},
        "required": [name for name, spec in specs.items() if spec.required],
        "additionalProperties": False,
    }


EXPAND = List(item=Str(max_length=500), max_items=50)

RANGE = Dict(
    fields={"gt": Int(min=0), "gte": Int(min=0), "lt": Int(min=0), "lte": Int(min=0)}
)
CREATED = AnyOf(options=(Int(min=0), RANGE))

LIST_PARAMS: dict[str, Spec] = {
    "limit": Int(min=1, max=100),
    "starting_after": Str(),
    "ending_before": Str(),
    "expand": EXPAND,
}
