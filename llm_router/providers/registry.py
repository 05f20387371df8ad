"""The provider registry: one row per provider, the only place its facts live.

A row names the ChatModel class that speaks the provider's wire, the environment variables
its environment deployment is read from (key, base URL, model), its defaults, whether it
needs a key, and what it can do (``Capabilities``). Settings build the environment
deployments from these rows, the factory picks classes and key checks from them, and the
config file accepts exactly their names as ``provider:``. Adding a provider is one row.

A host that speaks OpenAI's Chat Completions (Ollama, vLLM, Groq, ...) is a row of data
made with :func:`openai_compatible`: no new class, just a name, a base URL and defaults.
A deployment's ``provider`` is the wire family of its row (``spec.provider``, e.g.
``openai-compatible`` for ``ollama``); ``Deployment.spec_name`` remembers the row itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from llm_router.providers.anthropic.chat_model import AnthropicChatModel
from llm_router.providers.azure.chat_model import PLACEHOLDER_URL as AZURE_PLACEHOLDER_URL
from llm_router.providers.azure.chat_model import AzureOpenAIChatModel
from llm_router.providers.base import ChatModel
from llm_router.providers.bedrock.chat_model import DEFAULT_URL as BEDROCK_DEFAULT_URL
from llm_router.providers.bedrock.chat_model import BedrockChatModel
from llm_router.providers.cohere.chat_model import CohereChatModel
from llm_router.providers.gemini.chat_model import GeminiChatModel
from llm_router.providers.local.chat_model import LocalChatModel
from llm_router.providers.openai.chat_model import OpenAIChatModel, OpenAICompatibleChatModel
from llm_router.providers.vertex.chat_model import DEFAULT_URL as VERTEX_DEFAULT_URL
from llm_router.providers.vertex.chat_model import VertexAnthropicChatModel, VertexGeminiChatModel

if TYPE_CHECKING:
    from llm_router.config.deployment import Deployment

PassthroughFormat = Literal["openai", "anthropic"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can honour. ``passthrough_format`` is the client wire format it
    speaks natively (a same-format request may be forwarded as it is); ``rejected_params``
    the canonical request fields it cannot honour (a 400 unless ``drop_params``)."""

    supports_tools: bool = True
    supports_json_schema: bool = True
    supports_images: bool = True
    passthrough_format: PassthroughFormat | None = None
    rejected_params: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider. ``name`` is what a config file's ``provider:`` says and what the
    environment deployment is called; ``*_variable`` are the environment variables
    (``None``: not read); ``key_required`` makes a missing key a 503 naming ``key_variable``.
    ``from_environment`` rows get a deployment named ``name`` built from the environment;
    ``in_process`` marks the local model (options from ``LOCAL_*``, no HTTP);
    ``listed_only_if_base_url_set`` keeps a local server out of ``/health`` and ``/v1/models``
    until its base URL is set (a cloud row whose credentials are not a key, Bedrock or Vertex,
    until its base URL or one of its options, AWS_REGION or the project, is set);
    ``option_variables`` name the environment variables of its provider options
    (``config.deployment.PROVIDER_OPTIONS``), e.g. ``ANTHROPIC_VERSION``; ``credential_options``
    those that stand in for the key when set (Azure's Entra ID token or ``azure_auth``)."""

    name: str
    model_class: type[ChatModel]
    key_variable: str | None
    default_model: str
    default_base_url: str | None
    base_url_variable: str | None
    model_variable: str | None = None
    key_required: bool = True
    openai_compatible: bool = False
    listed_only_if_base_url_set: bool = False
    from_environment: bool = True
    in_process: bool = False
    capabilities: Capabilities = field(default_factory=Capabilities)
    option_variables: tuple[tuple[str, str], ...] = ()  # (DeploymentOptions field, VARIABLE)
    credential_options: tuple[str, ...] = ()

    @property
    def provider(self) -> str:
        """The wire family its deployments report as ``provider`` (the class's name)."""
        return self.model_class.provider

    def variables(self) -> tuple[tuple[str, str], ...]:
        """``(field, VARIABLE)`` pairs read from the environment: api_key, base_url, model."""
        pairs = (("api_key", self.key_variable), ("base_url", self.base_url_variable),
                 ("model", self.model_variable))
        return tuple((name, variable) for name, variable in pairs if variable is not None)


OPENAI_CAPABILITIES = Capabilities(passthrough_format="openai")


def openai_compatible(name: str, base_url: str, default_model: str = "", *, key_required: bool = False,
                      local_server: bool = False,
                      capabilities: Capabilities = OPENAI_CAPABILITIES) -> ProviderSpec:
    """A row for a host speaking OpenAI's wire: ``{NAME}_API_KEY`` and ``{NAME}_BASE_URL``
    are read; a ``local_server`` is listed only once its base URL is set."""
    prefix = name.upper().replace("-", "_")
    return ProviderSpec(
        name=name, model_class=OpenAICompatibleChatModel, key_variable=f"{prefix}_API_KEY",
        default_model=default_model, default_base_url=base_url, base_url_variable=f"{prefix}_BASE_URL",
        key_required=key_required, openai_compatible=True, listed_only_if_base_url_set=local_server,
        capabilities=capabilities,
    )


def _hosted(name: str, base_url: str, model: str, rejected: frozenset[str] = frozenset(),
            tools: bool = True) -> ProviderSpec:
    return openai_compatible(name, base_url, model, key_required=True, capabilities=Capabilities(
        supports_tools=tools, passthrough_format="openai", rejected_params=rejected))


HOSTED: tuple[ProviderSpec, ...] = (
    # console.groq.com/docs/openai: n must be 1; extras logprobs, logit_bias, top_logprobs refused
    _hosted("groq", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile",
            frozenset({"n"})),
    # Mistral refuses fields it does not know (extra_forbidden): its seed is random_seed; extras
    # logit_bias, logprobs, store, metadata, service_tier refused too
    _hosted("mistral", "https://api.mistral.ai/v1", "mistral-small-latest",
            frozenset({"seed", "user"})),
    _hosted("deepseek", "https://api.deepseek.com/v1", "deepseek-chat", frozenset({"n"})),
    _hosted("together", "https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    _hosted("fireworks", "https://api.fireworks.ai/inference/v1",
            "accounts/fireworks/models/llama-v3p3-70b-instruct"),
    _hosted("openrouter", "https://openrouter.ai/api/v1", "openrouter/auto"),
    # grok-4 (a reasoning model) refuses stop, and the extras presence/frequency_penalty
    _hosted("xai", "https://api.x.ai/v1", "grok-4",
            frozenset({"stop"})),
    # Perplexity's Sonar models take no function tools
    _hosted("perplexity", "https://api.perplexity.ai", "sonar",
            frozenset({"tools", "tool_choice", "parallel_tool_calls", "n"}),
            tools=False),
    # inference-docs.cerebras.ai: parallel_tool_calls, n; extras frequency/presence_penalty,
    # logit_bias, service_tier refused
    _hosted("cerebras", "https://api.cerebras.ai/v1", "llama-3.3-70b",
            frozenset({"parallel_tool_calls", "n"})),
    _hosted("deepinfra", "https://api.deepinfra.com/v1/openai", "meta-llama/Llama-3.3-70B-Instruct"),
    _hosted("sambanova", "https://api.sambanova.ai/v1", "Meta-Llama-3.3-70B-Instruct",
            frozenset({"n"})),
    _hosted("nvidia-nim", "https://integrate.api.nvidia.com/v1", "meta/llama-3.3-70b-instruct"),
)


_ROWS: tuple[ProviderSpec, ...] = (
    ProviderSpec("openai", OpenAIChatModel, "OPENAI_API_KEY", "gpt-4.1-mini", "https://api.openai.com/v1",
                 "OPENAI_BASE_URL", "OPENAI_MODEL", capabilities=OPENAI_CAPABILITIES),
    ProviderSpec("anthropic", AnthropicChatModel, "ANTHROPIC_API_KEY", "claude-sonnet-4-5",
                 "https://api.anthropic.com", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL",
                 capabilities=Capabilities(passthrough_format="anthropic",
                                           rejected_params=frozenset({"n", "seed"})),
                 option_variables=(("anthropic_version", "ANTHROPIC_VERSION"),)),
    ProviderSpec("cohere", CohereChatModel, "COHERE_API_KEY", "command-a-03-2025", "https://api.cohere.com",
                 "COHERE_BASE_URL", "COHERE_MODEL",
                 capabilities=Capabilities(rejected_params=frozenset({"n"}))),
    # Any other OpenAI-compatible server, named in a config file with its base_url.
    ProviderSpec("openai-compatible", OpenAICompatibleChatModel, None, "", None, None, key_required=False,
                 openai_compatible=True, from_environment=False, capabilities=OPENAI_CAPABILITIES),
    ProviderSpec("local", LocalChatModel, None, "smollm2-135m-instruct", None, None, key_required=False,
                 in_process=True,
                 capabilities=Capabilities(supports_tools=False, supports_json_schema=False,
                                           supports_images=False,
                                           rejected_params=frozenset({"n", "response_format", "tools"}))),
    # OpenAI-compatible servers on this machine.
    openai_compatible("ollama", "http://localhost:11434/v1", "llama3.2", local_server=True),
    openai_compatible("vllm", "http://localhost:8000/v1", local_server=True),
    openai_compatible("llamacpp", "http://localhost:8080/v1", local_server=True),
    openai_compatible("lmstudio", "http://localhost:1234/v1", local_server=True),
    openai_compatible("sglang", "http://localhost:30000/v1", local_server=True),
    # Google, AWS and Azure, each with its own wire or URLs (providers/gemini, bedrock, azure).
    ProviderSpec("gemini", GeminiChatModel, "GEMINI_API_KEY", "gemini-2.5-flash",
                 "https://generativelanguage.googleapis.com/v1beta", "GEMINI_BASE_URL", "GEMINI_MODEL",
                 capabilities=Capabilities(rejected_params=frozenset({"n", "parallel_tool_calls"}))),
    # AWS credentials come from botocore's chain, or BEDROCK_API_KEY (a Bedrock API key) if set. The
    # default endpoint follows AWS_REGION (else botocore's region): bedrock-runtime.{region}.amazonaws.com.
    ProviderSpec("bedrock", BedrockChatModel, "BEDROCK_API_KEY",
                 "us.anthropic.claude-sonnet-4-5-20250929-v1:0", BEDROCK_DEFAULT_URL, "BEDROCK_BASE_URL",
                 "BEDROCK_MODEL",
                 key_required=False, listed_only_if_base_url_set=True,
                 capabilities=Capabilities(rejected_params=frozenset({"n", "seed", "parallel_tool_calls"})),
                 option_variables=(("region", "AWS_REGION"),)),
    # Azure OpenAI: the endpoint is the resource URL, the model the deployment name.
    ProviderSpec("azure", AzureOpenAIChatModel, "AZURE_API_KEY", "", AZURE_PLACEHOLDER_URL,
                 "AZURE_BASE_URL", "AZURE_MODEL", capabilities=OPENAI_CAPABILITIES,
                 option_variables=(("api_version", "AZURE_API_VERSION"), ("azure_ad_token", "AZURE_AD_TOKEN"),
                                   ("azure_auth", "AZURE_AUTH")),
                 credential_options=("azure_ad_token", "azure_auth")),
    # Vertex AI: google-auth credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud ADC, metadata server);
    # the endpoint follows the location. VERTEX_API_KEY selects Vertex's express mode instead.
    ProviderSpec("vertex", VertexGeminiChatModel, "VERTEX_API_KEY", "gemini-2.5-flash", VERTEX_DEFAULT_URL,
                 "VERTEX_BASE_URL", "VERTEX_MODEL", key_required=False, listed_only_if_base_url_set=True,
                 capabilities=Capabilities(rejected_params=frozenset({"n", "parallel_tool_calls"})),
                 option_variables=(("project", "VERTEXAI_PROJECT"), ("location", "VERTEXAI_LOCATION"))),
    # Claude on Vertex AI (rawPredict): project and region from the variables Claude Code and the
    # Anthropic SDK read; VERTEX_ANTHROPIC_API_KEY, if set, is a ready access token used as it is.
    ProviderSpec("vertex-anthropic", VertexAnthropicChatModel, "VERTEX_ANTHROPIC_API_KEY",
                 "claude-sonnet-4-5@20250929", VERTEX_DEFAULT_URL, "VERTEX_ANTHROPIC_BASE_URL",
                 "VERTEX_ANTHROPIC_MODEL", key_required=False, listed_only_if_base_url_set=True,
                 capabilities=Capabilities(rejected_params=frozenset({"n", "seed"})),
                 option_variables=(("project", "ANTHROPIC_VERTEX_PROJECT_ID"),
                                   ("location", "CLOUD_ML_REGION"))),
    # Hosted OpenAI-compatible APIs: data, not code. rejected_params are the request fields each
    # documents (or is known) to refuse with a 400, so they get the parameter policy instead;
    # OpenAI-only extras they also refuse are noted on the row (they pass through as extras).
    *HOSTED,
)



def _table(rows: tuple[ProviderSpec, ...]) -> Mapping[str, ProviderSpec]:
    table: dict[str, ProviderSpec] = {}
    for spec in rows:
        if spec.name in table:
            raise ValueError(f"Provider '{spec.name}' is registered twice.")
        table[spec.name] = spec
    return MappingProxyType(table)


PROVIDERS: Mapping[str, ProviderSpec] = _table(_ROWS)


def keyed_providers() -> tuple[str, ...]:
    """Rows whose environment deployment needs a key, in registry order."""
    return tuple(s.name for s in PROVIDERS.values() if s.key_required and s.from_environment)


def spec_of(deployment: Deployment) -> ProviderSpec:
    """The registry row a deployment was made from (by ``spec_name``, else ``provider``)."""
    return PROVIDERS[deployment.spec_name or deployment.provider]
