FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY llm_router ./llm_router
RUN pip install --no-deps . && useradd --create-home --uid 10001 router

USER router
EXPOSE 8000
CMD ["llm-router", "serve", "--host", "0.0.0.0", "--port", "8000"]
