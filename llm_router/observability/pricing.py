"""Cost in USD from a dated price table shipped with the package, plus config overrides.

A model missing from every table has no cost (None), never a silent 0."""

from __future__ import annotations

import json
from importlib import resources

from llm_router.config.deployment import Price
from llm_router.messages import Usage

MAX_MATCHED = 4096


class PriceTable:
    """Prices per model name (USD per million tokens)."""

    def __init__(self, overrides: dict[str, Price] | None = None) -> None:
        data = json.loads(resources.files("llm_router.data").joinpath("prices.json").read_text())
        self.checked = str(data["checked"])
        self.prices: dict[str, Price] = {
            model: Price(p["input"], p["output"], p.get("cached_input"))
            for model, p in data["models"].items()
        }
        self.prices.update(overrides or {})
        self._matched: dict[str, Price | None] = {}  # model name -> its table entry (prefix search)

    def lookup(self, model: str | None, explicit: Price | None = None) -> Price | None:
        """The price for ``model``: an explicit deployment price wins, then the table
        (exact name, then the longest known prefix, so dated snapshots match)."""
        if explicit is not None:
            return explicit
        if not model:
            return None
        price = self.prices.get(model)
        if price is not None:
            return price
        if model in self._matched:
            return self._matched[model]
        prefixes = [m for m in self.prices if model.startswith(m + "-")]
        price = self.prices[max(prefixes, key=len)] if prefixes else None
        if len(self._matched) < MAX_MATCHED:  # bounded: model names come from upstream answers
            self._matched[model] = price
        return price

    @staticmethod
    def cost(price: Price | None, usage: Usage) -> float | None:
        """USD for ``usage`` at ``price``; cached input tokens at the cached rate."""
        if price is None:
            return None
        cached = usage.cached_input_tokens
        cached_rate = price.cached_input if price.cached_input is not None else price.input
        fresh = max(0, usage.input_tokens - cached)
        total = fresh * price.input + cached * cached_rate + usage.output_tokens * price.output
        return round(total / 1_000_000, 10)
