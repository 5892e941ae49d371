"""The deployment in deploy/ (issue 8): container image, Compose file and Kubernetes manifests.

Offline and fast: the kustomizations are rendered by tests/deploy/kustomize.py (and, when a kubectl
with kustomize v4+ is installed, by kubectl too, which must agree); every Kubernetes object is
validated against the official schemas of Kubernetes 1.30 and of the newest release that
kubernetes-validate ships, and CloudNativePG's objects against the minimal schemas in
tests/deploy/schemas/.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from server.cli import app as cli_app
from server.settings import PROJECT_ROOT
from tests.deploy import kustomize
from tests.deploy.kustomize import Obj, containers, pod_specs

DEPLOY = PROJECT_ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAY = K8S / "overlays" / "production"
SCHEMAS = Path(__file__).parent / "schemas"
# The oldest Kubernetes we support, and the newest whose schemas kubernetes-validate ships.
K8S_VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]
CRD_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.json",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "cnpg-scheduledbackup.json",
}
PHASES = {"setup", "migrate", "run"}
# Made by the CloudNativePG operator from the Cluster moot-db, not by our manifests.
EXTERNAL_SECRETS = {"moot-db-app"}

# Environment variables Moot reads that the deployment deliberately leaves to their defaults.
DELIBERATE_DEFAULTS = {
    "HOST": "the entrypoint passes --host 0.0.0.0",
    "PORT": "the entrypoint passes --port 8000 (EXPOSE, probes and Service agree)",
    "MOOT_VAR_DIR": "unused once SECRET_KEY, IDENTITY_PEPPER and DATABASE_URL are set; its "
    "default is read-only in the image, so a pod missing the keys fails instead of "
    "generating keys of its own",
    "PG_BINDIR": "only for the private development cluster; DATABASE_URL is always set",
    "MAX_BODY_KB": "the default (256 KB) suits forms and the API",
    "MAX_UPLOAD_MB": "the default (20 MB) matches the ingress's proxy-body-size",
    "GRAPHQL_MAX_DEPTH": "public API limit: the documented default",
    "GRAPHQL_MAX_ALIASES": "public API limit: the documented default",
    "GRAPHQL_MAX_COST": "public API limit: the documented default",
    "GRAPHQL_MAX_TOKENS": "public API limit: the documented default",
    "GRAPHQL_MAX_BODY_KB": "public API limit: the documented default",
    "GRAPHQL_TIMEOUT_MS": "public API limit: the documented default",
    "GRAPHQL_RATE_PER_MINUTE": "the default; counted in PostgreSQL, so it holds across replicas",
    "GRAPHQL_ALLOWLIST_ONLY": "off by default: third parties may write their own queries",
}
# Variables set by the deployment for something other than Moot's own settings.
OTHER_CONSUMERS = {
    "WEB_CONCURRENCY": "deploy/entrypoint.sh: --workers",
    "FORWARDED_ALLOW_IPS": "uvicorn: whose X-Forwarded-For to trust",
    "POSTGRES_PASSWORD": "the postgres image (Compose)",
    "EXPORT_DIR": "deploy/worker.sh (Compose)",
    "READ_DB_USER": "Kubernetes, into DATABASE_READ_URL ($(READ_DB_USER))",
    "READ_DB_PASSWORD": "Kubernetes, into DATABASE_READ_URL ($(READ_DB_PASSWORD))",
}


# --- rendering -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def k8s_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s with each overlay's gitignored env files made from their examples."""
    tree = tmp_path_factory.mktemp("deploy") / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("*.env"))
    for example in tree.glob("overlays/*/*.env.example"):
        example.with_name(example.name.removesuffix(".example")).write_text(example.read_text())
    return tree


@pytest.fixture(scope="module")
def base(k8s_tree: Path) -> list[Obj]:
    return kustomize.build(k8s_tree / "base")


@pytest.fixture(scope="module")
def production(k8s_tree: Path) -> list[Obj]:
    return kustomize.build(k8s_tree / "overlays" / "production")


def _key(obj: Obj) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def _by_key(objects: list[Obj]) -> dict[tuple[str, str, str, str], Obj]:
    keyed = {_key(obj): obj for obj in objects}
    assert len(keyed) == len(objects), "two objects share apiVersion, kind, namespace and name"
    return keyed


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def workloads(objects: list[Obj]) -> Iterator[Obj]:
    return (o for o in objects if pod_specs(o))


