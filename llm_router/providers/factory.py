"""ChatModelFactory: names to ChatModel instances, through an explicit registry."""

from __future__ import annotations

from dataclasses import replace

from llm_router.config.deployment import Deployment
from llm_router.errors import ProviderUnavailable, UnknownModel
from llm_router.providers.anthropic.chat_model import AnthropicChatModel
from llm_router.providers.base import ChatModel
from llm_router.providers.cohere.chat_model import CohereChatModel
from llm_router.providers.http import UpstreamClient
from llm_router.providers.openai.chat_model import OpenAIChatModel, OpenAICompatibleChatModel

PROVIDER_CLASSES: dict[str, type[ChatModel]] = {
    "openai": OpenAIChatModel,
    "anthropic": AnthropicChatModel,
    "cohere": CohereChatModel,
    "openai-compatible": OpenAICompatibleChatModel,
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

    def names(self) -> list[str]:
        """The names a client may use (configured or not)."""
        return sorted(self.deployments)

    def available(self) -> list[str]:
        """The names whose provider is configured (key set, or not needed)."""
        return sorted(n for n, d in self.deployments.items() if self.usable(d))

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
        if not self.usable(deployment):
            variable = KEY_VARIABLES.get(deployment.provider, "the provider's API key")
            raise ProviderUnavailable(
                f"Provider '{deployment.provider}' is not configured: set {variable}."
            )
        return deployment

    def create(self, name: str) -> ChatModel:
        """The ChatModel for ``name`` (cached per name)."""
        model = self._models.get(name)
        if model is None:
            model = self.for_deployment(self.resolve(name))
            if len(self._models) < 1024:
                self._models[name] = model
        return model

    def for_deployment(self, deployment: Deployment) -> ChatModel:
        """A ChatModel for an already-resolved deployment."""
        return PROVIDER_CLASSES[deployment.provider](deployment, self.http)

    @staticmethod
    def usable(deployment: Deployment) -> bool:
        """True if the deployment has a key, or needs none."""
        return deployment.api_key is not None or deployment.provider not in KEY_VARIABLES
