"""The deploy files, checked without a cluster or Docker: the Helm chart rendered (by
``tests/scaleout/gotemplate.py``, as no ``helm`` can be installed from the package
registries; a real ``helm lint``/``helm template`` runs too when one is on PATH) for a few
value sets and every manifest validated against the Kubernetes schemas
(``kubernetes-validate``, strict: unknown fields fail); values against ``values.schema.json``;
the replicas compose file and its nginx config parsed and checked for what scale-out needs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.scaleout.gotemplate import Renderer

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "llm-router"
COMPOSE = ROOT / "deploy" / "docker-compose.replicas.yml"
NGINX = ROOT / "deploy" / "nginx" / "nginx.conf"
K8S_VERSION = "1.30"

VARIANTS = {
    "defaults": {},
    "everything": {
        "routerConfig": {"routes": {"smart": {"deployments": ["openai-4o"]}}},
        "redis": {"existingSecret": "router-state", "urlKey": "redis-url"},
        "database": {"existingSecret": "router-state", "urlKey": "database-url"},
        "secretEnv": [{"name": "OPENAI_API_KEY", "secretName": "providers", "key": "openai"},
                      {"name": "LLM_ROUTER_ADMIN_KEY", "secretName": "admin", "key": "admin-key"}],
        "journal": {"enabled": True, "sync": "normal", "persistentVolumeClaim": "router-journal"},
        "autoscaling": {"enabled": True, "inFlightPerPod": "20"},
        "podAnnotations": {"prometheus.io/scrape": "true"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
    },
    "fixed-replicas": {
        "autoscaling": {"enabled": False}, "replicaCount": 3, "podDisruptionBudget": {"enabled": False},
        "redis": {"url": "redis://redis:6379/0"}, "database": {"url": "postgresql://router@postgres/router"},
        "journal": {"enabled": False},
    },
}


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _values(variant: str) -> dict:
    return _merge(yaml.safe_load((CHART / "values.yaml").read_text()), VARIANTS[variant])


def render(values: dict) -> list[dict]:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    root = {"Values": values, "Release": {"Name": "router", "Namespace": "default", "Service": "Helm"},
            "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]}}
    renderer = Renderer(root)
    for helper in sorted((CHART / "templates").glob("_*.tpl")):
        renderer.load_helpers(helper.read_text())
    documents = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        text = renderer.render(template.read_text())
        documents += [d for d in yaml.safe_load_all(text) if d]
    return documents


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_values_match_the_schema(variant):
    jsonschema.validate(_values(variant), json.loads((CHART / "values.schema.json").read_text()))


def test_the_schema_refuses_bad_values():
    schema = json.loads((CHART / "values.schema.json").read_text())
    for bad in ({"replicaCount": 0}, {"redis": {"url": "redis://user:secret@redis:6379"}},
                {"secretEnv": [{"name": "lower-case", "secretName": "s", "key": "k"}]},
                {"service": {"port": 70000}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(_merge(_values("defaults"), bad), schema)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chart_renders_valid_kubernetes_manifests(variant):
    documents = render(_values(variant))
    for document in documents:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    kinds = sorted(d["kind"] for d in documents)
    expected = {"ConfigMap", "Deployment", "Service"}
    if variant != "fixed-replicas":
        expected |= {"HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert set(kinds) == expected and len(kinds) == len(expected)


def _container(documents: list[dict]) -> dict:
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_deployment_probes_drain_and_secret_references():
    documents = render(_values("everything"))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(documents)
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    env = {e["name"]: e for e in container["env"]}
    assert env["LLM_ROUTER_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "router-state", "key": "redis-url"}
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "providers"
    assert env["LLM_ROUTER_REPLICAS"]["value"] == "10"  # maxReplicas: the fallback never exceeds a limit
    assert env["LLM_ROUTER_JOURNAL_PATH"]["value"].startswith("/var/lib/llm-router/")
    assert env["LLM_ROUTER_CONFIG"]["value"] == "/etc/llm-router/config.yaml"
    grace = int(env["LLM_ROUTER_SHUTDOWN_GRACE"]["value"])
    assert pod["terminationGracePeriodSeconds"] > grace  # the kubelet waits longer than our drain
    assert "replicas" not in deployment["spec"]  # the HPA owns it
    hpa = next(d for d in documents if d["kind"] == "HorizontalPodAutoscaler")
    assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Resource", "Pods"]
    assert not any("value" in e and "secret" in e["name"].lower() for e in container["env"])
    config = next(d for d in documents if d["kind"] == "ConfigMap")
    assert yaml.safe_load(config["data"]["config.yaml"]) == VARIANTS["everything"]["routerConfig"]


def test_fixed_replicas_and_inline_urls():
    documents = render(_values("fixed-replicas"))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 3
    env = {e["name"]: e.get("value") for e in _container(documents)["env"]}
    assert env["LLM_ROUTER_REPLICAS"] == "3" and env["LLM_ROUTER_REDIS_URL"] == "redis://redis:6379/0"
    assert env["LLM_ROUTER_DATABASE_URL"] == "postgresql://router@postgres/router"
    defaults = {e["name"]: e.get("value") for e in _container(render(_values("defaults")))["env"]}
    assert defaults["LLM_ROUTER_DATABASE_URL"].startswith("sqlite:////var/lib/llm-router/")  # a writable volume
    assert "LLM_ROUTER_JOURNAL_PATH" not in env and "LLM_ROUTER_CONFIG" not in env


@pytest.mark.skipif(shutil.which("helm") is None, reason="no helm binary (the package registries have none)")
def test_helm_lint_and_template():  # pragma: no cover - only where helm is installed
    subprocess.run(["helm", "lint", str(CHART)], check=True)
    subprocess.run(["helm", "template", "router", str(CHART)], check=True, capture_output=True)


def test_compose_replicas_file():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"postgres", "redis", "router-1", "router-2", "nginx"} <= set(services)
    for name in ("router-1", "router-2"):
        router = services[name]
        env = router["environment"]
        assert env["LLM_ROUTER_REDIS_URL"].startswith("redis://redis:")
        assert env["LLM_ROUTER_DATABASE_URL"].startswith("postgresql://")
        assert env["LLM_ROUTER_REPLICAS"] == "2"
        assert env["LLM_ROUTER_JOURNAL_PATH"].startswith("/var/lib/llm-router/")
        assert {"postgres", "redis"} <= set(router["depends_on"])
        assert router["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/ready" in " ".join(router["healthcheck"]["test"])
        assert router.get("stop_grace_period")
    nginx = services["nginx"]
    assert nginx["image"].startswith("nginx:")
    assert any(str(v).endswith("/etc/nginx/nginx.conf:ro") for v in nginx["volumes"])
    for image in (services["postgres"]["image"], services["redis"]["image"]):
        assert ":" in image and not image.endswith(":latest")


def test_nginx_config_balances_and_streams():
    text = NGINX.read_text()
    assert text.count("{") == text.count("}")
    assert "server router-1:8000" in text and "server router-2:8000" in text
    for directive in ("proxy_buffering off", "proxy_http_version 1.1", "proxy_read_timeout",
                      "proxy_next_upstream error timeout"):
        assert directive in text, directive
    assert "non_idempotent" not in text  # a POST that reached a replica is never sent twice
