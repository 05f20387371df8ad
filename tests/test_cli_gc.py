"""``llm-router serve`` raises the collector's youngest-generation threshold (issue 20)."""

from __future__ import annotations

import gc

from llm_router.cli import GC_YOUNG_THRESHOLD, tune_gc


def test_tune_gc_raises_only_the_youngest_threshold() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
        assert GC_YOUNG_THRESHOLD > 700
    finally:
        gc.set_threshold(*before)
