"""Coding agents from the npm registry (Claude Code, Codex), installed on first use into a
cache outside the repository (``LLM_ROUTER_NPM_TOOLS``, else ``~/.cache/llm-router/npm``) and
reused afterwards, so CI pays for the download once per machine. A test using one is skipped
only when npm itself, or the registry, cannot be reached."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "network")


def npm_binary(package: str, version: str, binary: str) -> Path:
    """``node_modules/.bin/<binary>`` of ``package@version``, installing it if needed."""
    root = Path(os.environ.get("LLM_ROUTER_NPM_TOOLS", Path.home() / ".cache" / "llm-router" / "npm"))
    folder = root / f"{package.replace('/', '__')}@{version}"
    path = folder / "node_modules" / ".bin" / binary
    if path.exists():
        return path
    if shutil.which("npm") is None:
        pytest.skip(f"npm is not installed: cannot install {package}")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                           f"{package}@{version}"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and any(word in done.stderr for word in OFFLINE):
        pytest.skip(f"the npm registry is unreachable: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr
    assert path.exists(), f"npm installed no {binary} binary in {folder}"
    return path