@pytest.mark.parametrize("which", ["base", "overlays/production"])
def test_kubectl_kustomize_renders_the_same_objects(k8s_tree: Path, which: str) -> None:
    kubectl = kustomize.kubectl_with_kustomize()
    if kubectl is None:
        pytest.skip("no kubectl with kustomize v4+ on PATH (or $KUBECTL): Python loader only")
    ours = _by_key(kustomize.build(k8s_tree / which))
    theirs = _by_key(kustomize.kubectl_build(kubectl, k8s_tree / which))
    assert sorted(ours) == sorted(theirs)
    for key, obj in ours.items():
        assert obj == theirs[key], f"{key} differs from kubectl kustomize"


def test_the_loader_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(kustomize.Unsupported, match="commonLabels"):
        kustomize.build(tmp_path)


def test_base_and_overlay_render_the_expected_objects(
    base: list[Obj], production: list[Obj]
) -> None:
    kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in production)
    assert kinds == [
        "Cluster/moot-db",
        "ConfigMap/moot-config",
        "CronJob/moot-close-due",
        "CronJob/moot-digest",
        "CronJob/moot-export",
        "Deployment/moot-web",
        "HorizontalPodAutoscaler/moot-web",
        "Ingress/moot-web",
        "Job/moot-migrate",
        "Namespace/moot",
        "NetworkPolicy/moot-web",
        "PersistentVolumeClaim/moot-export",
        "PodDisruptionBudget/moot-web",
        "ScheduledBackup/moot-db-nightly",
        "Secret/moot-backup-s3",
        "Secret/moot-secrets",
        "Service/moot-web",
        "ServiceAccount/moot",
    ]
    assert {_key(o) for o in base} < {_key(o) for o in production}
    for obj in production:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "moot", _key(obj)


# --- schemas ---------------------------------------------------------------------------------


