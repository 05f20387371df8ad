"""Benchmark of llm-router against LiteLLM, Portkey and a minimal Python floor proxy.

Run ``bench/run.sh`` (or ``python -m bench`` after ``bench/setup.sh``); see bench/RESULTS.md.
The orchestration here uses only the standard library; the load comes from wrk and
bench/loadgen.js (Node), never from Python.
"""
