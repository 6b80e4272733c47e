"""What every REST handler shares: who is asking, the JSON body, and the one error mapping."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..core.errors import DomainError
from ..manager import SessionManager, user_identity
from ..protocol import STATUS, ErrorBody, encode_body, http_status, parse_json_body

__all__ = ["STATUS", "SharedTermAPIHandler", "error_status"]


def error_status(error: DomainError) -> int:
    """The HTTP status of a refusal (the protocol's table)."""
    return http_status(error.code)


class SharedTermAPIHandler(APIHandler):
    """Base of the REST handlers; domain errors become statuses with a message to act on."""

    auth_resource = "sharedterm"

    @property
    def manager(self) -> SessionManager:
        manager: SessionManager = self.settings["sharedterm_manager"]
        return manager

    def caller(self) -> tuple[str, str]:
        """(identity, display name) of the signed-in user."""
        user = self.current_user
        name = user.display_name or user.name or user.username
        return user_identity(user.username), name

    def json_body(self) -> dict[str, Any]:
        return parse_json_body(self.request.body)

    def reply(self, model: Any, status: int = 200) -> None:
        """Answer with `model` (dicts, lists or protocol types) as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(encode_body(model))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, DomainError):
            status_code, message = error_status(exc), exc.message
        elif isinstance(exc, web.HTTPError):
            message = exc.log_message or HTTPStatus(status_code).phrase
        else:  # never a traceback, path or token: the log has the details
            message = "Internal error in the shared terminal extension; see the server log."
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(encode_body(ErrorBody(message=message)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, DomainError):  # an expected refusal, not a server fault
            self.log.debug(
                "sharedterm: %s %s -> %s", self.request.method, self.request.path, value.for_log()
            )
            return
        super().log_exception(typ, value, tb)
