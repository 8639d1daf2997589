"""The per-tenant hash chain over reports and review actions (gateway.store.chain),
on SQLite and PostgreSQL: written with each commit, recomputed by ``verify`` and by
``isogw reports verify``, which names the first record edited behind the gateway's back."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner, Result

from gateway.cli import app as cli_app
from gateway.report import Outcome, Report, finding
from gateway.store import InboundCommit, Store
from gateway.store.chain import GENESIS, ChainSigner, entry_hash
from gateway.store.chain_verify import verify
from gateway.store.reviews import Reviews
from gateway.store.tables import chain_entries, chain_heads, report_findings, reports
from tests.web_fixtures import clean_own_tables

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


def make_report(tenant: str = "EMEA", *, rejected: bool = False, at: datetime = NOW) -> Report:
    findings = (
        [finding("schema.pattern", "bad BIC", line=41, xpath="/Document/x/BICFI")]
        if rejected
        else []
    )
    return Report(
        report_id=str(uuid.uuid4()),
        tenant=tenant,
        received_at=at,
        message_id="pacs.008.001.08",
        business_message_id=f"MSG-{uuid.uuid4().hex[:8]}",
        payload_sha256="0" * 64,
        payload_size=10,
        outcome=Outcome.REJECTED if rejected else Outcome.ACCEPTED,
        findings=findings,
    )


def commit(store: Store, tenant: str = "EMEA", **kwargs: object) -> Report:
    rep = make_report(tenant, **kwargs)  # type: ignore[arg-type]
    store.commit_inbound(
        InboundCommit(
            tenant=tenant,
            idempotency_key=str(uuid.uuid4()),
            payload_sha256="sha",
            report=rep,
            correlation_id="c-1",
            payload=b"<Document/>",
            response_status=202,
            response_body=b"{}",
        )
    )
    return rep


@pytest.fixture
def chained(store: Store) -> Store:
    clean_own_tables(store)
    return store


def cli_verify(store: Store, tenant: str, *extra: str) -> Result:
    """``isogw reports verify`` in process (the command reads GATEWAY_* from the env)."""
    env = {"GATEWAY_DATABASE_URL": store.url, "GATEWAY_CHAIN_SIGNING_KEY_FILE": None}
    return CliRunner().invoke(
        cli_app,
        ["reports", "verify", "--tenant", tenant, *extra],
        env=env,  # type: ignore[arg-type]
    )


def test_each_commit_appends_one_entry_covering_the_previous_hash(chained: Store) -> None:
    made = [commit(chained) for _ in range(3)] + [commit(chained, rejected=True)]
    with chained.engine.connect() as connection:
        entries = connection.execute(
            select(chain_entries).where(chain_entries.c.tenant == "EMEA").order_by("seq")
        ).all()
        head = connection.execute(select(chain_heads).where(chain_heads.c.tenant == "EMEA")).one()
    assert [e.record_id for e in entries] == [r.report_id for r in made]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    prev = GENESIS
    for e in entries:
        assert e.prev_hash == prev
        assert e.hash == entry_hash("EMEA", e.seq, "report", e.record_id, e.record_sha256, prev)
        prev = e.hash
    assert (head.seq, head.hash, head.signature) == (4, prev, None)
    result = verify(chained.engine, "EMEA")
    assert result.ok and result.broken is None
    assert (result.count, result.head_seq, result.head_hash) == (4, 4, prev)
    assert verify(chained.engine, "NA").count == 0  # an empty chain is intact


def test_verify_names_the_report_row_edited_behind_the_gateways_back(chained: Store) -> None:
    made = [commit(chained) for _ in range(5)]
    other = commit(chained, "NA")
    target = made[2]
    with chained.engine.begin() as connection:  # plain SQL, as someone with DB access would
        connection.execute(
            text("UPDATE reports SET outcome = 'rejected' WHERE id = :id"), {"id": target.report_id}
        )
    result = verify(chained.engine, "EMEA")
    assert not result.ok
    assert result.broken is not None
    assert (result.broken.seq, result.broken.kind, result.broken.record_id) == (
        3,
        "report",
        target.report_id,
    )
    assert "changed after it was chained" in result.broken.reason
    assert verify(chained.engine, "NA").ok  # another tenant's chain is untouched
    run = cli_verify(chained, "EMEA")
    assert run.exit_code == 1, run.output
    assert target.report_id in run.output and "entry 3" in run.output
    ok = cli_verify(chained, "NA")
    assert ok.exit_code == 0, ok.output
    assert "chain intact: 1 records" in ok.output
    assert other.report_id not in run.output


def test_verify_finds_edited_json_deleted_and_smuggled_rows(chained: Store) -> None:
    made = [commit(chained, rejected=n == 1) for n in range(4)]
    with chained.engine.begin() as connection:
        connection.execute(
            text("UPDATE reports SET report = replace(report, 'bad BIC', 'fine') WHERE id = :id"),
            {"id": made[1].report_id},
        )
    broken = verify(chained.engine, "EMEA").broken
    assert broken is not None and broken.record_id == made[1].report_id
    with chained.engine.begin() as connection:
        connection.execute(text("DELETE FROM reports WHERE id = :id"), {"id": made[1].report_id})
    broken = verify(chained.engine, "EMEA").broken
    assert broken is not None and broken.record_id == made[1].report_id
    assert "missing" in broken.reason
    # a report inserted without its chain entry is found too
    kept = commit(chained, "LATAM")
    smuggled = make_report("LATAM")
    with chained.engine.begin() as connection:
        connection.execute(
            reports.insert().values(
                id=smuggled.report_id, tenant="LATAM", received_at=NOW, outcome="accepted",
                payload_sha256="0" * 64, payload_size=1, report=smuggled.model_dump_json(),
            )
        )  # fmt: skip
    broken = verify(chained.engine, "LATAM").broken
    assert broken is not None and broken.record_id == smuggled.report_id
    assert broken.seq is None and "not in the chain" in broken.reason
    assert kept.report_id != smuggled.report_id


def test_verify_checks_the_findings_index_against_the_report(chained: Store) -> None:
    bad = commit(chained, rejected=True)
    with chained.engine.connect() as connection:
        terms = connection.execute(
            select(report_findings.c.term).where(report_findings.c.report_id == bad.report_id)
        ).scalars()
        assert set(terms) == {"schema.pattern"}
    with chained.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM report_findings WHERE report_id = :id"), {"id": bad.report_id}
        )
    broken = verify(chained.engine, "EMEA").broken
    assert broken is not None and "findings index" in broken.reason


def test_chain_entries_and_reviews_refuse_update_and_delete(chained: Store) -> None:
    rep = commit(chained, rejected=True)
    Reviews(chained).record(
        tenant="EMEA", report_id=rep.report_id, finding_index=0, action="waive",
        text="known issue", reviewer="alice", reviewer_tenant="EMEA", reviewer_role="compliance",
    )  # fmt: skip
    for statement in (
        "UPDATE chain_entries SET hash = 'x'",
        "DELETE FROM chain_entries",
        "UPDATE reviews SET text = 'nothing to see'",
        "DELETE FROM reviews",
    ):
        with pytest.raises(DBAPIError, match="append-only"), chained.engine.begin() as connection:
            connection.execute(text(statement))
    result = verify(chained.engine, "EMEA")
    assert result.ok and result.count == 2  # the report and the review action


def test_an_edited_review_action_is_named_when_the_guard_is_removed(chained: Store) -> None:
    """Triggers stop the application; the chain catches whoever drops them."""
    rep = commit(chained, rejected=True)
    action = Reviews(chained).record(
        tenant="EMEA", report_id=rep.report_id, finding_index=None, action="annotate",
        text="looked at it", reviewer="alice", reviewer_tenant="EMEA", reviewer_role="compliance",
    )  # fmt: skip
    commit(chained)
    with chained.engine.begin() as connection:
        if chained.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE reviews DISABLE TRIGGER reviews_append_only"))
            connection.execute(text("UPDATE reviews SET text = 'approved'"))
            connection.execute(text("ALTER TABLE reviews ENABLE TRIGGER reviews_append_only"))
        else:
            connection.execute(text("DROP TRIGGER reviews_no_update"))
            connection.execute(text("UPDATE reviews SET text = 'approved'"))
    broken = verify(chained.engine, "EMEA").broken
    assert broken is not None
    assert (broken.seq, broken.kind, broken.record_id) == (2, "review", action.id)


def test_concurrent_commits_of_one_tenant_take_consecutive_entries(chained: Store) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(8):
                if i % 2:
                    commit(chained)
                else:  # through the group commit: groups and single commits interleave
                    chained.commit_grouped(
                        InboundCommit(
                            tenant="EMEA", idempotency_key=str(uuid.uuid4()),
                            payload_sha256="sha", report=make_report("EMEA"),
                            correlation_id="c", payload=None, response_status=202,
                            response_body=b"{}",
                        )
                    )  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    result = verify(chained.engine, "EMEA")
    assert result.ok, result.broken
    assert result.count == 48
    with chained.engine.connect() as connection:
        seqs = list(connection.execute(select(chain_entries.c.seq).order_by("seq")).scalars())
    assert seqs == list(range(1, 49))


def test_a_group_commit_chains_each_report_in_order_across_tenants(chained: Store) -> None:
    first = commit(chained, "EMEA")
    group = [
        InboundCommit(
            tenant=tenant,
            idempotency_key=str(uuid.uuid4()),
            payload_sha256="sha",
            report=make_report(tenant, rejected=i == 2),
            correlation_id=f"c-{i}",
            payload=b"<Document/>" if i % 2 else None,
            response_status=202,
            response_body=b"{}",
        )
        for i, tenant in enumerate(["EMEA", "NA", "EMEA", "EMEA", "NA"])
    ]
    assert chained.commit_inbound_group(group) == [None] * 5
    with chained.engine.connect() as connection:
        emea = connection.execute(
            select(chain_entries.c.record_id, chain_entries.c.seq)
            .where(chain_entries.c.tenant == "EMEA")
            .order_by("seq")
        ).all()
    wanted = [first.report_id] + [c.report.report_id for c in group if c.tenant == "EMEA"]
    assert [row.record_id for row in emea] == wanted
    assert [row.seq for row in emea] == [1, 2, 3, 4]
    # the digests computed for the group match the rows as stored and read back
    for tenant, count in (("EMEA", 4), ("NA", 2)):
        result = verify(chained.engine, tenant)
        assert result.ok, result.broken
        assert result.count == count


def write_key(path: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private = path / "chain.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = path / "chain.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_signed_heads_verify_with_the_public_key(chained: Store, tmp_path: Path) -> None:
    private, public = write_key(tmp_path)
    signer = ChainSigner.from_file(private)
    chained.chain_signer = signer
    for _ in range(3):
        commit(chained)
    result = verify(chained.engine, "EMEA", public_key=signer.public_key)
    assert (result.ok, result.signature, result.key_id) == (True, "valid", signer.key_id)
    run = cli_verify(chained, "EMEA", "--public-key", str(public))
    assert run.exit_code == 0, run.output
    assert f"head signature valid (key {signer.key_id})" in run.output
    _, other = write_key(tmp_path / "..")
    run = cli_verify(chained, "EMEA", "--public-key", str(other))
    assert run.exit_code == 1 and "another key" in run.output
    # a head rewritten without the key (e.g. after truncating the chain) fails
    with chained.engine.begin() as connection:
        connection.execute(text("UPDATE chain_heads SET signature = NULL, key_id = NULL"))
    assert verify(chained.engine, "EMEA", public_key=signer.public_key).signature == "unsigned"
    chained.chain_signer = None
    commit(chained)
    with chained.engine.begin() as connection:
        head_hash = connection.execute(select(chain_heads.c.hash)).scalar_one()
        forged = signer.sign(b"something else")
        connection.execute(
            text("UPDATE chain_heads SET signature = :s, key_id = :k"),
            {"s": forged, "k": signer.key_id},
        )
    result = verify(chained.engine, "EMEA", public_key=signer.public_key)
    assert result.signature == "invalid" and not result.ok and result.head_hash == head_hash


def test_cli_json_output_and_unreadable_database(chained: Store, tmp_path: Path) -> None:
    commit(chained)
    run = cli_verify(chained, "EMEA", "--format", "json")
    assert run.exit_code == 0, run.output
    assert '"ok":true' in run.output and '"count":1' in run.output
    empty = CliRunner().invoke(
        cli_app,
        ["reports", "verify", "--tenant", "EMEA"],
        env={"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"},
    )
    assert empty.exit_code == 3 and "cannot read the report chain" in empty.output


def test_migration_chains_and_indexes_reports_stored_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).resolve().parents[1] / "gateway/store/migrations")
    )
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    old = [make_report(rejected=n % 2 == 0, at=NOW + timedelta(seconds=n)) for n in range(5)]
    with store.engine.begin() as connection:
        for rep in old:
            connection.execute(
                reports.insert().values(
                    id=rep.report_id, tenant="EMEA", received_at=rep.received_at,
                    outcome=rep.outcome.value, payload_sha256=rep.payload_sha256,
                    payload_size=rep.payload_size, report=rep.model_dump_json(),
                )
            )  # fmt: skip
    store.migrate()
    result = verify(store.engine, "EMEA")
    assert result.ok and result.count == 5
    newer = commit(store)
    assert verify(store.engine, "EMEA").count == 6
    with store.engine.connect() as connection:
        indexed = connection.execute(select(func.count()).select_from(report_findings)).scalar()
        last = connection.execute(
            select(chain_entries.c.record_id).order_by(chain_entries.c.seq.desc()).limit(1)
        ).scalar()
    assert indexed == 3 and last == newer.report_id
    store.close()
