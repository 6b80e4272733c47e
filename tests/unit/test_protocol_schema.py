"""schema.json is what the protocol's types generate, and names every frame type both ways."""

from __future__ import annotations

import json
import re
import typing

import msgspec

from jupyter_sharedterm.app import SharedTermApp
from jupyter_sharedterm.protocol import frames, schema


def _committed() -> dict[str, typing.Any]:
    return dict(json.loads(schema.SCHEMA_PATH.read_text(encoding="utf-8")))


def test_committed_schema_is_what_the_types_generate() -> None:
    assert schema.SCHEMA_PATH.read_text(encoding="utf-8") == schema.render(schema.build_schema()), (
        "jupyter_sharedterm/protocol/schema.json is stale: run "
        "`python -m jupyter_sharedterm.protocol.schema` and commit the result"
    )


def test_committed_openapi_is_what_the_types_generate() -> None:
    assert schema.OPENAPI_PATH.read_text(encoding="utf-8") == schema.render(
        schema.build_openapi()
    ), "openapi.json is stale: run `python -m jupyter_sharedterm.protocol.schema`"
    document = json.loads(schema.OPENAPI_PATH.read_text(encoding="utf-8"))
    assert document["openapi"] == "3.1.0"
    post = document["paths"]["/api/sharedterm/sessions/{sid}/invites"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InviteBody"
    }
    assert set(document["components"]["schemas"]) >= {"SessionModel", "InviteBody"}


def test_every_rest_route_served_is_in_the_spec_and_back() -> None:
    app = SharedTermApp()
    app.initialize_handlers()
    served = set()
    for pattern, handler in app.handlers:
        path = re.sub(r"\([^)]*\)", "{}", pattern.lstrip("/"))
        if not path.startswith("api/sharedterm") or path.endswith(("/terminal", "/sync")):
            continue  # websockets: the terminal's is in schema.json, presence is Yjs sync
        for method in ("get", "post", "put", "patch", "delete"):
            if method in vars(handler):
                served.add((method.upper(), path))
    spec = {(r.method, re.sub(r"\{\w+\}", "{}", r.path)) for r in schema.ROUTES}
    assert served == spec


def _tagged_classes() -> dict[str, type[msgspec.Struct]]:
    return {
        name: value
        for name, value in vars(frames).items()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__struct_config__.tag is not None
    }


def test_every_frame_class_is_in_a_union_and_in_the_schema() -> None:
    unions = [frames.ServerFrame, frames.ServerCtl, frames.ClientFrame, frames.ClientCtl]
    in_unions = {m for u in unions for m in typing.get_args(u)}
    defined = set(_tagged_classes().values())
    assert defined == in_unions, "a frame class is defined but not in its direction's union"
    committed = _committed()
    named = {
        *committed["x-server-frames"].values(),
        *committed["x-server-ctl"].values(),
        *committed["x-client-frames"].values(),
        *committed["x-client-ctl"].values(),
    }
    assert named == {c.__name__ for c in defined}
    assert named <= set(committed["$defs"])


def test_server_and_client_types_are_told_apart_by_the_schema_index() -> None:
    committed = _committed()
    assert committed["x-server-ctl"]["roster"] == "Roster"
    assert committed["x-client-ctl"]["question"] == "Ask"
    server = set(committed["x-server-frames"].values()) | set(committed["x-server-ctl"].values())
    client = set(committed["x-client-frames"].values()) | set(committed["x-client-ctl"].values())
    assert not server & client
    assert {"$ref": "#/$defs/Roster"} in committed["$defs"]["ServerCtl"]["anyOf"]


def test_frames_validate_against_their_schema_shape() -> None:
    # Every encoded frame starts with the tag the index gives for its class.
    committed = _committed()
    for tag, name in committed["x-server-frames"].items():
        frame_schema = committed["$defs"][name]
        assert frame_schema["type"] == "array"
        assert frame_schema["prefixItems"][0] == {"enum": [tag]}


def test_every_client_message_has_a_usage_for_its_refusals() -> None:
    assert list(frames._FRAME_USAGE) == list(schema.tags(frames.ClientFrame))
    assert list(frames._CTL_USAGE) == list(schema.tags(frames.ClientCtl))
