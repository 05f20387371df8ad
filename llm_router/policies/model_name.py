"""A model name is checked before anything resolves it: it may end up in a response header
(``x-llm-router-deployment``) and in log lines, so control characters (CR, LF, NUL...) and
absurd lengths are refused with a 400 naming the field (bad-input matrix I11)."""

from __future__ import annotations

import re

from llm_router.errors import InvalidRequest
from llm_router.policies.base import BasePolicy, RequestContext

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_MODEL_NAME = 256


class ModelNamePolicy(BasePolicy):
    """Refuses model names that are not plain printable text."""

    name = "model_name"

    async def check(self, ctx: RequestContext) -> None:
        name = ctx.model
        if len(name) > MAX_MODEL_NAME or _CONTROL.search(name):
            raise InvalidRequest("The model name must be printable text of at most "
                                 f"{MAX_MODEL_NAME} characters.", "model")
