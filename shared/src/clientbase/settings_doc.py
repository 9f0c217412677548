"""Lists every environment variable a settings class reads, for the README table and config checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices, SecretStr
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings


@dataclass(frozen=True)
class EnvVar:
    """One environment variable, its default and what it sets."""

    name: str
    default: str
    description: str


def _nested_settings(field_type: Any) -> type[BaseSettings] | None:
    """The settings class a field nests, if it nests one."""
    return field_type if isinstance(field_type, type) and issubclass(field_type, BaseSettings) else None


def _default_text(default: Any) -> str:
    """A readable default value."""
    if default is PydanticUndefined:
        return "(required)"
    if isinstance(default, SecretStr):
        return default.get_secret_value()
    return "" if default is None else str(default)


def _env_name(prefix: str, name: str, alias: Any) -> str:
    """The variable a field reads: its own alias (the first one given) when it has one, else prefix and name."""
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    return alias.upper() if isinstance(alias, str) else (prefix + name).upper()


def env_vars(settings_class: type[BaseSettings]) -> list[EnvVar]:
    """Every variable the class reads, nested settings included, in declaration order."""
    prefix = settings_class.model_config.get("env_prefix", "")
    found: list[EnvVar] = []
    for name, field in settings_class.model_fields.items():
        nested = _nested_settings(field.annotation)
        if nested is not None:
            found.extend(env_vars(nested))
            continue
        found.append(EnvVar(_env_name(prefix, name, field.validation_alias), _default_text(field.default),
                            field.description or ""))
    return found


def markdown_table(rows: list[EnvVar]) -> str:
    """A markdown table of variables."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{row.name}` | {f'`{row.default}`' if row.default else '—'} | {row.description} |" for row in rows]
    return "\n".join(lines)
