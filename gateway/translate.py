"""Translation between SWIFT MT and ISO 20022 MX, hub and spoke (``isogw translate``).

Every translation goes through the canonical payment event (DESIGN.md §2: N formats
need 2N mappings, not N² translators)::

    source ──► Gateway.inbound ──► canonical event ──► target
               (detect, parse, validate,               MX: mapping file read backwards
                map: the source's mapping file)             + CBPR+ AppHdr (translate_mx)
                                                       MT: translate_mt / translate_parties

* **Pairs** (:data:`PAIRS`): MT 103 and 103 STP -> pacs.008.001.08; MT 202 and 202 COV
  -> pacs.009.001.08 (COV: with UndrlygCstmrCdtTrf); MT 940/950 -> camt.053.001.08;
  MT 900/910 -> camt.054.001.08; MT 192 -> camt.056.001.08; MT 196 -> camt.029.001.09
  (:mod:`gateway.translate_mx_cash`); pacs.008.001.08 -> MT 103 or MT 103 STP;
  pacs.009.001.08 -> MT 202, or MT 202 COV when it carries an underlying customer credit
  transfer; pacs.004.001.09 -> MT 103 / MT 202 RETN (:mod:`gateway.translate_return`;
  the return chain decides). Where two ids name a family (``--to fin.202`` /
  ``fin.202.COV``, ``fin.103`` / ``fin.202`` for a return) the content decides, and a
  variant other than the one asked for is reported ``translate.defaulted``. Anything
  else is :class:`TranslationUnsupported` (a usage error).
* **The source is validated first** (:meth:`gateway.pipeline.Gateway.inbound`, with
  the business rule pack): a rejected source is not translated; its report is the
  answer. Data the source carries that the canonical event does not (the source
  mapping's ``mapping.unmapped`` warnings) is lost in translation and reported
  ``translate.dropped`` at its place in the source. One transaction is translated; the
  further transactions of a multi-transaction pacs message are reported dropped.
* **Translation rules**: the CBPR+ MT <-> MX translation rules (SWIFT, SR 2025), as
  the module docstrings of :mod:`gateway.translate_mx`, :mod:`gateway.translate_mt`
  and :mod:`gateway.translate_parties` detail, with the code maps of
  ``mappings/fin/common/cbpr-plus.yaml`` read backwards (charge bearer, clearing
  system codes, gpi service levels).
* **Loss is never silent**: the translation report holds one finding per value that
  was truncated, replaced, dropped or defaulted (:mod:`gateway.translate_report`);
  in the MX -> MT direction every canonical value no MT field took is found by set
  difference and reported.
* **The output is validated** before it is returned: MX against the installed XSDs
  of the Document and of head.001.001.02 (and the gateway's own envelope detection),
  MT with :func:`gateway.mt.validate_mt_structure` and :func:`gateway.fin.validate_fin`
  (field formats, message structure, network rules). An invalid output is kept in
  :attr:`TranslationResult.output` for inspection; ``valid`` says it must not be sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from gateway.errors import ConfigError, GatewayError
from gateway.fin import validate_fin
from gateway.messages import MessageId
from gateway.mt import parse_mt, render_mt, validate_mt_structure
from gateway.pipeline import Gateway, RuleSelection
from gateway.report import Finding, Outcome, Report, Severity, finding
from gateway.translate_mt import MtCodes, render_mt_event
from gateway.translate_mx import element_path, render_mx_event
from gateway.translate_report import (
    LOSS_CODES,
    TRANSLATE_CODES,
    EventReader,
    Ledger,
    translate_finding,
)
from gateway.translate_return import is_return, render_return_event, return_target
from gateway.translate_text import Context
from gateway.xsdmodel import XsdModel

__all__ = [
    "PAIRS",
    "TRANSLATE_CODES",
    "TranslationOutcome",
    "TranslationResult",
    "TranslationUnsupported",
    "Translator",
]

#: Source message id -> the target message ids it translates to.
PAIRS: dict[str, tuple[str, ...]] = {
    "fin.103": ("pacs.008.001.08",),
    "fin.103.STP": ("pacs.008.001.08",),
    "fin.202": ("pacs.009.001.08",),
    "fin.202.COV": ("pacs.009.001.08",),
    "pacs.008.001.08": ("fin.103", "fin.103.STP"),
    "pacs.009.001.08": ("fin.202", "fin.202.COV"),
    "fin.940": ("camt.053.001.08",),
    "fin.950": ("camt.053.001.08",),
    "fin.900": ("camt.054.001.08",),
    "fin.910": ("camt.054.001.08",),
    "fin.192": ("camt.056.001.08",),
    "fin.196": ("camt.029.001.09",),
    "pacs.004.001.09": ("fin.103", "fin.202"),
}
TranslationOutcome = Literal["translated", "translated_with_loss", "invalid", "refused"]
_CODES_FILE = Path("fin") / "common" / "cbpr-plus.yaml"
_RETURN_CODES = ("/REJT/", "/RETN/")


class TranslationUnsupported(GatewayError):
    """The source cannot be translated into the requested message (a usage error)."""


@dataclass(slots=True)
class TranslationResult:
    """One translation: the source's report, the output and the translation report.

    ``target`` is the message id written (``fin.202.COV`` when ``requested`` was
    ``fin.202`` and the content is a cover payment); ``output`` is None when the source
    was refused or the target could not be written at all."""

    requested: str
    target: str
    source: Report
    translated_at: datetime
    output: bytes | None = None
    findings: list[Finding] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.source.outcome is Outcome.REJECTED

    @property
    def valid(self) -> bool:
        """An output exists and neither rendering nor validation found an error."""
        return self.output is not None and not any(
            f.severity is Severity.ERROR for f in self.findings
        )

    @property
    def lost(self) -> list[Finding]:
        """The findings that say data was lost (truncated, replaced, dropped)."""
        return [f for f in self.findings if f.code in LOSS_CODES]

    @property
    def outcome(self) -> TranslationOutcome:
        if self.refused:
            return "refused"
        if not self.valid:
            return "invalid"
        return "translated_with_loss" if self.lost else "translated"

    def report_json(self) -> dict[str, Any]:
        """The translation report (JSON-ready): source, target, outcome, findings; the
        source's full validation report when it was refused."""
        src = self.source
        report: dict[str, Any] = {
            "source": {
                "message_id": src.message_id,
                "envelope": src.envelope,
                "business_message_id": src.business_message_id,
                "outcome": src.outcome.value,
                "report_id": src.report_id,
                "payload_sha256": src.payload_sha256,
                "payload_size": src.payload_size,
            },
            "target": {"message_id": self.target, "requested": self.requested},
            "translated_at": self.translated_at.isoformat(),
            "outcome": self.outcome,
            "data_lost": bool(self.lost),
            "output_sha256": hashlib.sha256(self.output).hexdigest() if self.output else None,
            "findings": [f.model_dump(mode="json") for f in self.findings],
        }
        if self.refused:
            report["source_report"] = src.model_dump(mode="json")
        return report


