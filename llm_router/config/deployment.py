"""A deployment: one provider, one upstream model, one key, one base URL, typed options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``connect`` bounds opening the connection (a timeout fails over to the
    next deployment at once: nothing was sent); ``first_byte`` the wait for the response
    headers (most of a non-streamed answer's wait); ``stream_idle`` each wait for more
    body bytes (the gap between stream chunks, or in a body being read); ``total`` the
    whole request: every attempt, backoff wait and the streamed body to its last chunk
    (a stream still going at ``total`` ends with an ``upstream_timeout`` error)."""

    connect: float = 5.0
    first_byte: float = 120.0
    stream_idle: float = 60.0
    total: float = 600.0


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens; ``cached_input`` defaults to ``input``."""

    input: float
    output: float
    cached_input: float | None = None


@dataclass(frozen=True, slots=True)
class DeploymentOptions:
    """How to talk to the provider. ``drop_params``: drop what the provider cannot honour
    instead of a 400; ``listed``: shown in ``/health`` and ``/v1/models`` (a local server
    only once its base URL was set). The rest are provider settings, None where unset
    (the provider's default): ``anthropic_version`` (the ``anthropic-version`` header),
    ``api_version`` (Azure OpenAI), ``region`` (Bedrock), ``project`` and ``location`` (Vertex),
    ``azure_ad_token`` (Azure: a Microsoft Entra ID bearer token, used as it is, never shown)
    and ``azure_auth`` (Azure: ``entra`` for tokens from azure-identity, ``providers/azure/auth.py``).
    ``max_output_tokens``: the model's output limit (a larger ``max_tokens`` is lowered to it;
    None: the shipped table's value, ``routing/output_cap.py``); ``embedding``: the deployment
    makes embeddings (``/v1/embeddings`` only; chat requests to it are refused)."""

    drop_params: bool = False
    listed: bool = True
    max_output_tokens: int | None = None
    embedding: bool = False
    anthropic_version: str | None = None
    api_version: str | None = None
    region: str | None = None
    project: str | None = None
    location: str | None = None
    azure_ad_token: str | None = field(default=None, repr=False)
    azure_auth: str | None = None


# The DeploymentOptions a config file entry, or a registry row's environment variable, may set.
PROVIDER_OPTIONS = ("anthropic_version", "api_version", "region", "project", "location", "azure_ad_token",
                    "azure_auth")


@dataclass(frozen=True, slots=True)
class LocalOptions:
    """The in-process model (LOCAL_* settings). ``model_path``: its GGUF file (None: the
    bundled model); ``max_queue``: requests that may wait while one generates;
    ``tool_calls``: "auto" lets the model choose whether to call an offered tool, "first" makes
    it call one when answering the user's turn under tool_choice auto (providers/local/tools.py)."""

    model_path: str | None = None
    preload: bool = False
    max_queue: int = 8
    context_tokens: int = 2048
    threads: int | None = None
    weight_repack: bool = False
    tool_calls: Literal["auto", "first"] = "auto"


@dataclass(frozen=True, slots=True)
class Deployment:
    """Where and how to reach one model. The key is a SecretStr: never printed.
    ``provider`` is the wire family (the ChatModel class's provider); ``spec_name`` the
    registry row it was made from when that differs (``ollama``), None otherwise; ``local``
    the in-process model's options (``provider == "local"`` only; ``base_url`` is then "")."""

    name: str
    provider: str
    model: str
    base_url: str
    api_key: SecretStr | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    options: DeploymentOptions = field(default_factory=DeploymentOptions)
    weight: float = 1.0
    retries: int | None = None
    price: Price | None = None
    max_concurrency: int | None = None
    local: LocalOptions | None = None
    spec_name: str | None = None

    def key(self) -> str:
        """The provider key in clear, for the Authorization header only."""
        return self.api_key.get_secret_value() if self.api_key else ""
