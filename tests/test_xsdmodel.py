"""XsdModel on the installed official XSDs (and two tiny hand-written schemas)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import SchemaCompileError, SchemaError
from gateway.xsdmodel import ChildInfo, XsdModel
from tests.conftest import REPO

OFFICIAL = REPO / "xsd" / "official"
PACS008 = OFFICIAL / "pacs.008.001.08.xsd"
PAIN001_03 = OFFICIAL / "pain.001.001.03.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"

pytestmark = pytest.mark.skipif(not PACS008.is_file(), reason="official XSDs not installed")


@pytest.fixture(scope="module")
def pacs008() -> XsdModel:
    return XsdModel.load(PACS008)


def test_root_type_and_message_element(pacs008: XsdModel) -> None:
    assert pacs008.root_element == "Document"
    assert pacs008.root_type == "Document"
    assert pacs008.namespace == "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
    assert pacs008.children("Document") == {
        "FIToFICstmrCdtTrf": ChildInfo("FIToFICstmrCdtTrf", "FIToFICustomerCreditTransferV08")
    }


def test_children_keep_xsd_order_and_occurs(pacs008: XsdModel) -> None:
    message = pacs008.children("FIToFICustomerCreditTransferV08")
    assert list(message) == ["GrpHdr", "CdtTrfTxInf", "SplmtryData"]
    assert message["GrpHdr"] == ChildInfo("GrpHdr", "GroupHeader93", 1, 1)
    assert message["CdtTrfTxInf"].max_occurs is None
    assert message["CdtTrfTxInf"].repeats
    assert message["SplmtryData"].min_occurs == 0
    assert message["SplmtryData"].optional

    # XSD order, checked against the raw file
    raw = etree.parse(str(PACS008)).getroot()
    declared = raw.find(f"{XS}complexType[@name='CreditTransferTransaction39']")
    assert declared is not None
    in_file = [e.get("name") for e in declared.iter(f"{XS}element")]
    assert list(pacs008.children("CreditTransferTransaction39")) == in_file
    assert list(pacs008.children("GroupHeader93"))[:4] == [
        "MsgId",
        "CreDtTm",
        "BtchBookg",
        "NbOfTxs",
    ]


def test_choices_are_marked(pacs008: XsdModel) -> None:
    party = pacs008.children("Party38Choice")
    assert list(party) == ["OrgId", "PrvtId"]
    assert {c.choice for c in party.values()} == {0}
    assert all(c.optional for c in party.values())
    assert pacs008.children("PaymentIdentification7")["EndToEndId"].choice is None


def test_choice_nested_in_a_sequence() -> None:
    model = XsdModel.load(PAIN001_03)
    service_level = model.children("ServiceLevel8Choice")
    assert list(service_level) == ["Cd", "Prtry"]
    assert [c.choice for c in service_level.values()] == [0, 0]


def test_simple_amount_and_complex_types(pacs008: XsdModel) -> None:
    assert pacs008.is_simple("Max35Text")
    assert pacs008.is_simple("xs:string")
    assert pacs008.is_simple("ActiveCurrencyAndAmount")  # simpleContent: text + Ccy
    assert pacs008.is_leaf("ActiveCurrencyAndAmount")
    assert not pacs008.is_simple("PartyIdentification135")
    assert not pacs008.is_leaf("PartyIdentification135")
    # the xs:any envelope: no child elements declared, but no text either
    assert not pacs008.is_simple("SupplementaryDataEnvelope1")
    assert pacs008.is_leaf("SupplementaryDataEnvelope1")
    assert pacs008.has_wildcard("SupplementaryDataEnvelope1")
    assert pacs008.children("Max35Text") == {}

    assert pacs008.attributes("ActiveOrHistoricCurrencyAndAmount") == {
        "Ccy": "ActiveOrHistoricCurrencyCode"
    }
    assert pacs008.attributes("Max35Text") == {}
    assert pacs008.builtin_base("ActiveCurrencyAndAmount") == "xs:decimal"
    assert pacs008.builtin_base("TrueFalseIndicator") == "xs:boolean"
    assert pacs008.builtin_base("Max35Text") == "xs:string"
    assert pacs008.builtin_base("PartyIdentification135") is None
    assert pacs008.enumeration("ChargeBearerType1Code") == ("DEBT", "CRED", "SHAR", "SLEV")
    assert pacs008.enumeration("Max35Text") == ()


def test_unknown_type_is_a_key_error(pacs008: XsdModel) -> None:
    with pytest.raises(KeyError, match="NoSuchType"):
        pacs008.children("NoSuchType")
    with pytest.raises(KeyError):
        pacs008.is_simple("NoSuchType")
    assert not pacs008.has_type("NoSuchType")


def test_resolve(pacs008: XsdModel) -> None:
    assert pacs008.resolve(()) == "Document"
    assert pacs008.resolve(("FIToFICstmrCdtTrf",)) == "FIToFICustomerCreditTransferV08"
    tx = ("FIToFICstmrCdtTrf", "CdtTrfTxInf")
    assert pacs008.resolve((*tx, "IntrBkSttlmAmt")) == "ActiveCurrencyAndAmount"
    assert pacs008.resolve((*tx, "Dbtr", "PstlAdr", "AdrLine")) == "Max70Text"
    assert pacs008.resolve((*tx, "Dbtr", "Id", "OrgId", "AnyBIC")) == "AnyBICDec2014Identifier"
    assert pacs008.resolve((*tx, "Dbtr", "Nmm")) is None  # not a child
    assert pacs008.resolve((*tx, "ChrgBr", "Cd")) is None  # below a simple element
    assert pacs008.resolve(("CdtTrfTxInf",)) is None  # not directly under Document
    assert pacs008.resolve_from("PaymentIdentification7", ("UETR",)) == "UUIDv4Identifier"


def test_leaf_count_and_paths(pacs008: XsdModel) -> None:
    assert pacs008.leaf_count("Max35Text") == 1
    assert pacs008.leaf_count("ActiveCurrencyAndAmount") == 1
    assert pacs008.leaf_count("GenericIdentification30") == 3
    assert list(pacs008.leaf_paths("PaymentIdentification7")) == [
        ("InstrId",), ("EndToEndId",), ("TxId",), ("UETR",), ("ClrSysRef",)
    ]  # fmt: skip
    assert list(pacs008.leaf_paths("Max35Text")) == [()]
    tx = "CreditTransferTransaction39"
    paths = list(pacs008.leaf_paths(tx))
    assert len(paths) == len(set(paths)) == pacs008.leaf_count(tx) == 1305
    assert ("Dbtr", "PstlAdr", "Ctry") in paths
    assert ("SplmtryData", "Envlp") in paths
    assert pacs008.leaf_count(tx) == 1305  # memoised: same answer
    assert list(pacs008.leaf_paths(tx, max_depth=1)) == [(name,) for name in pacs008.children(tx)]
    message = "FIToFICustomerCreditTransferV08"
    assert pacs008.leaf_count(message) == sum(
        pacs008.leaf_count(c.type_name) for c in pacs008.children(message).values()
    )


@pytest.mark.parametrize(
    "path", sorted(OFFICIAL.glob("*.xsd")), ids=lambda p: p.name
)  # fmt: skip
def test_every_official_xsd_loads(path: Path) -> None:
    model = XsdModel.load(path)
    top = model.children(model.root_type)
    assert top, path.name
    assert model.root_element == ("AppHdr" if path.name.startswith("head.") else "Document")
    for type_name in model.type_names():
        assert model.has_type(type_name)
        for child in model.children(type_name).values():
            assert model.has_type(child.type_name)
    assert len(list(model.leaf_paths(model.root_type))) == model.leaf_count(model.root_type)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "t.xsd"
    path.write_text(
        '<xs:schema xmlns="urn:t" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="urn:t" elementFormDefault="qualified">'
        '<xs:element name="Document" type="Document"/>' + body + "</xs:schema>",
        encoding="utf-8",
    )
    return path


def test_recursive_types_are_cut(tmp_path: Path) -> None:
    model = XsdModel.load(
        _write(
            tmp_path,
            '<xs:complexType name="Document"><xs:sequence>'
            '<xs:element name="Root" type="Node"/></xs:sequence></xs:complexType>'
            '<xs:complexType name="Node"><xs:sequence>'
            '<xs:element name="Val" type="xs:string"/>'
            '<xs:element name="Child" type="Node" minOccurs="0" maxOccurs="unbounded"/>'
            "</xs:sequence></xs:complexType>",
        )
    )
    assert model.resolve(("Root", "Child", "Child", "Val")) == "xs:string"
    assert model.leaf_count("Node") == 2  # Val, and Child cut as one leaf
    assert model.leaf_count("Document") == 2
    assert list(model.leaf_paths("Document")) == [("Root", "Val"), ("Root", "Child")]


def test_unsupported_or_broken_schemas(tmp_path: Path) -> None:
    with pytest.raises(SchemaCompileError, match="cannot read schema"):
        XsdModel.load(tmp_path / "missing.xsd")
    broken = _write(
        tmp_path,
        '<xs:complexType name="Document"><xs:sequence>'
        '<xs:element name="A" type="Nowhere"/></xs:sequence></xs:complexType>',
    )
    with pytest.raises(SchemaError, match=r"Document/A: type 'Nowhere' is not defined"):
        XsdModel.load(broken)
    derived = _write(
        tmp_path,
        '<xs:complexType name="Document"><xs:complexContent><xs:extension base="X"/>'
        "</xs:complexContent></xs:complexType>",
    )
    with pytest.raises(SchemaError, match="complexContent"):
        XsdModel.load(derived)
