"""Tenant files, API keys and the key commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.tenants import ApiKeyAuthenticator, Relaxation, TenantRegistry, add_key, revoke_key
from tests.conftest import REPO

TENANTS = REPO / "tenants"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "tenants"
    shutil.copytree(TENANTS, target)
    return target


def test_example_tenants_for_the_four_regions() -> None:
    registry = TenantRegistry.load(TENANTS)
    assert {(t.id, t.region) for t in registry.all()} == {
        ("NA", "NA"), ("EMEA", "EMEA"), ("LATAM", "LATAM"), ("APAC", "APAC"),
    }  # fmt: skip
    for tenant in registry.all():
        assert tenant.api_keys == ()  # no secrets in the repository
        assert tenant.relaxations == ()  # strict by default
        assert tenant.store_payload is False
        assert tenant.allows("pacs.008.001.08")
        assert tenant.allows("camt.053.001.08")
        assert not tenant.allows("pain.008.001.08")


def test_keys_authenticate_only_their_tenant(folder: Path) -> None:
    key, record = add_key(folder / "EMEA.yaml", "web")
    text = (folder / "EMEA.yaml").read_text()
    assert key not in text and record.sha256 in text
    registry = TenantRegistry.load(folder)
    auth = ApiKeyAuthenticator(registry)
    tenant = auth.authenticate(key)
    assert tenant is not None and tenant.id == "EMEA"
    assert auth.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert auth.authenticate("isogw_000000000000_" + "x" * 43) is None
    assert auth.authenticate("") is None


def test_rotation_and_revocation(folder: Path) -> None:
    old, old_record = add_key(folder / "NA.yaml")
    new, _ = add_key(folder / "NA.yaml")
    auth = ApiKeyAuthenticator(TenantRegistry.load(folder))
    assert auth.authenticate(old) is not None and auth.authenticate(new) is not None
    revoke_key(folder / "NA.yaml", old_record.id)
    auth = ApiKeyAuthenticator(TenantRegistry.load(folder))
    assert auth.authenticate(old) is None
    assert auth.authenticate(new) is not None
    with pytest.raises(ConfigError, match="no API key"):
        revoke_key(folder / "NA.yaml", old_record.id)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("region: EMEA", "region: MARS"), r"EMEA\.yaml: region: .*MARS"),
        (("  - pacs.008.001.08\n", "  - pacs.8\n"), r"allowed_message_ids.*pacs\.8"),
        (("store_payload: false", "store_payload: sometimes"), r"store_payload.*sometimes"),
        (("relaxations: []", "relaxations: [everything]"), r"relaxations\.0.*everything"),
        (("relaxations: []", "relaxations: []\ncolour: blue"), r"colour.*blue"),
        (("id: EMEA", "id: emea"), r"id:.*emea"),
        (("rate_per_second: 200", "rate_per_second: -1"), r"limits.rate_per_second.*-1"),
        (('"{tenant}.payments.{stage}.v1"', '"{tenant}.{region}.v1"'), r"topic_template.*region"),
    ],
)
def test_bad_tenant_file_names_file_key_and_value(
    folder: Path, change: tuple[str, str], expected: str
) -> None:
    path = folder / "EMEA.yaml"
    text = path.read_text()
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError, match=expected):
        TenantRegistry.load(folder)


def test_relaxations_are_named_and_map_to_codes(folder: Path) -> None:
    path = folder / "APAC.yaml"
    path.write_text(
        path.read_text().replace("relaxations: []", "relaxations: [apphdr_msgdefidr_mismatch]")
    )
    tenant = TenantRegistry.load(folder).get("APAC")
    assert tenant is not None
    assert tenant.relaxations == (Relaxation.APPHDR_MSGDEFIDR_MISMATCH,)
    assert tenant.relaxed_codes() == {"detect.apphdr_mismatch"}


def test_cli_add_and_revoke_key(folder: Path) -> None:
    env = {**os.environ, "GATEWAY_TENANTS_DIR": str(folder)}
    added = subprocess.run(
        [sys.executable, "-m", "gateway", "tenants", "add-key", "LATAM", "--label", "batch"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    assert key.startswith("isogw_")
    tenant = ApiKeyAuthenticator(TenantRegistry.load(folder)).authenticate(key)
    assert tenant is not None and tenant.id == "LATAM"
    key_id = key.split("_")[1]
    listed = subprocess.run(
        [sys.executable, "-m", "gateway", "tenants", "list"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert key_id in listed.stdout
    revoked = subprocess.run(
        [sys.executable, "-m", "gateway", "tenants", "revoke-key", "LATAM", key_id],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert ApiKeyAuthenticator(TenantRegistry.load(folder)).authenticate(key) is None
    unknown = subprocess.run(
        [sys.executable, "-m", "gateway", "tenants", "add-key", "MOON"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert unknown.returncode == 2
