"""The permissions a project declares for its tokens, read from ACCESS_TOKENS["PERMISSIONS"].

Each declaration is a dict with a ``code`` (``"profile:write"``), a ``label``
shown on the forms, a ``group`` that gathers related codes under one heading,
and optionally ``implies``: codes granted along with it, so "write implies
read" is stated once, here, and holds on the forms, the API and at use.

Full Access (``"*"``) and No Access (``[]``) are not declared: Full Access means
every permission, including ones declared later.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver

from tokens_app.conf import DEFAULTS, raw_setting

FULL_ACCESS = "*"


@dataclass(frozen=True, slots=True)
class Permission:
    code: str
    label: str
    group: str
    implies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    permissions: tuple[Permission, ...]


def setting_value() -> Any:
    return {**DEFAULTS, **raw_setting()}.get("PERMISSIONS", [])


def problems(value: Any) -> list[str]:
    """What is wrong with a PERMISSIONS setting, in words; empty when it is usable."""
    if not isinstance(value, list | tuple):
        return ["PERMISSIONS must be a list of dicts."]
    found: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            found.append(f"Entry {index} must be a dict with code, label and group.")
            continue
        code = entry.get("code")
        if not isinstance(code, str) or not code or code == FULL_ACCESS or code.strip() != code:
            found.append(f"Entry {index} needs a non-empty code without spaces, other than '*'.")
            continue
        if code in seen:
            found.append(f"The code {code!r} is declared twice.")
        seen.add(code)
        for key in ("label", "group"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                found.append(f"{code!r} needs a non-empty {key}.")
        unknown = set(entry) - {"code", "label", "group", "implies"}
        if unknown:
            found.append(f"{code!r} has unknown keys: {', '.join(sorted(unknown))}.")
        implies = entry.get("implies", [])
        if not isinstance(implies, list | tuple) or not all(isinstance(c, str) for c in implies):
            found.append(f"{code!r}: implies must be a list of codes.")
    for entry in value:
        if isinstance(entry, dict) and isinstance(entry.get("implies"), list | tuple):
            for implied in entry["implies"]:
                if implied not in seen:
                    found.append(
                        f"{entry.get('code')!r} implies {implied!r}, which is not declared."
                    )
    return found


@functools.cache
def declared() -> tuple[Permission, ...]:
    """The declared permissions in setting order; an unusable setting declares none."""
    value = setting_value()
    if problems(value):
        return ()
    return tuple(
        Permission(
            code=entry["code"],
            label=entry["label"],
            group=entry["group"],
            implies=tuple(entry.get("implies", ())),
        )
        for entry in value
    )


@functools.cache
def _by_code() -> dict[str, Permission]:
    return {permission.code: permission for permission in declared()}


def codes() -> frozenset[str]:
    return frozenset(_by_code())


def get(code: str) -> Permission | None:
    return _by_code().get(code)


def groups(selected: Iterable[str] | None = None) -> list[Group]:
    """Declared permissions grouped under their headings, in setting order.

    With ``selected``, only those codes are kept and empty groups are dropped.
    """
    keep = None if selected is None else set(selected)
    ordered: dict[str, list[Permission]] = {}
    for permission in declared():
        if keep is None or permission.code in keep:
            ordered.setdefault(permission.group, []).append(permission)
    return [Group(name, tuple(members)) for name, members in ordered.items()]


def undeclared(granted: Iterable[str]) -> list[str]:
    known = codes()
    return sorted({code for code in granted if code != FULL_ACCESS and code not in known})


def expand(granted: Iterable[str]) -> list[str]:
    """The declared codes in ``granted`` plus everything they imply, in setting order.

    Undeclared codes are dropped quietly: a permission removed from the setting
    stops working for tokens that still hold it.
    """
    by_code = _by_code()
    pending = [code for code in granted if code in by_code]
    result: set[str] = set()
    while pending:
        code = pending.pop()
        if code not in result:
            result.add(code)
            pending.extend(c for c in by_code[code].implies if c in by_code)
    return [permission.code for permission in declared() if permission.code in result]


def validate(granted: Any) -> list[str]:
    """A permissions list as stored on a token: ``["*"]``, ``[]`` or declared codes, expanded.

    Raises ValidationError naming any undeclared code, so forms and the API
    refuse the same things with the same words.
    """
    if not isinstance(granted, list | tuple) or not all(isinstance(c, str) for c in granted):
        raise ValidationError("Permissions must be a list of permission codes.", code="invalid")
    if FULL_ACCESS in granted:
        if len(set(granted)) > 1:
            raise ValidationError(
                "Full Access ('*') already includes every permission; send it alone.",
                code="full_access_alone",
            )
        return [FULL_ACCESS]
    unknown = undeclared(granted)
    if unknown:
        names = ", ".join(f"“{code}”" for code in unknown)
        raise ValidationError(
            f"Unknown permission {names}. Choose from the permissions this site declares.",
            code="unknown_permission",
        )
    return expand(granted)


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "ACCESS_TOKENS":
        declared.cache_clear()
        _by_code.cache_clear()
