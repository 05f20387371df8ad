"""ChatModelFactory: names to ChatModel instances, through the provider registry.

Each deployment's ChatModel is built once (at start-up for every usable configured
deployment, else on first use) and reused by every request: ``for_deployment`` caches it
under the deployment's name. Ad-hoc ``provider/model`` names are cached too, up to a bound."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from llm_router.config.deployment import Deployment, Price
from llm_router.errors import ProviderUnavailable, UnknownModel
from llm_router.providers.base import ChatModel
from llm_router.providers.http import UpstreamClient
from llm_router.providers.local.chat_model import LocalChatModel
from llm_router.providers.local.model_file import local_problem
from llm_router.providers.option import option
from llm_router.providers.registry import spec_of

MAX_AD_HOC_MODELS = 1024  # cached models for names that are not configured deployments


class ChatModelFactory:
    """Creates the ChatModel for a name: ``openai``, ``anthropic``, ``cohere`` (the
    provider's default model), ``provider/model``, or a configured deployment name."""

    def __init__(self, deployments: dict[str, Deployment], http: UpstreamClient) -> None:
        self.deployments = deployments
        self.http = http
        self._models: dict[str, ChatModel] = {}  # by the name a client asked for
        self._built: dict[str, ChatModel] = {}  # by deployment name
        # Per-provider resources that outlive one ChatModel (the local model's engine).
        self.shared: dict[str, Any] = {}

    def names(self) -> list[str]:
        """The names a client may use (configured or not)."""
        return sorted(self.deployments)

    def available(self) -> list[str]:
        """The names whose provider is configured (key set, or not needed). Local servers
        (``ollama``...) are listed only when their base URL was set explicitly."""
        return sorted(n for n, d in self.deployments.items() if self.usable(d) and d.options.listed)

    def resolve(self, name: str) -> Deployment:
        """The deployment a name stands for; raises UnknownModel or ProviderUnavailable."""
        deployment = self.deployments.get(name)
        if deployment is None:
            head, sep, model = name.partition("/")
            base = self.deployments.get(head.lower()) if sep and model else None
            if base is None:
                base = self.deployments.get(name.lower())
                if base is None:
                    base = self._bare_anthropic(name)
                if base is None:
                    raise UnknownModel(name, self.names())
                deployment = base
            else:
                deployment = replace(base, model=model, name=f"{base.name}/{model}")
        problem = unavailable_reason(deployment)
        if problem is not None:
            raise ProviderUnavailable(problem)
        return deployment

    def _bare_anthropic(self, name: str) -> Deployment | None:
        """A bare Anthropic model id (``claude-sonnet-4-5``, as Claude Code sends) is that
        model on the ``anthropic`` provider."""
        base = self.deployments.get("anthropic")
        if base is None or not name.startswith("claude-") or base.provider != "anthropic":
            return None
        return replace(base, model=name, name=f"anthropic/{name}")

    def create(self, name: str) -> ChatModel:
        """The ChatModel for ``name`` (cached per name)."""
        model = self._models.get(name)
        if model is None:
            model = self.for_deployment(self.resolve(name))
            if len(self._models) < MAX_AD_HOC_MODELS:
                self._models[name] = model
        return model

    def price_of(self, name: str) -> Price | None:
        """The price configured on deployment ``name``, if any."""
        deployment = self.deployments.get(name)
        return deployment.price if deployment is not None else None

    def for_deployment(self, deployment: Deployment) -> ChatModel:
        """The ChatModel for an already-resolved deployment, built on first use and kept:
        configured deployments always, ad-hoc ones (``openai/gpt-x``) up to a bound."""
        model = self._built.get(deployment.name)
        if model is not None and (model.deployment is deployment or model.deployment == deployment):
            return model
        model = self.build(deployment)
        configured = self.deployments.get(deployment.name) == deployment
        if configured or len(self._built) < len(self.deployments) + MAX_AD_HOC_MODELS:
            self._built[deployment.name] = model
        return model

    def build(self, deployment: Deployment) -> ChatModel:
        """A new ChatModel for ``deployment`` (its class from the provider registry)."""
        return spec_of(deployment).model_class(deployment, self.http, self.shared)

    async def start(self) -> None:
        """Build the model of every usable deployment, and load local models marked for
        preloading (LOCAL_MODEL_PRELOAD), before serving."""
        for deployment in self.deployments.values():
            if not self.usable(deployment):
                continue
            model = self.for_deployment(deployment)
            preload = deployment.local is not None and deployment.local.preload
            if preload and isinstance(model, LocalChatModel):
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
    spec = spec_of(deployment)
    if spec.in_process:
        return local_problem(deployment)
    if spec.key_required and deployment.api_key is None:
        if any(option(deployment, name) for name in spec.credential_options):
            return None  # credentials of another kind (Azure's Entra ID)
        others = [v for name, v in spec.option_variables if name in spec.credential_options]
        needed = " or ".join([str(spec.key_variable), *others])
        return f"Provider '{deployment.provider}' is not configured: set {needed}."
    return None
