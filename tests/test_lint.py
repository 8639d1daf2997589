"""Mapping lint: the shipped mappings against their XSDs, and small bad mappings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.mapping import MappingRegistry
from gateway.mapping.lint import LintResult, lint_all, lint_mapping
from gateway.mapping.spec import load_mapping
from gateway.schemas import SchemaRegistry
from gateway.settings import Settings
from gateway.xsdmodel import XsdModel
from tests.conftest import REPO, SAMPLES

MAPPINGS = REPO / "mappings"
COMMON_2019 = MAPPINGS / "common" / "iso-2019.yaml"
SAMPLE_XSD = SAMPLES / "xsd"
PACS008 = REPO / "xsd" / "official" / "pacs.008.001.08.xsd"
TX = "FIToFICstmrCdtTrf/CdtTrfTxInf"


@pytest.fixture(scope="module")
def schemas() -> SchemaRegistry:
    env = {"GATEWAY_SCHEMA_DIRS": str(SAMPLE_XSD)} if SAMPLE_XSD.is_dir() else {}
    return SchemaRegistry.load(Settings.from_env(env))


@pytest.fixture(scope="module")
def pacs008() -> XsdModel:
    if not PACS008.is_file():
        pytest.skip("official XSDs not installed")
    return XsdModel.load(PACS008)


# --- the shipped mappings ------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(MAPPINGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_mapping_lints_clean_against_its_xsd(path: Path, schemas: SchemaRegistry) -> None:
    mapping = load_mapping(path)
    if schemas.get(mapping.message_id) is None and not SAMPLE_XSD.is_dir():
        # not on the registries (pacs.009.001.08, pacs.004, camt.056.001.08 ...): the
        # official XSD comes from ../shared/samples/xsd, which is absent; never skipped
        # when that folder is there
        pytest.skip(f"{mapping.message_id} XSD comes from ../shared/samples/xsd, absent")
    (result,) = lint_all(MappingRegistry([mapping]), schemas)
    assert result.errors == [], "\n".join(result.lines())
    assert result.coverage, "a clean lint reports coverage for every scope"


def test_pacs008_coverage_names_unread_subtrees(schemas: SchemaRegistry, pacs008: XsdModel) -> None:
    mapping = load_mapping(MAPPINGS / "pacs.008.001.08.yaml")
    result = lint_mapping(mapping, pacs008)
    root, tx = result.coverage
    assert root.path == ("FIToFICstmrCdtTrf",)
    assert root.unread == ("SplmtryData",)
    assert tx.path == ("FIToFICstmrCdtTrf", "CdtTrfTxInf")
    assert {"Tax", "RltdRmtInf", "SplmtryData"} <= set(tx.unread)
    assert "Dbtr" not in tx.unread
    assert root.total + tx.total == pacs008.leaf_count("FIToFICustomerCreditTransferV08")
    assert 0 < root.consumed <= root.total
    assert 0 < tx.consumed <= tx.total


# --- small mappings written for the test ---------------------------------------------

HEADER = """\
mapping: pacs.008.001.08
version: 1
event_type: payment.credit_transfer.fi_to_fi
"""


def _lint(tmp_path: Path, body: str, model: XsdModel) -> LintResult:
    path = tmp_path / "pacs.008.001.08.yaml"
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return lint_mapping(load_mapping(path), model)


def test_a_minimal_clean_mapping_and_its_coverage(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        """\
        document: FIToFICstmrCdtTrf
        fields:
          group.message_id: GrpHdr/MsgId
          ids.message_id: GrpHdr/MsgId
        each:
          path: CdtTrfTxInf
          fields:
            ids.end_to_end_id: PmtId/EndToEndId
            amounts.interbank_settlement: {path: IntrBkSttlmAmt, type: amount}
            debtor: {path: Dbtr, fields: {name: Nm, postal_address.country: PstlAdr/Ctry}}
        """,
        pacs008,
    )
    assert result.errors == []
    assert result.warnings == []
    root, tx = result.coverage
    assert (root.consumed, root.total, root.unread) == (1, 323, ("SplmtryData",))
    assert (tx.consumed, tx.total) == (4, 1305)
    assert tx.type_name == "CreditTransferTransaction39"
    tx_children = list(pacs008.children("CreditTransferTransaction39"))
    assert list(tx.unread) == [
        c for c in tx_children if c not in {"PmtId", "IntrBkSttlmAmt", "Dbtr"}
    ]
    assert tx.describe().startswith(
        "FIToFICstmrCdtTrf/CdtTrfTxInf (CreditTransferTransaction39): 4/1305 leaf paths read"
    )


def test_bad_path_step(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        """\
        document: FIToFICstmrCdtTrf
        each:
          path: CdtTrfTxInf
          fields:
            ids.end_to_end_id: PmtId/EndToEndIdx
            ids.uetr: PmtId/UETR/Value
        """,
        pacs008,
    )
    assert result.errors == [
        f"pacs.008.001.08.yaml: ids.end_to_end_id: {TX}/PmtId/EndToEndIdx: 'EndToEndIdx' is "
        "not a child element of PaymentIdentification7 (did you mean 'EndToEndId'?)",
        f"pacs.008.001.08.yaml: ids.uetr: {TX}/PmtId/UETR/Value: 'Value' is not a child "
        "element of UUIDv4Identifier, which has none",
    ]


def test_bad_step_inside_an_included_template(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        f"""\
        include: [{COMMON_2019}]
        document: FIToFICstmrCdtTrf
        each:
          path: CdtTrfTxInf
          fields:
            purpose: {{path: PmtId, template: code}}
        """,
        pacs008,
    )
    assert result.errors == [
        f"pacs.008.001.08.yaml: purpose.code: {TX}/PmtId/Cd: 'Cd' is not a child element "
        "of PaymentIdentification7",
        f"pacs.008.001.08.yaml: purpose.proprietary: {TX}/PmtId/Prtry: 'Prtry' is not a "
        "child element of PaymentIdentification7",
    ]


def test_amount_on_an_element_without_ccy(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        """\
        document: FIToFICstmrCdtTrf
        each:
          path: CdtTrfTxInf
          fields:
            amounts.interbank_settlement: {path: IntrBkSttlmDt, type: amount}
        """,
        pacs008,
    )
    assert result.errors == [
        f"pacs.008.001.08.yaml: amounts.interbank_settlement: {TX}/IntrBkSttlmDt: type "
        "'amount' needs an element with a Ccy attribute, but IntrBkSttlmDt is ISODate, "
        "which has none"
    ]


def test_scalar_on_a_complex_element(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        """\
        document: FIToFICstmrCdtTrf
        each:
          path: CdtTrfTxInf
          fields:
            ids.end_to_end_id: PmtId
            amounts.instructed: {path: Dbtr, type: amount}
            remittance.unstructured: {path: SplmtryData/Envlp, many: true}
        """,
        pacs008,
    )
    assert result.errors == [
        f"pacs.008.001.08.yaml: ids.end_to_end_id: {TX}/PmtId: type 'string' needs a simple "
        "element, but PmtId is PaymentIdentification7, which has child elements",
        f"pacs.008.001.08.yaml: amounts.instructed: {TX}/Dbtr: type 'amount' needs a simple "
        "element, but Dbtr is PartyIdentification135, which has child elements",
        f"pacs.008.001.08.yaml: remittance.unstructured: {TX}/SplmtryData/Envlp: type "
        "'string' needs a simple element, but Envlp is SupplementaryDataEnvelope1, which "
        "carries no text",
    ]


def test_object_on_a_simple_element(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        """\
        templates:
          party: {name: Nm}
        document: FIToFICstmrCdtTrf
        each:
          path: CdtTrfTxInf
          fields:
            debtor: {path: ChrgBr, template: party}
        """,
        pacs008,
    )
    assert result.errors == [
        f"pacs.008.001.08.yaml: debtor: {TX}/ChrgBr: an object field (template/fields) needs "
        "an element with child elements, but ChrgBr is ChargeBearerType1Code, which has none"
    ]


def test_bool_decimal_and_codes_against_the_simple_type(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        """\
        document: FIToFICstmrCdtTrf
        fields:
          group.batch_booking: {path: GrpHdr/MsgId, type: bool}
          group.control_sum: {path: GrpHdr/CtrlSum, type: decimal}
        each:
          path: CdtTrfTxInf
          fields:
            amounts.exchange_rate: {path: ChrgBr, type: decimal}
            charge_bearer: {path: ChrgBr, codes: {DEBT: debtor, XXXX: unknown}}
        """,
        pacs008,
    )
    assert result.errors == [
        "pacs.008.001.08.yaml: group.batch_booking: FIToFICstmrCdtTrf/GrpHdr/MsgId: type "
        "'bool' needs a boolean element, but MsgId is Max35Text (xs:string)",
        f"pacs.008.001.08.yaml: charge_bearer: {TX}/ChrgBr: code 'XXXX' is not a value of "
        "ChargeBearerType1Code (allowed: DEBT, CRED, SHAR, SLEV)",
        f"pacs.008.001.08.yaml: amounts.exchange_rate: {TX}/ChrgBr: type 'decimal' needs a "
        "decimal element, but ChrgBr is ChargeBearerType1Code (xs:string)",
    ]  # plain targets compile before dotted ones, hence charge_bearer first


def test_wrong_document_and_each(tmp_path: Path, pacs008: XsdModel) -> None:
    wrong_document = _lint(
        tmp_path,
        """\
        document: FICdtTrf
        each: {path: CdtTrfTxInf}
        """,
        pacs008,
    )
    assert wrong_document.errors == [
        "pacs.008.001.08.yaml: document: 'FICdtTrf' is not the message element of "
        "pacs.008.001.08.xsd (expected one of: FIToFICstmrCdtTrf)"
    ]
    wrong_each = _lint(
        tmp_path,
        """\
        document: FIToFICstmrCdtTrf
        each: {path: CdtTrfTx}
        """,
        pacs008,
    )
    assert wrong_each.errors == [
        "pacs.008.001.08.yaml: each: FIToFICstmrCdtTrf/CdtTrfTx: 'CdtTrfTx' is not a child "
        "element of FIToFICustomerCreditTransferV08 (did you mean 'CdtTrfTxInf'?)"
    ]
    assert len(wrong_each.coverage) == 1  # the root scope only


def test_lossy_reads_are_warnings(tmp_path: Path, pacs008: XsdModel) -> None:
    result = _lint(
        tmp_path,
        """\
        document: FIToFICstmrCdtTrf
        each:
          path: CdtTrfTxInf
          fields:
            payment_type.local_instrument: {path: PmtTpInf/SvcLvl, fields: {code: Cd}}
            amounts.exchange_rate: {path: IntrBkSttlmAmt, type: decimal}
        """,
        pacs008,
    )
    assert result.errors == []
    assert result.warnings == [
        f"pacs.008.001.08.yaml: payment_type.local_instrument: {TX}/PmtTpInf/SvcLvl: SvcLvl "
        "(maxOccurs unbounded) repeats but the field is not 'many': only the first "
        "occurrence is read",
        f"pacs.008.001.08.yaml: amounts.exchange_rate: {TX}/IntrBkSttlmAmt: IntrBkSttlmAmt is "
        "an amount (ActiveCurrencyAndAmount); type 'decimal' drops its Ccy (use type: amount)",
    ]


def test_lint_all_reports_a_missing_xsd(tmp_path: Path) -> None:
    path = tmp_path / "pacs.008.001.08.yaml"
    path.write_text(HEADER + "document: FIToFICstmrCdtTrf\neach: {path: CdtTrfTxInf}\n")
    results = lint_all(MappingRegistry([load_mapping(path)]), SchemaRegistry([]))
    assert [r.warnings for r in results] == [
        [
            "pacs.008.001.08.yaml: not checked: no XSD for pacs.008.001.08 is installed "
            "(add it with `isogw schemas add` or a GATEWAY_SCHEMA_DIRS folder)"
        ]
    ]
    assert results[0].errors == []
    assert results[0].schema is None
    assert results[0].lines()[0] == (
        "pacs.008.001.08.yaml against no schema: 0 error(s), 1 warning(s)"
    )


def test_lint_all_uses_the_registry_schema(tmp_path: Path, schemas: SchemaRegistry) -> None:
    path = tmp_path / "pacs.008.001.08.yaml"
    path.write_text(HEADER + "document: FIToFICstmrCdtTrf\neach: {path: CdtTrfTxInf}\n")
    (result,) = lint_all(MappingRegistry([load_mapping(path)]), schemas)
    entry = schemas.get("pacs.008.001.08")
    assert entry is not None
    assert result.schema == entry.path
    assert result.ok
    assert [c.consumed for c in result.coverage] == [0, 0]
