"""Reading a deployment option by name, whether options are typed or the older dict.

A bridge while ``Deployment.options`` moves to typed option objects: provider-specific
options (Azure ``api_version``, Bedrock ``region``, Vertex ``project``/``location``) are read
through here, None when the deployment does not set them.
"""

from __future__ import annotations

from typing import Any

from llm_router.config.deployment import Deployment


def option(deployment: Deployment, name: str) -> Any:
    """The option ``name`` of ``deployment``, or None."""
    options: Any = deployment.options
    return options.get(name) if isinstance(options, dict) else getattr(options, name, None)
