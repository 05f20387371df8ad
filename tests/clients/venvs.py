"""One virtual environment per third-party client, outside the tracked tree.

Their pins conflict (instructor wants ``jiter<0.15`` and an older openai, LlamaIndex's
OpenAI package wants ``openai<3``), so each client gets its own venv under
``~/.cache/llm-router-clients/<name>`` (``LLM_ROUTER_CLIENTS_CACHE`` overrides), built from
``tests/clients/requirements-<name>.txt`` (exact pins with hashes) on first use and reused
while that file is unchanged (a stamp holds the file's digest). ``uv`` builds it when it
is installed (seconds), else ``python -m venv`` + ``pip --require-hashes``.

Run it directly to build every venv ahead of the tests: ``python -m tests.clients.venvs``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLIENTS = ("langchain", "litellm", "pydantic_ai", "instructor", "agents", "llamaindex")


def cache_root() -> Path:
    """Where the venvs live."""
    default = Path.home() / ".cache" / "llm-router-clients"
    return Path(os.environ.get("LLM_ROUTER_CLIENTS_CACHE", default))


def requirements(name: str) -> Path:
    """The pinned requirements file of one client."""
    return HERE / f"requirements-{name}.txt"


def python_of(name: str) -> Path:
    """The interpreter of the client's venv, building the venv first if needed."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / name
    digest = hashlib.sha256(requirements(name).read_bytes()).hexdigest()
    stamp = venv / ".llm-router-stamp"
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes never build the same venv
        if not (stamp.exists() and stamp.read_text() == digest):
            _build(venv, requirements(name))
            stamp.write_text(digest)
    return venv / "bin" / "python"


def _build(venv: Path, reqs: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv")
    python = venv / "bin" / "python"
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
        _run([uv, "pip", "install", "--quiet", "--require-hashes", "--python", str(python),
              "-r", str(reqs)])
        return
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "--require-hashes", "-r", str(reqs)])


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


if __name__ == "__main__":
    for client in sys.argv[1:] or CLIENTS:
        print(client, python_of(client), flush=True)
