"""Webhook configurations: Volcano's names, rules and policies; Service or URL; caBundle; manifests."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from pyroclast.webhook.admission import DEFAULT_ENABLED, WEBHOOK_PATHS
from pyroclast.webhook.main import main
from pyroclast.webhook.registration import (
    Target,
    configuration,
    configuration_name,
    configurations,
    write_manifests,
)

REPO = Path(__file__).resolve().parents[3]


def test_names_follow_volcano() -> None:
    assert configuration_name("/jobs/mutate") == "volcano-admission-service-jobs-mutate"
    expected = {
        "/jobs/mutate": ("MutatingWebhookConfiguration", "mutatejob.volcano.sh"),
        "/jobs/validate": ("ValidatingWebhookConfiguration", "validatejob.volcano.sh"),
        "/queues/mutate": ("MutatingWebhookConfiguration", "mutatequeue.volcano.sh"),
        "/queues/validate": ("ValidatingWebhookConfiguration", "validatequeue.volcano.sh"),
        "/podgroups/mutate": ("MutatingWebhookConfiguration", "mutatepodgroup.volcano.sh"),
        "/podgroups/validate": ("ValidatingWebhookConfiguration", "validatepodgroup.volcano.sh"),
        "/pods/mutate": ("MutatingWebhookConfiguration", "mutatepod.volcano.sh"),
        "/pods/validate": ("ValidatingWebhookConfiguration", "validatepod.volcano.sh"),
        "/cronjobs/validate": ("ValidatingWebhookConfiguration", "validatecronjob.volcano.sh"),
        "/jobflows/validate": ("ValidatingWebhookConfiguration", "validatejobflow.volcano.sh"),
    }
    assert set(expected) == WEBHOOK_PATHS
    for path, (kind, webhook) in expected.items():
        obj = configuration(path, Target())
        assert (obj["kind"], obj["webhooks"][0]["name"]) == (kind, webhook)
        assert obj["metadata"]["name"] == configuration_name(path)


def test_rules_and_policies() -> None:
    rules = {path: configuration(path, Target())["webhooks"][0] for path in WEBHOOK_PATHS}
    assert rules["/jobs/mutate"]["rules"] == [
        {
            "apiGroups": ["batch.volcano.sh"],
            "apiVersions": ["v1alpha1"],
            "operations": ["CREATE"],
            "resources": ["jobs"],
            "scope": "*",
        }
    ]
    assert rules["/jobs/validate"]["rules"][0]["operations"] == ["CREATE", "UPDATE"]
    assert rules["/queues/validate"]["rules"][0]["operations"] == ["CREATE", "UPDATE", "DELETE"]
    assert rules["/queues/validate"]["rules"][0]["apiVersions"] == ["v1beta1"]
    assert rules["/pods/mutate"]["rules"][0]["apiGroups"] == [""]
    assert rules["/jobflows/validate"]["rules"][0]["apiGroups"] == ["flow.volcano.sh"]
    for path, hook in rules.items():
        assert hook["failurePolicy"] == "Fail"
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["timeoutSeconds"] == 10
        assert hook["matchPolicy"] == "Equivalent"
        assert ("reinvocationPolicy" in hook) == path.endswith("/mutate")


def test_service_target_and_ca_bundle() -> None:
    hook = configuration("/jobs/validate", Target("wh", "vc"), b"PEM")["webhooks"][0]
    assert hook["clientConfig"] == {
        "service": {"name": "wh", "namespace": "vc", "path": "/jobs/validate", "port": 443},
        "caBundle": base64.b64encode(b"PEM").decode(),
    }
    excluded = hook["namespaceSelector"]["matchExpressions"][0]
    assert excluded == {
        "key": "kubernetes.io/metadata.name",
        "operator": "NotIn",
        "values": ["vc", "kube-system"],
    }


def test_url_target() -> None:
    hook = configuration("/jobs/mutate", Target(url="https://127.0.0.1:9443/"), b"PEM")["webhooks"][0]
    assert hook["clientConfig"]["url"] == "https://127.0.0.1:9443/jobs/mutate"
    assert "service" not in hook["clientConfig"]


def test_configurations_are_ordered_mutating_first() -> None:
    objects = configurations(DEFAULT_ENABLED, Target())
    kinds = [o["kind"] for o in objects]
    assert kinds == sorted(kinds, key=lambda k: k != "MutatingWebhookConfiguration")
    assert len(objects) == len(DEFAULT_ENABLED)


def test_manifests_round_trip(tmp_path: Path) -> None:
    objects = configurations(DEFAULT_ENABLED, Target(), b"PEM")
    written = write_manifests(tmp_path, objects)
    assert [yaml.safe_load(p.read_text()) for p in written] == objects


def test_manifests_command_matches_the_checked_in_files(tmp_path: Path, capsys: object) -> None:
    assert main(["manifests", "--out", str(tmp_path)]) == 0
    generated = {p.name: p.read_text() for p in tmp_path.glob("*.yaml")}
    checked_in = {p.name: p.read_text() for p in (REPO / "deploy" / "webhook").glob("*.yaml")}
    assert generated == checked_in
    assert len(generated) == len(DEFAULT_ENABLED)
    for text in generated.values():
        assert "caBundle" not in text


def test_manifests_command_takes_settings(tmp_path: Path) -> None:
    assert (
        main(
            [
                "manifests",
                "--out",
                str(tmp_path),
                "--enabled-paths",
                "/pods/mutate",
                "--webhook-url",
                "https://x:1",
            ]
        )
        == 0
    )
    (only,) = tmp_path.glob("*.yaml")
    obj = yaml.safe_load(only.read_text())
    assert obj["webhooks"][0]["clientConfig"] == {"url": "https://x:1/pods/mutate"}
    assert main(["manifests", "--out", str(tmp_path), "--enabled-paths", "/nope"]) == 2
