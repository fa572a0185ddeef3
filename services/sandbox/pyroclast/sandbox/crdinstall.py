"""Installing CustomResourceDefinitions from a folder of manifests (``deploy/crds``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from pyroclast.sandbox.kubeclient import ApiError, KubeClient, api_path

CRD_PATH = api_path("apiextensions.k8s.io/v1", "customresourcedefinitions")


def default_crds_dir() -> Path | None:
    """``deploy/crds`` of the source tree this package runs from, if it has one."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "crds"
        if (parent / "pyproject.toml").exists() and candidate.is_dir():
            return candidate
    return None


async def install_crds(client: KubeClient, folder: Path, report: Callable[[str], None]) -> int | None:
    """Create or update every CRD in ``folder/*.yaml``; ``None`` if there is no such folder.

    A file or CRD that cannot be installed is reported and skipped: the rest still goes in.
    """
    files = await asyncio.to_thread(_manifest_files, folder)
    if files is None:
        return None
    installed = 0
    for path in files:
        try:
            documents = await asyncio.to_thread(_load_yaml_documents, path)
        except (OSError, yaml.YAMLError) as exc:
            report(f"skipping {path.name}: {exc}")
            continue
        for document in documents:
            if document.get("kind") != "CustomResourceDefinition":
                continue
            try:
                await apply_crd(client, document)
                installed += 1
            except ApiError as exc:
                report(f"CRD {document.get('metadata', {}).get('name')} from {path.name}: {exc}")
    return installed


async def apply_crd(client: KubeClient, document: dict[str, Any]) -> None:
    """Create the CRD, or replace the one of that name (as ``kubectl apply`` would end up)."""
    try:
        await client.create(CRD_PATH, document)
    except ApiError as exc:
        if exc.status != 409:
            raise
        name = str((document.get("metadata") or {}).get("name"))
        current = await client.get(f"{CRD_PATH}/{name}")
        metadata = {**document["metadata"], "resourceVersion": current["metadata"].get("resourceVersion")}
        await client.replace(f"{CRD_PATH}/{name}", {**document, "metadata": metadata})


def _manifest_files(folder: Path) -> list[Path] | None:
    if not folder.is_dir():
        return None
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if isinstance(doc, dict)]
