"""``duration`` (OpenAI's reset format) gives the same text from its cache as computed afresh,
across the cache's bound."""

from __future__ import annotations

from llm_router.policies import limits


def _fresh(seconds: float) -> str:
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, millis = divmod(round(seconds * 1000), 60_000)
    whole, frac = divmod(millis, 1000)
    text = f"{whole}.{frac:03d}".rstrip("0") + "s" if frac else f"{whole}s"
    return f"{minutes}m{text}" if minutes else text


def test_cached_texts_match_fresh_ones() -> None:
    values = [0.0, 0.2504, 0.9995, 1.0, 12.0, 59.9991, 60.0, 90.0, 61.25, 3599.9]
    values += [i * 0.0137 for i in range(10_000)]  # more than the cache holds: it is cleared
    for _ in range(2):  # the second pass reads what the first cached
        for seconds in values:
            assert limits.duration(seconds) == _fresh(seconds)
    assert len(limits._DURATIONS) <= 4096
    assert limits.duration(1.5) == "1.5s" and limits.duration(90) == "1m30s" and limits.duration(0.25) == "250ms"