def _validate(obj: Obj) -> None:
    crd = CRD_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    if crd:
        schema = json.loads((SCHEMAS / crd).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(obj)
        return
    for version in K8S_VERSIONS:
        # strict: the schemas forbid unknown fields, so a misspelt field fails too.
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("which", ["base", "production"])
def test_every_object_validates_against_its_schema(
    which: str, base: list[Obj], production: list[Obj]
) -> None:
    for obj in base if which == "base" else production:
        try:
            _validate(obj)
        except kubernetes_validate.utils.SchemaNotFoundError as exc:
            pytest.fail(f"{_key(obj)}: no schema ({exc.message}); add one to CRD_SCHEMAS")
        except jsonschema.ValidationError as exc:
            path = ".".join(map(str, exc.absolute_path))
            pytest.fail(f"{_key(obj)} at {path}: {exc.message}")


def test_the_schema_check_catches_a_misspelt_field(production: list[Obj]) -> None:
    deployment = json.loads(json.dumps(one(production, "Deployment", "moot-web")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(jsonschema.ValidationError):
        _validate(deployment)
    cluster = json.loads(json.dumps(one(production, "Cluster", "moot-db")))
    cluster["spec"]["backup"]["barmanObjectStore"]["destinationpath"] = "s3://x"
    with pytest.raises(jsonschema.ValidationError):
        _validate(cluster)


# --- the web Deployment and its companions -----------------------------------------------------


def test_web_pods_are_probed_on_healthz_and_locked_down(production: list[Obj]) -> None:
    deployment = one(production, "Deployment", "moot-web")
    (container,) = containers(deployment)
    assert container.get("args") is None, "no args: the image's entrypoint serves the app"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
        # /healthz waits up to 5 s (Settings.db_timeout) before answering 503.
        assert container[probe]["timeoutSeconds"] > 5, probe
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert (
        liveness["periodSeconds"] * liveness["failureThreshold"]
        > readiness["periodSeconds"] * readiness["failureThreshold"]
    ), "liveness must be slower to give up than readiness (a database blip is not a hang)"
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"]


@pytest.mark.parametrize("which", ["base", "production"])
def test_every_pod_runs_unprivileged_on_a_read_only_root(
    which: str, base: list[Obj], production: list[Obj]
) -> None:
    objects = base if which == "base" else production
    for obj in workloads(objects):
        for pod in pod_specs(obj):
            assert pod["securityContext"]["runAsNonRoot"] is True, _key(obj)
            assert pod["securityContext"]["runAsUser"] != 0, _key(obj)
            assert pod["automountServiceAccountToken"] is False, _key(obj)
            tmp = [v for v in pod["volumes"] if v["name"] == "tmp"]
            assert tmp and "emptyDir" in tmp[0], _key(obj)
        for container in containers(obj):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, _key(obj)
            assert context["allowPrivilegeEscalation"] is False, _key(obj)
            assert context["capabilities"]["drop"] == ["ALL"], _key(obj)
            mount = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - a mount, not a file
            assert mount in container["volumeMounts"], _key(obj)


def test_every_pod_gets_the_same_configuration(production: list[Obj]) -> None:
    expected_from = [
        {"configMapRef": {"name": "moot-config"}},
        {"secretRef": {"name": "moot-secrets"}},
    ]
    expected_url = {
        "name": "DATABASE_URL",
        "valueFrom": {"secretKeyRef": {"name": "moot-db-app", "key": "uri"}},
    }
    # The web pods also read the API's queries from the standbys (server/api/replica.py).
    read_url = [
        {
            "name": "READ_DB_USER",
            "valueFrom": {"secretKeyRef": {"name": "moot-db-app", "key": "username"}},
        },
        {
            "name": "READ_DB_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "moot-db-app", "key": "password"}},
        },
        {
            "name": "DATABASE_READ_URL",
            "value": "postgresql://$(READ_DB_USER):$(READ_DB_PASSWORD)@moot-db-ro:5432/moot",
        },
    ]
    web = one(production, "Deployment", "moot-web")
    image = containers(web)[0]["image"]
    for obj in workloads(production):
        for container in containers(obj):
            assert container["envFrom"] == expected_from, _key(obj)
            wanted = [expected_url, *read_url] if obj is web else [expected_url]
            assert container["env"] == wanted, _key(obj)
            assert container["image"] == image, f"{_key(obj)} runs another image"


def test_references_resolve(production: list[Obj]) -> None:
    names = {(o["kind"], o["metadata"]["name"]) for o in production}
    secrets = {n for k, n in names if k == "Secret"} | EXTERNAL_SECRETS
    for obj in workloads(production):
        for pod in pod_specs(obj):
            assert ("ServiceAccount", pod["serviceAccountName"]) in names
            for volume in pod["volumes"]:
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]["claimName"]
                    assert ("PersistentVolumeClaim", claim) in names
        for container in containers(obj):
            for source in container["envFrom"]:
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in names
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
            for env in container["env"]:
                if "valueFrom" in env:
                    assert env["valueFrom"]["secretKeyRef"]["name"] in secrets
    cluster = one(production, "Cluster", "moot-db")
    for ref in cluster["spec"]["backup"]["barmanObjectStore"]["s3Credentials"].values():
        secret = one(production, "Secret", ref["name"])
        assert ref["key"] in secret["data"]
    assert {f"{cluster['metadata']['name']}-app"} == EXTERNAL_SECRETS
    backup = one(production, "ScheduledBackup", "moot-db-nightly")
    assert backup["spec"]["cluster"]["name"] == "moot-db"


def test_selectors_find_the_web_pods(production: list[Obj]) -> None:
    deployment = one(production, "Deployment", "moot-web")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return selector.items() <= pod_labels.items()

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    assert selects(one(production, "Service", "moot-web")["spec"]["selector"])
    assert selects(
        one(production, "PodDisruptionBudget", "moot-web")["spec"]["selector"]["matchLabels"]
    )
    assert selects(
        one(production, "NetworkPolicy", "moot-web")["spec"]["podSelector"]["matchLabels"]
    )
    for constraint in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]:
        assert selects(constraint["labelSelector"]["matchLabels"])
    target = one(production, "HorizontalPodAutoscaler", "moot-web")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "moot-web")
    service = one(production, "Service", "moot-web")
    ingress = one(production, "Ingress", "moot-web")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "moot-web"
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_production_scales_out_and_survives_disruption(production: list[Obj]) -> None:
    deployment = one(production, "Deployment", "moot-web")
    hpa = one(production, "HorizontalPodAutoscaler", "moot-web")["spec"]
    pdb = one(production, "PodDisruptionBudget", "moot-web")["spec"]
    assert deployment["spec"]["replicas"] == 3 == hpa["minReplicas"]
    assert hpa["maxReplicas"] >= 2 * hpa["minReplicas"]
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert 0 < pdb["minAvailable"] < hpa["minReplicas"], "a drain must be able to evict a pod"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = containers(deployment)
    assert container["resources"]["requests"]["cpu"] == "500m"  # the overlay's patch applied
    tag = container["image"].rpartition(":")[2]
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"pin a release tag, not {tag!r}"


