"""JSON responses serialised with orjson (fast, and datetimes as RFC 3339)."""
from __future__ import annotations

from typing import Any

import orjson
from starlette import responses


class JSONResponse(responses.JSONResponse):
    """A JSONResponse (so FastAPI documents routes answering it as JSON, not as a string) rendered by orjson."""
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS, default=str)
