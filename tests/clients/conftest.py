"""The ``clients`` marker: real third-party clients, each from its own venv (see venvs.py)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clients: real third-party clients in their own venvs "
                                       "(first run builds ~/.cache/llm-router-clients)")
