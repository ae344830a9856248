"""Fast JSON in and out of Flask views with msgspec."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from flask import Response


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_default)


def dumps(obj: Any) -> bytes:
    return _encoder.encode(obj)


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(dumps(obj), status=status, mimetype="application/json")
