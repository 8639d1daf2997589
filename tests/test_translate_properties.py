"""Property-based round trips of translation (gateway.translate), hub and spoke.

* **MT 103 -> pacs.008.001.08 -> MT 103 keeps every field MT can carry.** Valid MT 103
  and MT 103 STP messages are generated from the field formats of :mod:`gateway.fin`
  (typed values - :class:`Party`, :class:`Amount`, :class:`Code`, :class:`Text` - written
  by :func:`render_field`, network rules respected by construction); each is
  translated to pacs.008 (which must be valid and lose nothing) and back, and the
  typed fields of both MT messages are compared, allowing only the documented
  normalisations (:func:`normalised`): 52a/57a naming the sender/receiver are implied
  by the header, 70 and 72 lines are re-broken (MT reads them joined), 72 code words
  come in a fixed order, 50F/59F without a country and town (and 50F without
  identifiers) become 50K/59, 23B is ``CRED``.
* **pacs.008 -> MT 103 -> pacs.008 keeps what MT can carry and reports the rest.** The
  canonical event of such an MT 103 is extended with data MT has no field for (an
  ultimate debtor, a second intermediary, a purpose code, structured remittance, a
  long instruction id, an LEI, text outside the X set), rendered into a pacs.008
  (:func:`map_outbound`), and translated to MT 103 and back: every canonical value of
  the source that does not come back must be named by a finding of the first
  translation (truncated, replaced, dropped, regenerated) or be a documented
  normalisation.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.fin.fields import Amount, Code, Party, Rate, Text, parse_field, render_field
from gateway.fin.mapping_parts import words_of
from gateway.fin.network import EU_EEA_33B
from gateway.mapping import map_outbound, render_xml
from gateway.mt import MtMessage, parse_mt, render_mt
from gateway.mt_fields import AppHeader, BasicHeader, Field, TagBlock, TagValue, TextBlock
from gateway.pipeline import Gateway
from gateway.translate import Translator
from gateway.translate_mx import enrich
from gateway.translate_report import IDENTITY, Ledger
from gateway.xsdmodel import XsdModel

# ----------------------------------------------------------------- building blocks

_WORD = st.from_regex(r"[A-Z][A-Z0-9]{0,8}", fullmatch=True)


def _line(max_size: int = 35) -> st.SearchStrategy[str]:
    """Words of X characters separated by single spaces, at most ``max_size`` long."""
    return (
        st.lists(_WORD, min_size=1, max_size=6)
        .map(" ".join)
        .map(lambda s: s[:max_size].strip())
        .filter(lambda s: bool(s) and s != "NOTPROVIDED")
    )


_ACCOUNT = st.from_regex(r"[0-9]{6,12}", fullmatch=True)
_IBAN = st.sampled_from(
    ["DE89370400440532013000", "FR7630006000011234567890189", "GB29NWBK60161331926819"]
)
_BICS = ("DEUTDEFFXXX", "BNPAFRPPXXX", "NWBKGB2LXXX", "CHASUS33XXX", "BOTKJPJTXXX", "DBSSSGSGXXX")
_AGENT_BIC = st.sampled_from(["COBADEFFXXX", "BARCGB22XXX", "CITIUS33XXX", "SOGEFRPPXXX"])
_CCY = st.sampled_from(["EUR", "USD", "GBP", "JPY", "CHF"])
_DECIMALS = {"JPY": 0}
_COUNTRY = st.sampled_from(["DE", "FR", "GB", "US", "JP"])
_CLEARING = st.sampled_from(["//FW021000021", "//SC200000", "//AT19043"])


def _amount(currency: str) -> st.SearchStrategy[str]:
    decimals = _DECIMALS.get(currency, 2)
    whole = st.integers(min_value=1, max_value=10**9).map(str)
    if decimals == 0:
        return whole
    fraction = st.from_regex(rf"[0-9]{{1,{decimals}}}", fullmatch=True)
    return st.tuples(whole, st.one_of(st.just(""), fraction)).map(
        lambda t: f"{t[0]}.{t[1]}" if t[1] else t[0]
    )


@st.composite
def _customer(draw: st.DrawFn, number: str, stp: bool) -> Field:
    """50a (A, F, K) or 59a (no letter, A, F)."""
    option = draw(st.sampled_from(["A", "F", "K"] if number == "50" else ["A", "F", ""]))
    required = number == "59" and stp  # MT 103 STP: 59a carries an account
    account = draw(
        st.one_of(_ACCOUNT, _IBAN) if required else st.one_of(st.none(), _ACCOUNT, _IBAN)
    )
    if option == "A":
        tag = f"{number}A"
        return Field(tag, render_field(tag, Party(account=account, bic=draw(_AGENT_BIC))))
    if option in ("K", ""):
        tag = f"{number}{option}"
        lines = draw(st.lists(_line(), min_size=1, max_size=4))
        return Field(tag, render_field(tag, Party(account=account, name_address=tuple(lines))))
    tag = f"{number}F"
    lines: list[tuple[str, str]] = [
        ("1", n) for n in draw(st.lists(_line(33), min_size=1, max_size=2))
    ]
    room = 4 - len(lines)
    identifier: str | None = None
    town = draw(st.booleans()) if number == "50" else True
    if town:
        streets = draw(st.lists(_line(33), max_size=room - 1))
        lines += [("2", s) for s in streets]
        lines.append(("3", f"{draw(_COUNTRY)}/{draw(_line(30))}"))
    elif number == "50" and room >= 2 and draw(st.booleans()):
        date = draw(st.dates(min_value=dt.date(1940, 1, 1)))
        lines += [("4", date.strftime("%Y%m%d")), ("5", f"{draw(_COUNTRY)}/{draw(_line(30))}")]
    elif number == "50":
        lines.append(
            ("7", f"{draw(_COUNTRY)}/{draw(st.from_regex(r'[0-9]{5,12}', fullmatch=True))}")
        )
    if number == "50" and account is None:
        identifier = f"NIDN/{draw(_COUNTRY)}/{draw(st.from_regex(r'[0-9]{5,20}', fullmatch=True))}"
    party = Party(account=account, party_identifier=identifier, structured=tuple(lines))
    if number == "59":
        party = Party(account=account, structured=tuple(lines))
    return Field(tag, render_field(tag, party))


@st.composite
def _institution(draw: st.DrawFn, number: str, options: str, rtgs: bool = False) -> Field:
    option = draw(st.sampled_from(list(options)))
    tag = f"{number}{option}"
    if option == "A":
        ident = draw(st.one_of(st.none(), _ACCOUNT, _CLEARING.map(lambda c: c[1:])))
        if rtgs:
            ident = "/RT"
        return Field(tag, render_field(tag, Party(account=ident, bic=draw(_AGENT_BIC))))
    if option == "B":
        return Field(tag, render_field(tag, Party(account=draw(_ACCOUNT))))
    if option == "C":
        return Field(tag, render_field(tag, Party(account=draw(_CLEARING)[1:])))
    ident = draw(st.one_of(st.none(), _ACCOUNT, _CLEARING.map(lambda c: c[1:])))
    lines = draw(st.lists(_line(), min_size=1, max_size=4))
    return Field(tag, render_field(tag, Party(account=ident, name_address=tuple(lines))))


@st.composite
def _words72(draw: st.DrawFn, catpurp: bool) -> list[tuple[str, str]]:
    words: list[tuple[str, str]] = []
    if draw(st.booleans()):
        words.append(("INS", draw(st.one_of(_AGENT_BIC, _line(30)))))
    if draw(st.booleans()):
        words.append(("ACC", draw(_line(60))))
    if draw(st.booleans()):
        words.append(("SVCLVL", draw(st.sampled_from(["URGP", "NURG"]))))
    if catpurp and draw(st.booleans()):
        words.append(("CATPURP", draw(st.sampled_from(["SUPP", "TREA"]))))
    if draw(st.booleans()):
        words.append(("REC", draw(_line(60))))
    return words


def _lines72(words: list[tuple[str, str]]) -> list[str]:
    lines: list[str] = []
    for code, text in words:
        head = f"/{code}/"
        first = 35 - len(head)
        lines.append(head + text[:first])
        rest = text[first:]
        lines += ["//" + rest[i : i + 33] for i in range(0, len(rest), 33)]
    return lines


@st.composite
def mt103(draw: st.DrawFn) -> bytes:
    """A valid MT 103 or MT 103 STP (see module docstring)."""
    stp = draw(st.booleans())
    sender, receiver = draw(st.lists(st.sampled_from(_BICS), min_size=2, max_size=2, unique=True))
    fields: list[Field] = [
        Field("20", draw(st.from_regex(r"[A-Z0-9]{1,4}-[A-Z0-9]{1,10}", fullmatch=True)))
    ]
    fields.append(Field("23B", "CRED"))
    codes: list[Code] = []
    if draw(st.booleans()):
        codes.append(Code("SDVA"))
    purpose = draw(st.sampled_from([None, "INTC", "CORT"]))
    if purpose:
        codes.append(Code(purpose))
    if not stp and not purpose and not codes and draw(st.booleans()):
        codes.append(Code("HOLD", draw(st.one_of(st.none(), _line(30)))))
    if not stp and draw(st.booleans()):
        codes.append(Code(draw(st.sampled_from(["PHOB", "TELB"])), draw(_line(30))))
    fields += [Field("23E", render_field("23E", c)) for c in codes]
    if draw(st.booleans()):
        fields.append(Field("26T", draw(st.from_regex(r"[A-Z0-9]{3}", fullmatch=True))))
    ccy = draw(_CCY)
    date = draw(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)))
    settled = draw(_amount(ccy))
    fields.append(Field("32A", render_field("32A", Amount(ccy, settled, date.isoformat()))))
    bearer = draw(st.sampled_from(["OUR", "SHA", "BEN"]))
    charges: list[Field] = []
    if bearer == "OUR" and draw(st.booleans()):
        charges.append(Field("71G", render_field("71G", Amount(ccy, draw(_amount(ccy))))))
    elif bearer in ("SHA", "BEN"):
        n = draw(st.integers(min_value=1 if bearer == "BEN" else 0, max_value=2))
        for _ in range(n):
            c = draw(_CCY)
            charges.append(Field("71F", render_field("71F", Amount(c, draw(_amount(c))))))
    eu = sender[4:6] in EU_EEA_33B and receiver[4:6] in EU_EEA_33B
    if eu or charges or draw(st.booleans()):
        ccy33 = draw(st.one_of(st.just(ccy), _CCY))
        fields.append(Field("33B", render_field("33B", Amount(ccy33, draw(_amount(ccy33))))))
        if ccy33 != ccy:
            rate = draw(st.from_regex(r"[1-9][0-9]{0,3}\.[0-9]{1,6}", fullmatch=True))
            fields.append(Field("36", render_field("36", Rate(rate))))
    fields.append(draw(_customer("50", stp)))
    if draw(st.booleans()):
        fields.append(draw(_institution("52", "A" if stp else "AD")))
    if draw(st.booleans()):
        fields.append(draw(_institution("53", "AB" if stp else "ABD")))
    rtgs = not stp and draw(st.booleans())
    if rtgs or draw(st.booleans()):
        fields.append(draw(_institution("56", "A" if stp else "ACD", rtgs=rtgs)))
        fields.append(draw(_institution("57", "A" if stp else "ACD")))
    elif draw(st.booleans()):
        fields.append(draw(_institution("57", "A" if stp else "ACD")))
    fields.append(draw(_customer("59", stp)))
    remittance: list[str] = []
    if draw(st.booleans()):
        remittance.append(
            "/ROC/" + draw(st.from_regex(r"[A-Z0-9]{1,10}-[A-Z0-9]{1,10}", fullmatch=True))
        )
    remittance += draw(st.lists(_line(), max_size=4 - len(remittance)))
    if remittance:
        fields.append(Field("70", render_field("70", Text("\n".join(remittance)))))
    fields.append(Field("71A", bearer))
    fields += charges
    words = draw(_words72(catpurp=not purpose))
    if words:
        fields.append(Field("72", "\n".join(_lines72(words)[:6])))
    if draw(st.booleans()):
        fields.append(Field("77B", "\n".join(draw(st.lists(_line(), min_size=1, max_size=3)))))
    block3 = [TagValue("119", "STP")] if stp else []
    if draw(st.booleans()):
        block3.append(TagValue("111", "001"))
    uuid = draw(st.uuids(version=4))
    block3.append(TagValue("121", str(uuid)))
    message = MtMessage(
        (
            BasicHeader("F", "01", sender[:8] + "A" + sender[8:]),
            AppHeader("I", "103", receiver=receiver[:8] + "X" + receiver[8:], priority="N"),
            TagBlock("3", tuple(block3)),
            TextBlock(tuple(fields)),
        )
    )
    return render_mt(message).encode()


# ----------------------------------------------------------------- comparison


def _fields(data: bytes) -> tuple[MtMessage, list[Field]]:
    user = parse_mt(data).user_message
    assert user is not None and user.text is not None
    return user, list(user.text.fields)


def _party(field: Field) -> tuple[Any, ...]:
    p = parse_field(field.tag, field.value)
    assert isinstance(p, Party), field
    details = tuple((n, d) for n, d in p.structured if n in "4567")
    return (
        p.account,
        p.bic,
        p.name,
        p.address_lines,
        p.country,
        p.town,
        p.party_identifier,
        details,
    )


def normalised(message: MtMessage, fields: list[Field]) -> dict[str, Any]:
    """The typed content of an MT 103 with the documented normalisations applied."""
    b1, b2 = message.basic_header, message.app_header
    assert b1 is not None and b2 is not None
    sender, receiver = b1.lt_address[:8] + b1.lt_address[9:], b2.receiver[:8] + b2.receiver[9:]
    out: dict[str, Any] = {"sender": sender, "receiver": receiver, "block3": {}}
    b3 = message.user_header
    for item in b3.items if b3 is not None else ():
        out["block3"][item.tag] = item.value
    tags = {f.number for f in fields}
    for f in fields:
        number = f.number
        if number == "23" and f.tag == "23B":
            continue
        if number in ("50", "59"):
            out[number] = _party(f)
        elif number in ("52", "57") and f.option == "A":
            p = parse_field(f.tag, f.value)
            assert isinstance(p, Party)
            header = sender if number == "52" else receiver
            if p.account is None and p.bic == header and (number == "52" or "56" not in tags):
                continue  # implied by the header
            out[number] = (f.tag, f.value)
        elif number == "70":
            out["70"] = "".join(f.value.split("\n"))
        elif number == "72":
            out["72"] = sorted((w.code or "", w.text) for w in words_of(f.value))
        else:
            typed = parse_field(f.tag, f.value) if f.tag not in ("20",) else f.value
            out.setdefault(f.tag, []).append(repr(typed))
    return out


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, sub in value.items():
            if prefix or key not in IDENTITY:
                out.update(_leaves(sub, f"{prefix}.{key}" if prefix else key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for index, sub in enumerate(value):
            out.update(_leaves(sub, f"{prefix}[{index}]"))
    elif value not in (None, "", [], {}):
        out[prefix] = value
    return out


# ----------------------------------------------------------------- the properties


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(data=mt103())
def test_mt103_to_pacs008_to_mt103_keeps_every_field(gateway: Gateway, data: bytes) -> None:
    translator = Translator(gateway)
    there = translator.translate(data, "pacs.008.001.08")
    assert there.source.outcome.value != "rejected", [
        (f.code, f.message) for f in there.source.findings if f.severity.value == "error"
    ]
    assert there.valid, [(f.code, f.message) for f in there.findings]
    assert not there.lost, [(f.code, f.message) for f in there.lost]
    message, fields = _fields(data)
    target = str(message.message_id)
    back = translator.translate(there.output or b"", target)
    assert back.valid, [(f.code, f.message) for f in back.findings]
    assert not back.lost, [(f.code, f.message) for f in back.lost]
    assert back.target == target
    again, again_fields = _fields(back.output or b"")
    assert normalised(again, again_fields) == normalised(message, fields)


_LOSSY = st.fixed_dictionaries(
    {},
    optional={
        "ultimate_debtor": st.just({"name": "ULTIMATE DEBTOR HOLDING"}),
        "intermediary_agent_2": st.just({"bic": "CHASUS33XXX"}),
        "purpose": st.just({"code": "GDDS"}),
        "remittance_structured": st.just(
            [{"creditor_reference": {"reference": "RF18539007547034"}}]
        ),
        "long_instruction_id": st.just("INSTRUCTION-ID-LONGER-THAN-16"),
        "lei": st.just("529900T8BM49AURSDO55"),
        "accented_name": st.just("Société Générale d'Équipement"),
        "transaction_id": st.just("TX-0001"),
    },
)


def _extend(event: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    """``event`` with the ``extras`` that fit it (an LEI only for an organisation)."""
    out: dict[str, Any] = json.loads(json.dumps(event))
    for key in ("ultimate_debtor", "intermediary_agent_2", "purpose"):
        if key in extras:
            out[key] = extras[key]
    if "remittance_structured" in extras:
        out.setdefault("remittance", {})["structured"] = extras["remittance_structured"]
    if "long_instruction_id" in extras:
        out["ids"]["instruction_id"] = extras["long_instruction_id"]
    if "transaction_id" in extras:
        out["ids"]["transaction_id"] = extras["transaction_id"]
    ident = out["debtor"].get("identification") or {}
    if "lei" in extras and not (ident.get("birth") or ident.get("private_other")):
        out["debtor"]["identification"] = {**ident, "lei": extras["lei"]}  # OrgId xor PrvtId
    if "accented_name" in extras:
        out["debtor"]["name"] = extras["accented_name"]
    return out


def _reported(path: str, findings: list[Any]) -> bool:
    """A finding of the translation names ``path`` (or a part of it)."""
    plain = re.sub(r"\[\d+\]", "", path)
    for f in findings:
        named = str(f.context.get("field", ""))
        for candidate in (named, re.sub(r"\[\d+\]", "", named)):
            if candidate and (path.startswith(candidate) or plain.startswith(candidate)):
                return True
    return False


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=mt103(), extras=_LOSSY)
def test_pacs008_to_mt103_to_pacs008_keeps_or_reports(
    gateway: Gateway, data: bytes, extras: dict[str, Any]
) -> None:
    translator = Translator(gateway)
    inbound = gateway.inbound(data)
    assert inbound.accepted and inbound.events
    mapping = gateway.mappings.get("pacs.008.001.08")
    entry = gateway.schemas.get("pacs.008.001.08")
    assert mapping is not None and entry is not None
    now = dt.datetime(2025, 6, 10, 8, 15, tzinfo=dt.UTC)
    plain = enrich(inbound.events[0], "fin.103", mapping, Ledger(), now)
    event = _extend(plain, extras)
    rendered = map_outbound([event], mapping, XsdModel.load(entry.path))
    source = render_xml(rendered.document)
    source_in = gateway.inbound(source)
    assert source_in.accepted, [(f.code, f.message) for f in source_in.report.findings]
    there = translator.translate(source, "fin.103")
    assert there.valid, [(f.code, f.message) for f in there.findings]
    back = translator.translate(there.output or b"", "pacs.008.001.08")
    assert back.valid, [(f.code, f.message) for f in back.findings]
    final = gateway.inbound(back.output or b"")
    assert final.accepted
    before, after = _leaves(source_in.events[0]), _leaves(final.events[0])
    e2e = before.get("ids.end_to_end_id")
    for path, value in before.items():
        if after.get(path) == value or _reported(path, there.findings):
            continue
        if path.startswith("remittance.unstructured") and e2e and e2e != "NOTPROVIDED":
            assert after[path] == [f"/ROC/{e2e}" + "".join(value)]  # 70 /ROC/ (CBPR+)
            continue
        if path == "debtor.name":  # 50F name lines re-joined with a space
            assert str(after[path]).replace(" ", "") == str(value).replace(" ", "")
            continue
        raise AssertionError(f"{path}: {value!r} came back as {after.get(path)!r}, unreported")
    assert bool(there.lost) == (event != plain), [(f.code, f.message) for f in there.lost]
