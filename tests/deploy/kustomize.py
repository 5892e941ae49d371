"""Render deploy/k8s's kustomizations for the tests, without a network and without kubectl.

This is deliberately NOT kustomize: it implements only what our kustomization.yaml files use, and
refuses anything else, so that it can never silently render something other than kustomize
would. Supported:

- ``resources``: YAML files (one or more documents) and directories holding a kustomization;
- ``patches`` with only a ``path``: a strategic-merge patch naming its target by apiVersion, kind
  and metadata.name. Maps merge recursively; lists of ``containers``, ``initContainers``,
  ``env`` and ``volumes`` merge by ``name`` and ``volumeMounts`` by ``mountPath``; every other
  list, and every scalar, is replaced. No ``$patch`` directives, no JSON 6902 patches;
- ``images``: ``name`` with ``newName`` and/or ``newTag``, in every pod template;
- ``namespace``: set on every namespaced object;
- ``secretGenerator`` with ``envs`` only, and ``generatorOptions`` with
  ``disableNameSuffixHash: true`` (required: hashed names would need name-reference rewriting)
  and ``labels``.

When a kubectl with kustomize v4 or newer is on PATH (or named by $KUBECTL), the tests render
with it too and require the same objects (tests/deploy/test_manifests.py).
"""

from __future__ import annotations

import base64
import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "patches",
    "images",
    "namespace",
    "generatorOptions",
    "secretGenerator",
}
CLUSTER_SCOPED = {"Namespace"}
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
}


class Unsupported(Exception):
    """The kustomization uses a feature this loader does not implement."""


def load_documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def build(directory: Path) -> list[Obj]:
    """The objects ``kustomize build directory`` would produce (for the features above)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    objects: list[Obj] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        objects += build(path) if path.is_dir() else load_documents(path)
    objects += _generate_secrets(directory, spec)
    for patch in spec.get("patches", []):
        if set(patch) != {"path"}:
            raise Unsupported(f"{directory}: only `patches: - path: FILE` is supported")
        for doc in load_documents(directory / patch["path"]):
            _apply_patch(objects, doc)
    for image in spec.get("images", []):
        _set_image(objects, image)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return objects


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as kustomize and Docker Compose read them (no quoting, no expansion)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise Unsupported(f"{path}: {line!r} is not KEY=VALUE")
        values[key] = value
    return values


def _generate_secrets(directory: Path, spec: Obj) -> list[Obj]:
    generators = spec.get("secretGenerator", [])
    options = spec.get("generatorOptions", {})
    if generators and options.get("disableNameSuffixHash") is not True:
        raise Unsupported("secretGenerator needs generatorOptions.disableNameSuffixHash: true")
    if set(options) - {"disableNameSuffixHash", "labels"}:
        raise Unsupported(f"unsupported generatorOptions {sorted(options)}")
    secrets = []
    for generator in generators:
        if set(generator) != {"name", "envs"}:
            raise Unsupported("secretGenerator entries may only have `name` and `envs`")
        data: dict[str, str] = {}
        for env_file in generator["envs"]:
            data.update(read_env_file(directory / env_file))
        metadata: Obj = {"name": generator["name"]}
        if options.get("labels"):
            metadata["labels"] = dict(options["labels"])
        secrets.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": metadata,
                "type": "Opaque",
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            }
        )
    return secrets


def _apply_patch(objects: list[Obj], patch: Obj) -> None:
    group = patch["apiVersion"].rpartition("/")[0]
    targets = [
        obj
        for obj in objects
        if obj["kind"] == patch["kind"]
        and obj["apiVersion"].rpartition("/")[0] == group
        and obj["metadata"]["name"] == patch["metadata"]["name"]
    ]
    if len(targets) != 1:
        raise Unsupported(f"patch for {patch['kind']}/{patch['metadata']['name']}: {targets=}")
    body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind", "metadata")}
    _merge(targets[0], body)
    patch_meta = {k: v for k, v in patch["metadata"].items() if k not in ("name", "namespace")}
    _merge(targets[0]["metadata"], patch_meta)


def _merge(base: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if key.startswith("$"):
            raise Unsupported(f"strategic-merge directive {key} is not supported")
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(base.get(key), list):
            merge_key = MERGE_KEYS[key]
            for item in value:
                match = [old for old in base[key] if old.get(merge_key) == item[merge_key]]
                if match:
                    _merge(match[0], item)
                else:
                    base[key].append(copy.deepcopy(item))
        else:
            base[key] = copy.deepcopy(value)


def pod_specs(obj: Obj) -> list[Obj]:
    """The pod spec(s) inside a workload object (Deployment, Job, CronJob, ...)."""
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if "template" in spec and "spec" in spec["template"] and obj["kind"] != "Cluster":
        return [spec["template"]["spec"]]
    return []


def containers(obj: Obj) -> list[Obj]:
    return [
        c
        for pod in pod_specs(obj)
        for c in pod.get("containers", []) + pod.get("initContainers", [])
    ]


def _set_image(objects: list[Obj], image: Obj) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise Unsupported(f"unsupported images entry {image}")
    for obj in objects:
        for container in containers(obj):
            name, _, tag = container["image"].partition(":")
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            tag = image.get("newTag", tag)
            container["image"] = f"{name}:{tag}" if tag else name


# --- the real kustomize, when there is one -------------------------------------------------------


def kubectl_with_kustomize() -> str | None:
    """A kubectl whose built-in kustomize is v4 or newer (older ones, such as Debian 12's
    kubectl 1.20 with kustomize v2, cannot read `patches:` or `envs:`), else None."""
    kubectl = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not kubectl:
        return None
    try:
        out = subprocess.run(
            [kubectl, "version", "--client"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"Kustomize Version: v(\d+)\.", out)
    return kubectl if match and int(match.group(1)) >= 4 else None


def kubectl_build(kubectl: str, directory: Path) -> list[Obj]:
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