def test_the_database_can_take_every_connection_the_app_may_open(production: list[Obj]) -> None:
    config = one(production, "ConfigMap", "moot-config")["data"]
    hpa = one(production, "HorizontalPodAutoscaler", "moot-web")["spec"]
    cluster = one(production, "Cluster", "moot-db")["spec"]
    # Per worker process: the pool (DB_POOL_SIZE) + its overflow (as many again, server/db.py)
    # + one LISTEN connection for live updates (server/live.py).
    per_pod = int(config["WEB_CONCURRENCY"]) * (2 * int(config["DB_POOL_SIZE"]) + 1)
    headroom = 30  # CronJobs, the migration, the operator, superuser_reserved_connections
    max_connections = int(cluster["postgresql"]["parameters"]["max_connections"])
    assert hpa["maxReplicas"] * per_pod + headroom <= max_connections
    assert cluster["instances"] == 3


def test_ingress_terminates_tls_with_cert_manager(production: list[Obj]) -> None:
    ingress = one(production, "Ingress", "moot-web")
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["secretName"] and tls["hosts"] == [r["host"] for r in ingress["spec"]["rules"]]
    base_url = one(production, "ConfigMap", "moot-config")["data"]["MOOT_BASE_URL"]
    assert base_url == f"https://{tls['hosts'][0]}"


def test_phases_order_the_rollout(production: list[Obj]) -> None:
    phases = {_key(o): o["metadata"].get("labels", {}).get("moot/phase") for o in production}
    assert set(phases.values()) == PHASES, phases
    migrate = [key for key, phase in phases.items() if phase == "migrate"]
    assert [key[1:] for key in migrate] == [("Job", "moot", "moot-migrate")]
    setup = {key[1] for key, phase in phases.items() if phase == "setup"}
    # The migration Job needs all of these to exist before it runs.
    assert {"Namespace", "ConfigMap", "Secret", "ServiceAccount", "Cluster"} <= setup
    job = one(production, "Job", "moot-migrate")
    assert containers(job)[0]["args"] == ["db", "upgrade"]


def test_cronjobs_run_the_scheduled_commands(production: list[Obj]) -> None:
    schedules = {
        o["metadata"]["name"]: (o["spec"]["schedule"], containers(o)[0]["args"])
        for o in production
        if o["kind"] == "CronJob"
    }
    assert schedules == {
        "moot-export": ("30 2 * * *", ["export", "--out", "/export"]),
        "moot-digest": ("5 * * * *", ["notifications", "digest"]),
        "moot-close-due": ("* * * * *", ["results", "close-due"]),
    }
    for obj in production:
        if obj["kind"] == "CronJob":
            assert obj["spec"]["concurrencyPolicy"] == "Forbid"


# --- every command and environment variable is real ---------------------------------------------


def _check_moot_command(argv: list[str]) -> None:
    """argv (without `moot`) names a real command, with real options. Typer vendors its own
    click, so walk its command tree by attribute rather than by click's classes."""
    command: Any = typer.main.get_command(cli_app)
    words = list(argv)
    while hasattr(command, "commands"):
        name = words.pop(0)
        assert name in command.commands, f"`moot {' '.join(argv)}`: no command {name!r}"
        command = command.commands[name]
    options = {opt for param in command.params for opt in param.opts}
    for word in words:
        if word.startswith("--"):
            assert word in options, f"`moot {' '.join(argv)}`: no option {word}"