def _reverse_codes(path: Path) -> tuple[dict[str, str], MtCodes]:
    """The MT -> canonical code maps of ``mappings/fin/common/cbpr-plus.yaml`` read
    backwards: ISO clearing system -> MT code; service level -> field 111; charge
    bearer -> 71A."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        codes = data["codes"]

        def backwards(name: str) -> dict[str, str]:
            return {str(v): str(k) for k, v in codes[name].items()}

        clearing = backwards("clearing_systems")
        mt = MtCodes(gpi=backwards("gpi_service_levels"), bearer=backwards("charge_bearer"))
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: cannot read the code maps 'codes': {exc}") from exc
    return clearing, mt


class Translator:
    """Translates messages with one :class:`~gateway.pipeline.Gateway`'s resources."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.clearing, self.codes = _reverse_codes(gateway.settings.mapping_dir / _CODES_FILE)
        #: XSD models of MX targets by schema sha256 (render plans are compiled per model)
        self._models: dict[str, XsdModel] = {}

    def translate(
        self, payload: bytes, to: str, *, now: datetime | None = None
    ) -> TranslationResult:
        """Translate one message (MT or MX, sniffed) into message ``to``; ``now`` is the
        translation time (written where the target needs a creation time). Raises
        :class:`TranslationUnsupported` for a pair outside :data:`PAIRS` and
        :class:`~gateway.errors.GatewayError` when the gateway cannot run."""
        now = now or datetime.now(UTC)
        try:
            requested = str(MessageId.parse(to))
        except ValueError as exc:
            raise TranslationUnsupported(f"--to: {exc}") from exc
        inbound = self.gateway.inbound(payload, rules=RuleSelection(), received_at=now)
        source_id = inbound.report.message_id
        result = TranslationResult(requested, requested, inbound.report, now)
        allowed = PAIRS.get(source_id or "", ())
        if source_id is not None and requested not in allowed:
            to_what = f"into {', '.join(allowed)}" if allowed else "into nothing"
            raise TranslationUnsupported(
                f"{source_id} translates {to_what} (not {requested}); supported: {_pairs_text()}"
            )
        if not inbound.accepted or not inbound.events or source_id is None:
            return result
        ledger = Ledger()
        result.events = inbound.events
        _source_losses(inbound.report, inbound.events, ledger)
        _headers(inbound.report, MessageId(requested).family, ledger)
        event = inbound.events[0]
        if MessageId(requested).family == "mx":
            refusal = _return_or_reject(event)
            if refusal is not None:
                result.findings = [*ledger.findings, refusal]
                return result
            mx = render_mx_event(
                event, requested, source_id, self.gateway, ledger, now, self._models
            )
            result.output = mx.xml
            result.findings = ledger.findings + mx.findings
            return result
        result.target = _mt_target(requested, event, ledger)
        text = self._write_mt(event, result.target, ledger, self._xpath_of(source_id))
        if text is None:
            result.findings = ledger.findings
            return result
        result.output = text.encode("utf-8")
        result.findings = ledger.findings + _check_mt(text)
        return result

    def render_mt(self, event: dict[str, Any], target: str) -> tuple[str | None, list[Finding]]:
        """An MT 103 / 103 STP / 202 / 202 COV (a return: 103/202 RETN) written from a
        canonical event (the outbound service's path): the text, or None, and the
        findings of writing (every value truncated, dropped or written by rule) and of
        validating it."""
        ledger = Ledger()
        actual = _mt_target(target, event, ledger)
        text = self._write_mt(event, actual, ledger, lambda path: None)
        if text is None:
            return None, ledger.findings
        return text, ledger.findings + _check_mt(text)

    def _write_mt(
        self,
        event: dict[str, Any],
        target: str,
        ledger: Ledger,
        xpath_of: Callable[[str], str | None],
    ) -> str | None:
        ctx = Context(EventReader(event), ledger, self.clearing, xpath_of)
        render = render_return_event if is_return(event) else render_mt_event
        message = render(ctx, target, self.codes)
        if message is None:
            return None
        for path, value in ctx.reader.leftovers():
            rule = f"no field of {target} carries it"
            ledger.dropped(path, rule, value=value, xpath=xpath_of(path))
        return render_mt(message)

    def _xpath_of(self, source_id: str) -> Callable[[str], str | None]:
        mapping = self.gateway.mappings.get(source_id)
        if mapping is None:
            return lambda path: None
        return lambda path: element_path(mapping, path)


