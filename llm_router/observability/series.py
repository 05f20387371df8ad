"""Metric values kept in plain dicts on the request path and handed to prometheus_client only
when ``/metrics`` is scraped.

prometheus_client takes a lock and walks its buckets on each update, about a dozen times per
request; here an update is a dict look-up and a float addition (everything runs on the event
loop: no lock). At scrape time :class:`SeriesCollector` gives the registry the families
prometheus_client's own Counter, Gauge and Histogram would have: the same names, help, labels,
buckets, ``_created`` series and series order. Multiprocess mode (values in files shared by
the workers) keeps prometheus_client's own metrics: :class:`PrometheusSeries`."""

from __future__ import annotations

import math
import os
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

Labels = tuple[str, ...]


class Series(Protocol):
    """One metric's values per label values."""

    def inc(self, labels: Labels, amount: float = 1.0) -> None: ...
    def dec(self, labels: Labels, amount: float = 1.0) -> None: ...
    def set(self, labels: Labels, value: float) -> None: ...
    def observe(self, labels: Labels, amount: float) -> None: ...


def created_series_on() -> bool:
    """Whether ``_created`` series are written (prometheus_client's switch, same default)."""
    value = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower()
    return value not in ("true", "1", "t")


class PlainSeries:
    """A counter, gauge or histogram in a dict: label values -> [value] (counter, gauge) or
    [count per bucket..., sum] (histogram). Only the event loop's thread may update it."""

    def __init__(self, kind: str, name: str, documentation: str, labelnames: Sequence[str],
                 buckets: Sequence[float] = ()) -> None:
        self.kind, self.documentation, self.labelnames = kind, documentation, tuple(labelnames)
        self.name = name[:-6] if kind == "counter" and name.endswith("_total") else name
        self.bounds = (*(float(b) for b in buckets), math.inf) if kind == "histogram" else ()
        self.le = tuple(floatToGoString(b) for b in self.bounds)  # type: ignore[no-untyped-call]
        self.rows: dict[Labels, list[float]] = {}
        self.created: dict[Labels, float] = {}

    def _row(self, labels: Labels) -> list[float]:
        row = self.rows.get(labels)
        if row is None:
            row = self.rows[labels] = [0.0] * (len(self.bounds) + 1 if self.bounds else 1)
            self.created[labels] = time.time()
        return row

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self._row(labels)[0] += amount

    def dec(self, labels: Labels, amount: float = 1.0) -> None:
        self._row(labels)[0] -= amount

    def set(self, labels: Labels, value: float) -> None:
        self._row(labels)[0] = float(value)

    def observe(self, labels: Labels, amount: float) -> None:
        row = self._row(labels)
        row[bisect_left(self.bounds, amount)] += 1  # the first bucket whose bound >= amount
        row[-1] += amount

    def metric(self, created: bool) -> Metric:
        """The family as prometheus_client's own metric would collect it."""
        metric = Metric(self.name, self.documentation, self.kind)
        for labels, row in list(self.rows.items()):
            values = dict(zip(self.labelnames, labels, strict=True))
            for suffix, extra, value in self._samples(row):
                metric.add_sample(self.name + suffix, values | extra if extra else values, value)
            if created and self.kind != "gauge":
                metric.add_sample(self.name + "_created", values, self.created[labels])
        return metric

    def _samples(self, row: list[float]) -> Iterator[tuple[str, dict[str, str], float]]:
        if self.kind == "counter":
            yield "_total", {}, row[0]
            return
        if self.kind == "gauge":
            yield "", {}, row[0]
            return
        total = 0.0
        for le, count in zip(self.le, row, strict=False):
            total += count
            yield "_bucket", {"le": le}, total
        yield "_count", {}, total
        if self.bounds[0] >= 0:
            yield "_sum", {}, row[-1]


class SeriesCollector:
    """Hands the registry every PlainSeries's family when it is scraped."""

    def __init__(self, series: Iterable[PlainSeries]) -> None:
        self.series = list(series)
        self.created = created_series_on()

    def describe(self) -> list[Metric]:
        return [Metric(s.name, s.documentation, s.kind) for s in self.series]

    def collect(self) -> list[Metric]:
        return [s.metric(self.created) for s in self.series]


class PrometheusSeries:
    """The same interface over one of prometheus_client's own metrics (children cached:
    ``labels()`` is costly)."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.children: dict[Labels, Any] = {}

    def _child(self, labels: Labels) -> Any:
        child = self.children.get(labels)
        if child is None:
            child = self.children[labels] = self.metric.labels(*labels)
        return child

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self._child(labels).inc(amount)

    def dec(self, labels: Labels, amount: float = 1.0) -> None:
        self._child(labels).dec(amount)

    def set(self, labels: Labels, value: float) -> None:
        self._child(labels).set(value)

    def observe(self, labels: Labels, amount: float) -> None:
        self._child(labels).observe(amount)