def _commands_in_deployment(production: list[Obj]) -> Iterator[list[str]]:
    for obj in workloads(production):
        for container in containers(obj):
            if container.get("args"):
                yield container["args"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in compose["services"].values():
        if "command" in service and service.get("image", "").startswith("moot"):
            yield service["command"]
    worker = (DEPLOY / "worker.sh").read_text()
    for line in re.findall(r"^\s*run (.+)$", worker, flags=re.MULTILINE):
        yield [w.strip('"') for w in line.split()]
    entrypoint = (DEPLOY / "entrypoint.sh").read_text()
    (serve,) = re.findall(r"exec moot (serve .+)$", entrypoint, flags=re.MULTILINE)
    yield serve.split()


def test_every_command_the_deployment_runs_exists(production: list[Obj]) -> None:
    commands = list(_commands_in_deployment(production))
    assert ["results", "close-due"] in commands and ["db", "upgrade"] in commands
    for argv in commands:
        _check_moot_command(argv)


def _variables_moot_reads() -> set[str]:
    settings = (PROJECT_ROOT / "server/settings.py").read_text()
    names = set(re.findall(r'env\.get\(\s*"([A-Z_]+)"', settings))
    names |= set(re.findall(r'_(?:int|bool|pg_url)\(env, "([A-Z_]+)"', settings))
    for path in (PROJECT_ROOT / "server").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'os\.environ(?:\.get\(|\[)\s*"([A-Z_]+)"', text))
        names |= set(re.findall(r'envvar="([A-Z_]+)"', text))
    # server/cli.py hands the resolved URL to uvicorn's workers: a write, not a setting.
    assert {"DATABASE_URL", "SECRET_KEY", "MOOT_BASE_URL", "GRAPHQL_ALLOWLIST_ONLY"} <= names
    return names