def _check_mt(text: str) -> list[Finding]:
    """Block structure, field formats, message definition and network rules of ``text``."""
    parsed = parse_mt(text)
    checks = validate_mt_structure(parsed)
    if parsed.user_message is not None:
        checks += validate_fin(parsed.user_message)
    return checks


def _return_or_reject(event: dict[str, Any]) -> Finding | None:
    """CBPR+ MT -> MX precondition (PREC002, error T20063): an MT 103/202 whose 72
    starts a line with ``/REJT/`` or ``/RETN/`` is a reject or return; it is not
    translated into a pacs.008/009 (a pacs.004 or pacs.002 carries it)."""
    for item in event.get("instructions_for_next_agent") or []:
        info = str(item.get("information") or "")
        if info.startswith(_RETURN_CODES):
            return finding(
                "mapping.invalid_value",
                f"72 {info[:6]}: a reject or return is not translated into a credit "
                "transfer (CBPR+ translation precondition, T20063).",
                mt_tag=":72:",
                context={"rule": "PREC002", "swift_error": "T20063"},
            )
    return None


def _pairs_text() -> str:
    return "; ".join(f"{s} -> {' | '.join(t)}" for s, t in PAIRS.items())


def _mt_target(requested: str, event: dict[str, Any], ledger: Ledger) -> str:
    """The MT 202 variant the content calls for (COV with an underlying transfer); for
    a return, the MT 103 / 202 family its return chain calls for."""
    if is_return(event):
        return return_target(requested, event, ledger)
    if not requested.startswith("fin.202"):
        return requested
    cover = bool(event.get("underlying_customer_transfer"))
    actual = "fin.202.COV" if cover else "fin.202"
    if actual != requested:
        rule = (
            "the pacs.009 carries an underlying customer credit transfer (pacs.009 COV)"
            if cover
            else "the pacs.009 carries no underlying customer credit transfer"
        )
        ledger.defaulted("{3:119}", "COV" if cover else "(none)", rule, mt_tag="{3:119}")
    return actual


def _headers(report: Report, family: str, ledger: Ledger) -> None:
    """The source's own message header, replaced by the target's (not payment data)."""
    envelope = report.envelope or ""
    if family == "mt" and "AppHdr" in envelope:
        rule = "the business application header is the MX message's own; blocks 1-3 replace it"
        ledger.regenerated("AppHdr", rule, xpath="/AppHdr")
    elif family == "mx":
        rule = "the FIN headers (blocks 1, 2) are the MT message's own; the AppHdr replaces them"
        ledger.regenerated("{1:}{2:}", rule, mt_tag="{2:}")


def _source_losses(report: Report, events: list[dict[str, Any]], ledger: Ledger) -> None:
    """What the source carries that the canonical event does not, and transactions
    beyond the first: lost in translation."""
    for item in report.findings:
        if item.code != "mapping.unmapped":
            continue
        loc = item.location
        where = loc.mt_tag or loc.xpath or "?"
        message = f"{where}: not carried by the canonical event, so not translated ({item.message})"
        context = {
            **item.context,
            "field": where,
            "rule": "the canonical event has no field for it (source mapping)",
        }
        ledger.add(
            translate_finding(
                "translate.dropped",
                message,
                xpath=loc.xpath,
                mt_tag=loc.mt_tag,
                line=loc.line,
                context=context,
            )
        )
    for index in range(1, len(events)):
        ledger.dropped(
            f"transaction[{index}]",
            "one transaction per translation (CBPR+: one per message); only the first is "
            "translated",
        )
