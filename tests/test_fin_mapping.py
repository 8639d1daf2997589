"""MT -> canonical mapping (gateway.fin.mapping, gateway.fin.mapping_run): the shipped
files, the vocabulary and its load-time checks, fixture pairs (MT input + expected
event), MT <-> MX equivalence, coverage, the locator, real samples and hypothesis."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import MappingError
from gateway.events import PaymentEvent
from gateway.fin.mapping import FinMapping, FinMappingRegistry, load_fin_mapping, map_mt
from gateway.mt import MtMessage, parse_mt
from gateway.mt_fields import AppHeader, BasicHeader, Field, TagBlock, TagValue, TextBlock
from gateway.pipeline import Gateway
from gateway.report import Outcome
from tests.conftest import FIXTURES, REPO, SAMPLES

FIN_MAPPINGS = REPO / "mappings" / "fin"
PAIRS = FIXTURES / "mt" / "mapping"
REGISTRY = FinMappingRegistry.load(FIN_MAPPINGS)
ON_VALUE_DATE = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
SAMPLE_FILES = sorted(
    p
    for folder in ("MT103", "MT103STP", "MT202")
    for p in (SAMPLES / "mt" / folder).glob("*.txt")
    if (SAMPLES / "mt").is_dir()
)

#: Fields an MT message and its MX translation legitimately give differently: the event
#: id and source (message id, payload, mapping), and what pacs carries that MT does not
#: (group creation time, number of transactions, settlement method: the MX rendering
#: derives them from the header and fields 53a/54a; MT has no data for them).
DIFFERENT = (
    "event_id",
    "source",
    "group.creation_datetime",
    "group.number_of_transactions",
    "settlement.method",
)


def message(path: Path) -> MtMessage:
    user = parse_mt(path.read_bytes()).user_message
    assert user is not None
    return user


def mapping_for(msg: MtMessage) -> FinMapping:
    found = REGISTRY.get(str(msg.message_id))
    assert found is not None, msg.message_id
    return found


def apply(msg: MtMessage) -> Any:
    source = {"message_id": str(msg.message_id), "payload_sha256": "0" * 64}
    return map_mt(msg, mapping_for(msg), seed="test", source=source)


def without(event: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """``event`` without the dotted ``paths`` (objects left empty are dropped too)."""
    out: dict[str, Any] = json.loads(json.dumps(event))
    for path in paths:
        *parents, last = path.split(".")
        node = out
        for part in parents:
            node = node.get(part) or {}
        node.pop(last, None)
    for key in [k for k, v in out.items() if v == {}]:
        del out[key]
    return out


# --------------------------------------------------------------------------- shipped files


def test_every_shipped_mt_mapping_loads() -> None:
    assert {str(m.message_id) for m in REGISTRY.all()} == {
        "fin.103",
        "fin.103.STP",
        "fin.202",
        "fin.202.COV",
        "fin.940",
        "fin.950",
        "fin.900",
        "fin.910",
        "fin.192",
        "fin.196",
    }
    for mapping in REGISTRY.all():
        assert re.fullmatch(r"[0-9a-f]{64}", mapping.sha256)
        assert mapping.file.name == f"{mapping.message_id}.yaml"
    assert REGISTRY.get("fin.103.STP").event_type == REGISTRY.get("fin.103").event_type  # type: ignore[union-attr]
    assert REGISTRY.get("fin.202.COV").uses_sequences  # type: ignore[union-attr]


def test_mt_and_mx_mappings_of_a_translation_pair_share_event_type_and_stage(
    gateway: Gateway,
) -> None:
    for mt, mx in (("fin.103", "pacs.008.001.08"), ("fin.202", "pacs.009.001.08")):
        fin, iso = REGISTRY.get(mt), gateway.mappings.get(mx)
        assert fin is not None and iso is not None
        assert (fin.event_type, fin.stage) == (iso.event_type, iso.stage)


def test_an_absent_folder_holds_no_mapping(tmp_path: Path) -> None:
    assert FinMappingRegistry.load(tmp_path / "nowhere").all() == []


# --------------------------------------------------------------------------- fixture pairs


@pytest.mark.parametrize("path", sorted(PAIRS.glob("*.txt")), ids=lambda p: p.stem)
def test_fixture_pairs_give_the_expected_event_and_findings(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    result = apply(message(path))
    [event] = result.events
    PaymentEvent.model_validate(event)
    assert without(event, ("event_id", "source")) == expected["event"]
    found = [
        {"code": f.code, "mt_tag": f.location.mt_tag, "line": f.location.line}
        for f in result.findings
    ]
    assert found == expected["findings"]


@pytest.mark.parametrize("path", sorted(PAIRS.glob("*.txt")), ids=lambda p: p.stem)
def test_fixture_messages_pass_the_pipeline_with_their_event(gateway: Gateway, path: Path) -> None:
    result = gateway.inbound(path.read_bytes(), received_at=ON_VALUE_DATE)
    assert result.report.outcome is not Outcome.REJECTED, result.report.findings
    assert {f.code for f in result.report.findings} <= {"mapping.unmapped"}
    assert len(result.events) == 1


# --------------------------------------------------------------------------- equivalence


def _both(gateway: Gateway, name: str, mx_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if gateway.schemas.get(mx_id) is None:
        pytest.skip(f"the {mx_id} schema is not installed")
    mt = gateway.inbound((PAIRS / f"{name}.txt").read_bytes(), received_at=ON_VALUE_DATE)
    mx_path = PAIRS / f"{name}.{mx_id}.xml"
    mx = gateway.inbound(mx_path.read_bytes(), received_at=ON_VALUE_DATE)
    assert mt.report.outcome is Outcome.ACCEPTED, mt.report.findings
    assert mx.report.outcome is Outcome.ACCEPTED, mx.report.findings
    return mt.events[0], mx.events[0]


@pytest.mark.parametrize(
    ("name", "mx_id"),
    [
        ("fin.103.equivalent", "pacs.008.001.08"),
        ("fin.202.equivalent", "pacs.009.001.08"),
        ("fin.202.COV.equivalent", "pacs.009.001.08"),
    ],
)
def test_an_mt_message_and_its_mx_translation_give_the_same_event(
    gateway: Gateway, name: str, mx_id: str
) -> None:
    mt, mx = _both(gateway, name, mx_id)
    assert without(mt, DIFFERENT) == without(mx, DIFFERENT)
    # what legitimately differs, and only that
    assert mt["source"]["message_id"].startswith("fin.")
    assert mx["source"]["message_id"] == mx_id
    assert "creation_datetime" not in mt["group"]
    assert mx["group"]["number_of_transactions"] == "1"
    assert mx["settlement"]["method"] == "INDA"
    assert "settlement" not in mt


# --------------------------------------------------------------------------- rules in detail


def _msg(*fields: tuple[str, str], block3: tuple[tuple[str, str], ...] = ()) -> MtMessage:
    blocks: list[Any] = [
        BasicHeader.parse("F01DEUTDEFFAXXX0000000001"),
        AppHeader.parse("I103BNPAFRPPXXXXN"),
    ]
    if block3:
        blocks.append(TagBlock("3", tuple(TagValue(t, v, 1) for t, v in block3)))
    text = tuple(Field(tag, value, i + 2) for i, (tag, value) in enumerate(fields))
    blocks.append(TextBlock(text))
    return MtMessage(tuple(blocks))


BASE_103 = (
    ("20", "REF-1"),
    ("23B", "CRED"),
    ("32A", "250312EUR100,"),
    ("50K", "/DE89370400440532013000\nJOHN DOE"),
    ("59", "/FR7630006000011234567890189\nJANE DOE"),
    ("71A", "SHA"),
)


def test_charge_bearer_follows_the_cbpr_plus_code_map() -> None:
    for mt, iso in (("OUR", "DEBT"), ("SHA", "SHAR"), ("BEN", "CRED")):
        fields = [f if f[0] != "71A" else ("71A", mt) for f in BASE_103]
        assert apply(_msg(*fields)).events[0]["charge_bearer"] == iso


def test_no_end_to_end_id_is_invented_without_roc() -> None:
    event = apply(_msg(*BASE_103)).events[0]
    assert "end_to_end_id" not in event["ids"]  # NOTPROVIDED is a pacs.008 rendering rule
    assert event["debtor_agent"] == {"bic": "DEUTDEFFXXX"}  # 52a absent: the sender
    assert event["creditor_agent"] == {"bic": "BNPAFRPPXXX"}  # 57a absent: the receiver


def test_required_data_that_is_absent_is_a_finding_not_a_default() -> None:
    fields = [f for f in BASE_103 if f[0] != "71A"]
    result = apply(_msg(*fields))
    [hit] = [f for f in result.findings if f.code == "mapping.missing_mandatory"]
    assert hit.location.mt_tag == ":71A:"
    assert hit.context["field"] == "charge_bearer"
    assert "charge_bearer" not in result.events[0]


def test_a_code_outside_its_map_is_an_invalid_value() -> None:
    result = apply(_msg(*BASE_103, block3=(("111", "008"),)))
    [hit] = [f for f in result.findings if f.code == "mapping.invalid_value"]
    assert hit.location.mt_tag == "{3:111}"
    good = apply(_msg(*BASE_103, block3=(("111", "001"),)))
    assert good.events[0]["payment_type"]["service_level"] == [{"code": "G001"}]


def test_what_no_rule_carries_is_reported_part_by_part() -> None:
    fields = (
        *BASE_103,
        ("13C", "/SNDTIME/0915+0100"),
        ("53B", "/12345\nFRANKFURT"),
        ("23B", "SPRI"),
    )
    result = apply(_msg(*fields, block3=(("108", "MUR"), ("119", "STP"))))
    unmapped = {f.location.mt_tag: f for f in result.findings if f.code == "mapping.unmapped"}
    assert set(unmapped) == {":13C:", ":53B:", ":23B:", "{3:108}"}  # 23B CRED, 119: not_carried
    assert unmapped[":53B:"].context["parts"] == ["the location"]
    assert result.events[0]["settlement"]["account"] == {"other": {"id": "12345"}}


def test_a_repeated_field_read_once_reports_the_rest() -> None:
    result = apply(_msg(*BASE_103, ("72", "/INS/COBADEFFXXX\n/INS/CHASUS33XXX")))
    event = result.events[0]
    assert event["previous_instructing_agent_1"] == {"bic": "COBADEFFXXX"}
    [hit] = [f for f in result.findings if f.code == "mapping.unmapped"]
    assert (hit.location.mt_tag, hit.context["parts"]) == (":72:", ["/INS/"])


def test_party_identifiers_clearing_codes_and_structured_details() -> None:
    fields = [f for f in BASE_103 if f[0] not in ("50K",)] + [
        ("50F", "CUST/DE/ABC BANK/123456\n1/JOHN DOE\n3/DE/BERLIN\n4/19700101\n5/DE/HAMBURG"),
        ("57C", "//SC123456"),
        ("56D", "//RT\nRTGS BANK"),
    ]
    event = apply(_msg(*fields)).events[0]
    debtor = event["debtor"]
    assert debtor["identification"]["private_other"] == [
        {"id": "ABC BANK/123456", "scheme": {"code": "CUST"}, "issuer": "DE"}
    ]
    assert debtor["identification"]["birth"] == {
        "birth_date": "1970-01-01",
        "country": "DE",
        "city": "HAMBURG",
    }
    assert debtor["postal_address"] == {"country": "DE", "town_name": "BERLIN"}
    assert event["creditor_agent"]["clearing_member"] == {
        "clearing_system": {"code": "GBDSC"},
        "member_id": "123456",
    }
    assert event["payment_type"]["clearing_channel"] == "RTGS"
    assert event["intermediary_agent_1"] == {"name": "RTGS BANK"}


def test_cover_sequences_scope_the_rules() -> None:
    result = apply(message(PAIRS / "fin.202.COV.equivalent.txt"))
    event = result.events[0]
    assert event["debtor_institution"] == {"bic": "DEUTDEFFXXX"}  # no 52a in A: the sender
    assert event["underlying_customer_transfer"]["debtor_agent"] == {"bic": "COBADEFFXXX"}
    assert event["creditor_agent"] == {"bic": "BNPAFRPPXXX"}  # 57A of sequence A
    assert result.findings == []


def test_the_locator_points_at_the_tag_a_field_came_from() -> None:
    path = PAIRS / "fin.103.equivalent.txt"
    text = path.read_bytes()
    result = apply(message(path))

    def line(tag: bytes) -> int:
        return text[: text.index(tag)].count(b"\n") + 1

    where = result.locate(0, "debtor_account.iban")
    assert (where.mt_tag, where.line) == (":50F:", line(b":50F:"))
    assert result.locate(0, "amounts.interbank_settlement.value").mt_tag == ":32A:"  # ancestor
    assert result.locate(0, "creditor").mt_tag == ":59F:"  # a descendant
    assert result.locate(0, "ids.uetr").mt_tag == "{3:121}"
    assert result.locate(0, "instructing_agent.bic").mt_tag == "{1:}"
    assert result.locate(0, "ultimate_debtor") is None
    assert result.locate(1, "debtor") is None


# --------------------------------------------------------------------------- the vocabulary


def _write(tmp_path: Path, name: str, body: str) -> Path:
    (tmp_path / "common").mkdir(exist_ok=True)
    common = FIN_MAPPINGS / "common" / "cbpr-plus.yaml"
    (tmp_path / "common" / "cbpr-plus.yaml").write_text(common.read_text())
    path = tmp_path / f"{name}.yaml"
    head = f"mapping: {name}\nversion: 1\nevent_type: t\ninclude: [common/cbpr-plus.yaml]\n"
    path.write_text(head + body)
    return path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("fields: {ids.uetr: {block3: '121', colour: red}}\n", r"unknown key\(s\) \['colour'\]"),
        ("fields: {ids.nope: {tag: '20'}}\n", r"'nope' is not a field of canonical Identifiers"),
        ("fields: {ids.uetr: {tag: 32A, part: amount}}\n", r"part 'amount' does not fit"),
        ("fields: {ids.uetr: {tag: '20', part: colour}}\n", r"part 'colour' is not one of"),
        ("fields: {debtor: {tag: 50a, template: party}}\n", r"tag 50a needs 'options'"),
        ("fields: {debtor: {tag: 50K, template: nobody}}\n", r"unknown template 'nobody'"),
        ("fields: {ids.uetr: {tag: '20', many: true}}\n", r"'many' needs a list target"),
        ("fields: {ids.uetr: {part: text}}\n", r"no source"),
        ("fields: {ids.uetr: {tag: 'X1'}}\n", r"tag 'X1' is not NN or NNa"),
        ("fields: {charge_bearer: {tag: 71A, part: code, codes: nope}}\n", r"unknown code map"),
        ("fields: {ids.uetr: {header: sender, block3: '121'}}\n", r"one source only"),
        ("fields: {ids.uetr: {tag: 32A, when: [X]}}\n", r"'when' selects coded fields"),
        ("fields: {ids.uetr: {tag: 32A, words: [X]}}\n", r"code words are read from narrative"),
        ("stage: lunch\nfields: {}\n", r"stage: 'lunch'"),
        ("not_carried: [{tag: 23B}]\nfields: {}\n", r"give a reason"),
        ("colour: red\nfields: {}\n", r"unknown top-level key"),
    ],
)
def test_bad_mapping_files_name_the_file_and_the_key(tmp_path: Path, body: str, error: str) -> None:
    path = _write(tmp_path, "fin.103", body)
    with pytest.raises(MappingError, match=error) as raised:
        load_fin_mapping(path)
    assert "fin.103.yaml" in str(raised.value)


def test_a_file_is_named_after_its_mt_message_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "fin.103", "fields: {}\n")
    path.rename(tmp_path / "fin.202.yaml")
    with pytest.raises(MappingError, match=r"named <fin message id>\.yaml"):
        load_fin_mapping(tmp_path / "fin.202.yaml")


def test_extends_cycles_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "fin.103", "extends: fin.103.yaml\nfields: {}\n")
    with pytest.raises(MappingError, match="cycle"):
        load_fin_mapping(path)


# --------------------------------------------------------------------------- real samples


@pytest.mark.skipif(not SAMPLE_FILES, reason="../shared/samples/mt is absent")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_real_payment_sample_maps(path: Path) -> None:
    """Whatever the validation says of them, the samples map: an event or findings."""
    result = apply(message(path))
    [event] = result.events
    PaymentEvent.model_validate(event)
    assert event["ids"]["message_id"]
    assert all(f.code.startswith("mapping.") for f in result.findings)
    assert all(f.location.mt_tag for f in result.findings)


# --------------------------------------------------------------------------- hypothesis

_X = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
_LINE = st.text(alphabet=_X, min_size=1, max_size=35)
_BIC = st.sampled_from(["DEUTDEFF", "BNPAFRPPXXX", "CHASUS33XXX", "COBADEFF500"])
_ACCOUNT = st.sampled_from(
    ["/DE89370400440532013000", "/12345678", "//FW021000021", "//RT", "//CH123456", "/C/99"]
)
_CCY = st.sampled_from(["EUR", "USD", "JPY", "GBP"])
_AMOUNT = st.from_regex(r"[0-9]{1,12},[0-9]{0,2}", fullmatch=True)
_DATE = st.dates().map(lambda d: d.strftime("%y%m%d"))


def _lines(n: int) -> st.SearchStrategy[str]:
    return st.lists(_LINE, min_size=1, max_size=n).map("\n".join)


def _party_lines() -> st.SearchStrategy[str]:
    numbered = st.tuples(st.sampled_from("12345678"), _LINE).map(lambda t: f"{t[0]}/{t[1]}")
    return st.lists(numbered, min_size=1, max_size=4).map("\n".join)


def _institution(options: str) -> st.SearchStrategy[tuple[str, str]]:
    forms = {
        "A": st.tuples(st.sampled_from(["", "/C/123\n", "//SC123456\n"]), _BIC).map("".join),
        "B": st.tuples(_ACCOUNT, st.sampled_from(["", "\nFRANKFURT"])).map("".join),
        "C": _ACCOUNT,
        "D": st.tuples(st.sampled_from(["", "/D/1\n", "//FW021000021\n"]), _lines(4)).map("".join),
    }
    return st.sampled_from(list(options)).flatmap(lambda o: forms[o].map(lambda v: (o, v)))


_FIELDS = st.fixed_dictionaries(
    {
        "20": st.from_regex(r"[A-Z0-9]{1,16}", fullmatch=True),
        "13C": st.just("/SNDTIME/0915+0100"),
        "23B": st.sampled_from(["CRED", "SPRI", "SSTD", "SPAY"]),
        "23E": st.lists(
            st.tuples(
                st.sampled_from(["SDVA", "INTC", "CORT", "HOLD", "TELB", "PHON", "REPA"]),
                st.sampled_from(["", "/INFO"]),
            ).map("".join),
            max_size=3,
        ),
        "26T": st.from_regex(r"[A-Z0-9]{3}", fullmatch=True),
        "32A": st.tuples(_DATE, _CCY, _AMOUNT).map("".join),
        "33B": st.tuples(_CCY, _AMOUNT).map("".join),
        "36": st.from_regex(r"[0-9]{1,5},[0-9]{1,6}", fullmatch=True),
        "50": st.one_of(
            st.tuples(st.just("A"), st.tuples(_ACCOUNT, st.just("\n"), _BIC).map("".join)),
            st.tuples(st.just("K"), st.tuples(_ACCOUNT, st.just("\n"), _lines(4)).map("".join)),
            st.tuples(
                st.just("F"),
                st.tuples(
                    st.sampled_from(["/DE89370400440532013000", "CUST/DE/X/1", "NIDN/FR/99"]),
                    st.just("\n"),
                    _party_lines(),
                ).map("".join),
            ),
        ),
        "institutions": st.lists(
            st.sampled_from(["52", "53", "54", "55", "56", "57"]).flatmap(
                lambda n: _institution({"52": "AD", "56": "ACD", "57": "ABCD"}.get(n, "ABD")).map(
                    lambda ov: (n + ov[0], ov[1])
                )
            ),
            max_size=4,
        ),
        "59": st.one_of(
            st.tuples(st.just(""), st.tuples(_ACCOUNT, st.just("\n"), _lines(4)).map("".join)),
            st.tuples(st.just("F"), _party_lines()),
        ),
        "70": _lines(4),
        "71A": st.sampled_from(["OUR", "SHA", "BEN", "XYZ"]),
        "71F": st.lists(st.tuples(_CCY, _AMOUNT).map("".join), max_size=2),
        "72": st.lists(
            st.tuples(
                st.sampled_from(["/INS/", "/ACC/", "/REC/", "/SVCLVL/", "//", ""]), _LINE
            ).map("".join),
            max_size=6,
        ).map("\n".join),
        "77B": _lines(3),
        "111": st.sampled_from(["001", "002", "999"]),
    }
)


@settings(max_examples=150)
@given(_FIELDS)
def test_valid_field_values_never_crash_the_mapper(values: dict[str, Any]) -> None:
    fields: list[tuple[str, str]] = [("20", values["20"]), ("13C", values["13C"])]
    fields += [("23B", values["23B"]), *(("23E", v) for v in values["23E"])]
    fields += [("26T", values["26T"]), ("32A", values["32A"]), ("33B", values["33B"])]
    fields += [("36", values["36"]), ("50" + values["50"][0], values["50"][1])]
    fields += values["institutions"]
    fields += [("59" + values["59"][0], values["59"][1]), ("70", values["70"])]
    fields += [("71A", values["71A"]), *(("71F", v) for v in values["71F"])]
    fields += [(tag, values[tag]) for tag in ("72", "77B") if values[tag]]
    msg = _msg(*fields, block3=(("111", values["111"]), ("121", "x")))
    result = apply(msg)
    [event] = result.events
    PaymentEvent.model_validate(event)
    for item in result.findings:
        assert item.code.startswith("mapping.")


# fmt: off
_ANY_TAGS = [
    "20", "21", "23B", "23E", "32A", "33B", "36", "50A", "50F", "50K", "52A", "52D", "53B",
    "56C", "57D", "58A", "59", "59F", "70", "71A", "71F", "71G", "72", "77B", "51A", "13C",
]
# fmt: on


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(st.sampled_from(_ANY_TAGS), st.text(alphabet=_X + "\n", max_size=120)),
        max_size=25,
    ),
    st.sampled_from(["fin.103", "fin.202", "fin.202.COV"]),
)
def test_arbitrary_text_never_crashes_the_mapper(
    fields: list[tuple[str, str]], message_id: str
) -> None:
    msg = _msg(*fields)
    mapping = REGISTRY.get(message_id)
    assert mapping is not None
    source = {"message_id": message_id, "payload_sha256": "0" * 64}
    result = map_mt(msg, mapping, seed="fuzz", source=source)
    [event] = result.events
    PaymentEvent.model_validate(event)


def test_sender_and_receiver_of_an_output_message() -> None:
    """Output form: the sender is block 2's MIR address, the receiver block 1's."""
    msg = message(FIXTURES / "mt" / "fin.103" / "valid" / "output_form_with_trailer.txt")
    result = apply(msg)
    event = result.events[0]
    app = msg.app_header
    assert app is not None and app.direction == "O"
    assert event["instructing_agent"]["bic"] == app.sender[:8] + app.sender[9:]
    assert result.locate(0, "instructing_agent.bic").mt_tag == "{2:}"
    assert result.locate(0, "instructed_agent.bic").mt_tag == "{1:}"