def _kubernetes_environment(production: list[Obj]) -> set[str]:
    (container,) = containers(one(production, "Deployment", "moot-web"))
    names = {env["name"] for env in container["env"]}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            names |= set(one(production, "ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            names |= set(one(production, "Secret", source["secretRef"]["name"])["data"])
    return names


def _compose_environment() -> set[str]:
    app = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["app"]
    names = set(app.get("environment", {}))
    names |= set(kustomize.read_env_file(DEPLOY / f"{app['env_file']}.example"))
    return names


@pytest.mark.parametrize("where", ["kubernetes", "compose"])
def test_every_variable_moot_reads_is_set_or_deliberately_left_to_its_default(
    where: str, production: list[Obj]
) -> None:
    read = _variables_moot_reads()
    configured = (
        _kubernetes_environment(production) if where == "kubernetes" else _compose_environment()
    )
    unaccounted = sorted(read - configured - set(DELIBERATE_DEFAULTS))
    assert unaccounted == [], f"set these in the {where} deployment, or list them with a reason"
    contradictory = sorted(configured & set(DELIBERATE_DEFAULTS))
    assert contradictory == [], "set, yet listed as left to the default"
    unknown = sorted(configured - read - set(OTHER_CONSUMERS))
    assert unknown == [], "set, but read by nothing (misspelt?)"
    assert set(DELIBERATE_DEFAULTS) <= read, (
        "DELIBERATE_DEFAULTS names a variable Moot no longer reads"
    )


def test_production_config_values_are_valid_settings(production: list[Obj]) -> None:
    from server.settings import Settings

    env = dict(one(production, "ConfigMap", "moot-config")["data"])
    secret = one(production, "Secret", "moot-secrets")["data"]
    env |= {k: base64.b64decode(v).decode() for k, v in secret.items()}
    env["DATABASE_URL"] = "postgresql://moot:pw@moot-db-rw.moot:5432/moot"  # CNPG's `uri` form
    settings = Settings.from_env(env)
    assert settings.is_production
    assert settings.database_url == "postgresql+asyncpg://moot:pw@moot-db-rw.moot:5432/moot"


# --- secrets stay out of git and out of the image -----------------------------------------------


def test_secret_files_are_examples_and_the_real_ones_are_ignored() -> None:
    ignored = [
        line for line in (DEPLOY / ".gitignore").read_text().splitlines() if line and line[0] != "#"
    ]
    overlay = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    real = [f"k8s/overlays/production/{e}" for g in overlay["secretGenerator"] for e in g["envs"]]
    real.append("moot.env")
    for path in real:
        assert any(fnmatch.fnmatch(path, pattern) for pattern in ignored), path
        example = DEPLOY / f"{path}.example"
        values = kustomize.read_env_file(example)
        secret_like = [k for k in values if re.search("KEY|PEPPER|PASSWORD|SECRET", k)]
        assert secret_like and all(values[k] == "CHANGE_ME" for k in secret_like), example
    dockerignore = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    assert "**/*.env" in dockerignore


# --- Compose ------------------------------------------------------------------------------------


def test_compose_file_is_consistent() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app", "worker"}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
        if "env_file" in service:
            assert (DEPLOY / f"{service['env_file']}.example").is_file()
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert context == PROJECT_ROOT
            assert (context / service["build"]["dockerfile"]).is_file()
    assert services["app"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert "healthcheck" in services["db"] and "pgdata" in compose["volumes"]
    assert re.fullmatch(r"docker\.io/library/postgres:16\.\d+-bookworm", services["db"]["image"])
    assert services["worker"]["entrypoint"] == ["/bin/sh", "/app/deploy/worker.sh"]
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]
    for name in ("migrate", "app", "worker"):
        assert services[name]["read_only"] is True


# --- the image ----------------------------------------------------------------------------------


def _containerfile() -> tuple[str, list[tuple[str, str]]]:
    text = (DEPLOY / "Containerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return text, instructions


def test_containerfile_pins_its_base_and_runs_unprivileged() -> None:
    _, instructions = _containerfile()
    args = dict(rest.split("=", 1) for word, rest in instructions if word == "ARG" and "=" in rest)
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert len(froms) == 2, "builder and runtime stages"
    for line in froms:
        image = line.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert re.fullmatch(r"docker\.io/library/python:3\.11\.\d+-slim-bookworm", image), image
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    runtime = [word for word, _ in instructions[last_from:]]
    assert "USER" in runtime and "HEALTHCHECK" in runtime and "EXPOSE" in runtime
    user = one_value(instructions, "USER")
    assert user == "10001:10001", "numeric and not root, so that runAsNonRoot can check it"


def one_value(instructions: list[tuple[str, str]], word: str) -> str:
    (value,) = [rest for w, rest in instructions if w == word]
    return value


def test_containerfile_serves_healthchecks_and_installs_pinned() -> None:
    text, instructions = _containerfile()
    healthcheck = one_value(instructions, "HEALTHCHECK")
    assert "urllib.request" in healthcheck and "/healthz" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck
    assert one_value(instructions, "EXPOSE") == "8000"
    env = " ".join(rest for word, rest in instructions if word == "ENV")
    assert "MOOT_ENV=production" in env and "WEB_CONCURRENCY=" in env
    assert "pip install -c constraints.txt" in text
    assert json.loads(one_value(instructions, "ENTRYPOINT")) == [
        "/bin/sh",
        "/app/deploy/entrypoint.sh",
    ]
    entrypoint = (DEPLOY / "entrypoint.sh").read_text()
    assert (
        'exec moot serve --host 0.0.0.0 --port 8000 --workers "${WEB_CONCURRENCY:-2}"' in entrypoint
    )


def test_everything_the_image_copies_exists_and_reaches_the_build_context() -> None:
    _, instructions = _containerfile()
    ignored = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for required in (".venv", "node_modules", "var", ".git", "tests"):
        assert required in ignored, f".dockerignore should exclude {required}"
    for word, rest in instructions:
        if word != "COPY" or rest.startswith("--from"):
            continue
        *sources, _ = rest.split()
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), source
            path = source.rstrip("/")
            for pattern in ignored:
                assert not fnmatch.fnmatch(path, pattern), f"{source} is excluded by {pattern}"
                assert not path.startswith(pattern.rstrip("/") + "/"), f"{source}: {pattern}"


def test_shell_scripts_are_posix_sh() -> None:
    for script in ("entrypoint.sh", "worker.sh"):
        text = (DEPLOY / script).read_text()
        assert text.startswith("#!/bin/sh\n"), script
        assert "[[" not in text and "function " not in text, f"{script}: bashism"


def test_the_benchmark_gives_postgresql_the_deployed_memory(production: list[Obj]) -> None:
    """make bench runs PostgreSQL with the production Cluster's memory settings."""
    from server.bench.database import PRODUCTION_PARAMETERS

    parameters = one(production, "Cluster", "moot-db")["spec"]["postgresql"]["parameters"]
    for name, value in PRODUCTION_PARAMETERS.items():
        assert parameters[name] == value, name
