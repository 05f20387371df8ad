# syntax=docker/dockerfile:1
# Two targets: `service` (the default, the last stage) and `local`, which adds the embedded
# model so that the container answers with no provider key at all:
#   docker build -t llm-router .                  # or: --target local
# The base image is pinned to a patch release; pin its digest too for reproducible builds:
#   --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies and the build backend, every one pinned with hashes.
COPY requirements.lock docker/build-requirements.txt ./
RUN pip install --require-hashes --no-deps -r requirements.lock -r build-requirements.txt

COPY pyproject.toml README.md ./
COPY llm_router ./llm_router
# Installed, then the sources removed: the service runs the installed distribution.
RUN pip install --no-deps --no-build-isolation . \
    && rm -rf /app/* \
    && useradd --create-home --uid 10001 router

# LLM_ROUTER_BIND: the host address compose publishes the port on. Beyond loopback (and when
# it is not said: `docker run -p`), the container refuses to start without LLM_ROUTER_API_KEY.
ENV LLM_ROUTER_BIND=0.0.0.0
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["python", "-m", "llm_router.container", "--host", "0.0.0.0", "--port", "8000"]

FROM base AS local
# xllamacpp's wheel needs the OpenMP runtime, which slim images lack.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
COPY docker/local-requirements.txt ./
RUN pip install --require-hashes --no-deps -r local-requirements.txt && rm local-requirements.txt
ENV LOCAL_MODEL_PRELOAD=true
USER router

FROM base AS service
USER router
