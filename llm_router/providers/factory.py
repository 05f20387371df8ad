"""ChatModelFactory: names to ChatModel instances, through an explicit registry."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from llm_router.config.deployment import Deployment, Price
from llm_router.errors import ProviderUnavailable, UnknownModel
from llm_router.providers.anthropic.chat_model import AnthropicChatModel
from llm_router.providers.base import ChatModel
from llm_router.providers.cohere.chat_model import CohereChatModel
from llm_router.providers.http import UpstreamClient
from llm_router.providers.local.chat_model import LocalChatModel
from llm_router.providers.local.model_file import local_problem
from llm_router.providers.openai.chat_model import OpenAIChatModel, OpenAICompatibleChatModel

PROVIDER_CLASSES: dict[str, type[ChatModel]] = {
    "openai": OpenAIChatModel,
    "anthropic": AnthropicChatModel,
    "cohere": CohereChatModel,
    "openai-compatible": OpenAICompatibleChatModel,
    "local": LocalChatModel,
}
KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "cohere": "COHERE_API_KEY",
}


class ChatModelFactory:
    """Creates the ChatModel for a name: ``openai``, ``anthropic``, ``cohere`` (the
    provider's default model), ``provider/model``, or a configured deployment name."""

    def __init__(self, deployments: dict[str, Deployment], http: UpstreamClient) -> None:
        self.deployments = deployments
        self.http = http
        self._models: dict[str, ChatModel] = {}
        # Per-provider resources that outlive one ChatModel (the local model's engine).
        self.shared: dict[str, Any] = {}

    def names(self) -> list[str]:
        """The names a client may use (configured or not)."""
        return sorted(self.deployments)

    def available(self) -> list[str]:
        """The names whose provider is configured (key set, or not needed). Local servers
        (``ollama``...) are listed only when their base URL was set explicitly."""
        return sorted(n for n, d in self.deployments.items()
                      if self.usable(d) and d.options.get("listed", True))

    def resolve(self, name: str) -> Deployment:
        """The deployment a name stands for; raises UnknownModel or ProviderUnavailable."""
        deployment = self.deployments.get(name)
        if deployment is None:
            head, sep, model = name.partition("/")
            base = self.deployments.get(head.lower()) if sep and model else None
            if base is None:
                base = self.deployments.get(name.lower())
                if base is None:
                    raise UnknownModel(name, self.names())
                deployment = base
            else:
                deployment = replace(base, model=model, name=f"{base.name}/{model}")
        problem = unavailable_reason(deployment)
        if problem is not None:
            raise ProviderUnavailable(problem)
        return deployment

    def create(self, name: str) -> ChatModel:
        """The ChatModel for ``name`` (cached per name)."""
        model = self._models.get(name)
        if model is None:
            model = self.for_deployment(self.resolve(name))
            if len(self._models) < 1024:
                self._models[name] = model
        return model

    def price_of(self, name: str) -> Price | None:
        """The price configured on deployment ``name``, if any."""
        deployment = self.deployments.get(name)
        return deployment.price if deployment is not None else None

    def for_deployment(self, deployment: Deployment) -> ChatModel:
        """A ChatModel for an already-resolved deployment."""
        return PROVIDER_CLASSES[deployment.provider](deployment, self.http, self.shared)

    async def start(self) -> None:
        """Load local models marked for preloading (LOCAL_MODEL_PRELOAD) before serving."""
        for deployment in self.deployments.values():
            if deployment.options.get("preload") and self.usable(deployment):
                model = self.for_deployment(deployment)
                if isinstance(model, LocalChatModel):
                    await model.preload()

    def close(self) -> None:
        """Release the shared resources (stops the local engines' worker threads)."""
        for resource in self.shared.values():
            resource.close()
        self.shared.clear()

    @staticmethod
    def usable(deployment: Deployment) -> bool:
        """True if the deployment can be used: it has a key, or needs none (the local
        model needs llama-cpp-python and its model file instead)."""
        return unavailable_reason(deployment) is None


def unavailable_reason(deployment: Deployment) -> str | None:
    """Why a deployment cannot be used (naming what to set or install), or None."""
    if deployment.provider == "local":
        return local_problem(deployment)
    variable = KEY_VARIABLES.get(deployment.provider)
    if variable is not None and deployment.api_key is None:
        return f"Provider '{deployment.provider}' is not configured: set {variable}."
    return None
