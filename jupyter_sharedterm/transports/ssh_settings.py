"""The schema of one SSH device's settings: one definition, checked by jsonschema, whose every
refusal reads as an instruction (which setting, what it must be, what it was)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = [
    "AUTH_METHODS",
    "DEVICES_SCHEMA",
    "DEVICE_NAME_PATTERN",
    "DEVICE_SCHEMA",
    "AuthMethod",
    "device_problem",
    "devices_problem",
    "normalize",
]

AuthMethod = Literal["publickey", "keyboard-interactive", "password"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("publickey", "keyboard-interactive", "password")

_SECONDS: Final = {"type": "number", "exclusiveMinimum": 0}
_PATH: Final = {"type": "string", "minLength": 1}

# `x-message` says what a setting must be (`{value!r}`: what it was); `x-messages` overrides it
# for one JSON Schema keyword. A single auth method or key file may be given without a list;
# `normalize` makes it one first. Checks the schema cannot say (a host must not look like an
# option; publickey needs keys; paths must be absolute) stay in `SshTarget.__post_init__`.
DEVICE_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["host", "username"],
    "additionalProperties": False,
    "properties": {
        "host": {"type": "string", "x-message": "'host' must be a string, got {value!r}"},
        "username": {"type": "string", "x-message": "'username' must be a string, got {value!r}"},
        "port": {
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "x-message": "'port' must be an integer from 1 to 65535, got {value!r}",
        },
        "auth": {
            "type": "array",
            "items": {
                "enum": list(AUTH_METHODS),
                "x-message": f"unknown auth method {{value!r}}; use some of {list(AUTH_METHODS)}",
            },
            "minItems": 1,
            "uniqueItems": True,
            "x-message": f"'auth' must be a list of method names from {list(AUTH_METHODS)}",
            "x-messages": {
                "minItems": f"'auth' lists no method; use some of {list(AUTH_METHODS)}",
                "uniqueItems": "'auth' lists a method twice: {value!r}",
            },
        },
        "key_files": {
            "type": "array",
            "items": {**_PATH, "x-message": "'key_files' must be a path, got {value!r}"},
            "x-message": "'key_files' must be a list of paths",
        },
        "use_agent": {
            "type": "boolean",
            "x-message": "'use_agent' must be true or false, got {value!r}",
        },
        "known_hosts": {**_PATH, "x-message": "'known_hosts' must be a path, got {value!r}"},
        "jump": {  # an inline entry is checked on its own, against this schema
            "type": ["string", "null", "object"],
            "x-message": "'jump' must be a device name or a device entry",
        },
        "connect_timeout": {
            **_SECONDS,
            "x-message": "'connect_timeout' must be a number of seconds above 0, got {value!r}",
        },
        "keepalive_interval": {
            **_SECONDS,
            "x-message": "'keepalive_interval' must be a number of seconds above 0, got {value!r}",
        },
        "keepalive_count_max": {
            "type": "integer",
            "minimum": 1,
            "x-message": "'keepalive_count_max' must be an integer of at least 1, got {value!r}",
        },
    },
}
_VALIDATOR: Final = Draft202012Validator(DEVICE_SCHEMA)
DEVICE_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# The whole `devices` setting: names to entries (each entry is then checked on its own, so its
# refusal names the device).
DEVICES_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "propertyNames": {"type": "string", "pattern": DEVICE_NAME_PATTERN},
}
_DEVICES_VALIDATOR: Final = Draft202012Validator(DEVICES_SCHEMA)


def normalize(entry: Mapping[str, object]) -> dict[str, object]:
    """The entry with paths as strings and a lone `auth` method or `key_files` path as a list."""
    out = {key: _plain(value) for key, value in entry.items()}
    for key in ("auth", "key_files"):
        if isinstance(out.get(key), str):
            out[key] = [out[key]]
    return out


def _plain(value: object) -> object:
    """Path objects (from a Python config file) as strings, also inside lists."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def devices_problem(devices: object) -> str | None:
    """What is wrong with the `devices` setting as a whole (not its entries); None if nothing."""
    error = next(iter(_DEVICES_VALIDATOR.iter_errors(devices)), None)
    if error is None:
        return None
    if error.validator == "type" and not error.path:
        return "expected a dict of device name -> settings"
    return (
        f"the device name {error.instance!r} must be 1 to 64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )


def device_problem(entry: object) -> str | None:
    """What is wrong with one (normalized) device entry, as an instruction; None if none."""
    errors = sorted(_VALIDATOR.iter_errors(entry), key=lambda e: (len(e.path), list(e.path)))
    return _message(errors[0]) if errors else None


def _message(error: ValidationError) -> str:
    if error.validator == "type" and not error.path:
        return f"expected a mapping of settings, got {type(error.instance).__name__}"
    if error.validator == "required":
        missing = next(k for k in DEVICE_SCHEMA["required"] if k not in error.instance)
        return f"the {missing!r} setting is required"
    if error.validator == "additionalProperties" and not error.path:
        known = sorted(DEVICE_SCHEMA["properties"])
        unknown = sorted(set(error.instance) - set(known))
        return f"unknown setting(s) {unknown}; known settings are {known}"
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    template = schema.get("x-messages", {}).get(error.validator) or schema.get("x-message")
    return error.message if template is None else str(template).format(value=error.instance)
