"""Run rule packs over a :class:`Subject`: every applicable rule, every hit, one pass.

The business pack judges every message. Scheme packs judge a message when named
explicitly (``--pack``) or when the tenant lists them and the pack's ``match``
holds for the message. The tenant's own rules come last. Each rule that fails
yields Findings whose ``code`` and ``rule`` are the rule id, with the layer, ISO
reason and severity the pack gives it and the pack and version in ``context``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from gateway.report import Finding, Location, SchemaUse, Severity
from gateway.rules.model import CHECKS, CheckFn, Hit, Subject
from gateway.rules.packs import Condition, Pack, PackRegistry, RuleDef

__all__ = [
    "BUSINESS_PACK",
    "Locator",
    "RuleEngine",
    "RuleSelection",
    "RulesResult",
    "element_location",
]

#: The pack every message is judged by.
BUSINESS_PACK = "business"
#: Hits per rule listed in a report; the rest are counted in the last one's context.
MAX_HITS_PER_RULE = 100

#: (event index, dotted canonical field) -> where the field was read from: the element
#: (MX), or a :class:`Location` (MT: the tag and line of the field).
Locator = Callable[[int, str], "etree._Element | Location | None"]


@dataclass(frozen=True, slots=True)
class RuleSelection:
    """Which rules judge a message, beyond the business pack every message gets.

    ``packs``: named explicitly (``isogw validate --pack``): applied to every message
    they cover. ``tenant_packs``: the tenant's packs, applied where their ``match``
    holds. ``tenant_rules``: the tenant's own rules as a pack (layer ``tenant``).
    ``overrides``: rule id -> parameters replacing the pack's (a tenant's own limit
    for a network rule). ``spent``: the tenant's running per-day totals
    (:attr:`Subject.spent`).
    """

    packs: tuple[str, ...] = ()
    tenant_packs: tuple[str, ...] = ()
    tenant_rules: Pack | None = None
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    spent: Callable[[date, str], Decimal] | None = None


@dataclass(slots=True)
class RulesResult:
    findings: list[Finding] = field(default_factory=list)
    applied: list[SchemaUse] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def element_location(element: etree._Element) -> Location:
    """Line and readable path (relative to the Document or AppHdr, as schema findings)."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = _local(node.tag) if isinstance(node.tag, str) else "?"
        parent = node.getparent()
        if parent is not None and name not in ("Document", "AppHdr"):
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        if name in ("Document", "AppHdr") or parent is None:
            break
        node = parent
    return Location(line=element.sourceline, xpath="/" + "/".join(reversed(steps)))


def _matches(pack: Pack, subject: Subject) -> bool:
    match = pack.match
    if not _holds(match, subject, every=True):
        return False
    return match.unless is None or not _holds(match.unless, subject, every=False)


def _holds(condition: Condition, subject: Subject, *, every: bool) -> bool:
    """Whether every (or, with ``every=False``, any) key given in ``condition`` holds."""
    results: list[bool] = []
    if condition.channel:
        results.append(subject.channel in condition.channel)
    if condition.business_service:
        service = subject.header.business_service if subject.header else None
        prefixes = tuple(condition.business_service)
        results.append(service is not None and service.startswith(prefixes))
    for key, wanted in (
        ("clearing_system", condition.clearing_system),
        ("service_level", condition.service_level),
        ("local_instrument", condition.local_instrument),
    ):
        if wanted:
            results.append(any(v in wanted for v in _event_codes(subject, key)))
    return all(results) if every else any(results)


def _codes(item: Any) -> Iterable[str]:
    if isinstance(item, dict):
        for key in ("code", "proprietary"):
            if isinstance(item.get(key), str):
                yield item[key]


def _event_codes(subject: Subject, key: str) -> set[str]:
    found: set[str] = set()
    for event in subject.events:
        if key == "clearing_system":
            found.update(_codes((event.get("settlement") or {}).get("clearing_system")))
            continue
        payment_type = event.get("payment_type") or {}
        if key == "service_level":
            for level in payment_type.get("service_level") or []:
                found.update(_codes(level))
        else:
            found.update(_codes(payment_type.get("local_instrument")))
    return found


#: A pack's rules in force on a day for a message id, with their check and severity.
Active = tuple[tuple[RuleDef, CheckFn, Severity], ...]
_COMPILED: dict[tuple[int, date, str | None], tuple[Pack, SchemaUse, Active]] = {}
_COMPILED_LIMIT = 4096


def _compiled(pack: Pack, on: date, message_id: str | None) -> tuple[SchemaUse, Active]:
    """How ``pack`` judges a message of ``message_id`` dated ``on``: its use (for the
    report) and its rules in force that apply, in pack order. Packs are immutable, so
    this is worked out once per pack, day and message id."""
    key = (id(pack), on, message_id)
    cached = _COMPILED.get(key)
    if cached is not None and cached[0] is pack:
        return cached[1], cached[2]
    use = SchemaUse(
        kind="rule_pack", id=pack.pack, origin=pack.origin, sha256=pack.sha256, version=pack.version
    )
    active = tuple(
        (rule, CHECKS[rule.check].fn, rule.severity_for(message_id))
        for rule in pack.rules
        if rule.in_force(on) and rule.applies_to(message_id)
    )
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()
    _COMPILED[key] = (pack, use, active)
    return use, active


class RuleEngine:
    def __init__(self, packs: PackRegistry) -> None:
        self.packs = packs

    def run(
        self, subject: Subject, selection: RuleSelection, locate: Locator | None = None
    ) -> RulesResult:
        """Select the packs for ``subject`` and judge it."""
        packs = self.select(
            subject,
            explicit=selection.packs,
            tenant_packs=selection.tenant_packs,
            tenant_rules=selection.tenant_rules,
        )
        return self.judge(subject, packs, locate, overrides=selection.overrides)

    def select(
        self,
        subject: Subject,
        *,
        explicit: Sequence[str] = (),
        tenant_packs: Sequence[str] = (),
        tenant_rules: Pack | None = None,
    ) -> list[Pack]:
        """The pack versions that judge ``subject``, in the order they run."""
        on = subject.message_date
        chosen: list[Pack] = []
        names: list[tuple[str, bool]] = [(BUSINESS_PACK, True)]
        names += [(name, True) for name in explicit]
        names += [(name, False) for name in tenant_packs if name not in explicit]
        for name, forced in names:
            if name not in self.packs.by_name and name == BUSINESS_PACK:
                continue
            pack = self.packs.resolve(name, on)
            if not pack.covers(subject.message_id):
                continue
            if forced or _matches(pack, subject):
                chosen.append(pack)
        if tenant_rules is not None and tenant_rules.covers(subject.message_id):
            chosen.append(tenant_rules)
        return chosen

    def judge(
        self,
        subject: Subject,
        packs: Sequence[Pack],
        locate: Locator | None = None,
        *,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> RulesResult:
        """Run every rule of ``packs`` in force on the message date.

        ``overrides[rule_id]``: parameters that replace the pack's (a tenant's own
        limit for a network rule, for instance)."""
        result = RulesResult()
        on = subject.message_date
        for pack in packs:
            use, active = _compiled(pack, on, subject.message_id)
            result.applied.append(use)
            for rule, fn, severity in active:
                params = rule.params
                extra = overrides.get(rule.id) if overrides else None
                if extra:
                    params = {**params, **extra}
                made = 0
                for hit in fn(subject, params):
                    made += 1
                    if made > MAX_HITS_PER_RULE:
                        continue
                    result.findings.append(self._finding(pack, rule, hit, severity, locate))
                if made > MAX_HITS_PER_RULE:
                    last = result.findings[-1]
                    context = {**last.context, "more_hits": made - MAX_HITS_PER_RULE}
                    result.findings[-1] = last.model_copy(update={"context": context})
        return result

    @staticmethod
    def _finding(
        pack: Pack, rule: RuleDef, hit: Hit, severity: Severity, locate: Locator | None
    ) -> Finding:
        location = Location(xpath=hit.xpath, mt_tag=hit.mt_tag, line=hit.line)
        found: etree._Element | Location | None = hit.element
        if found is None and hit.event is not None and hit.field and locate is not None:
            found = locate(hit.event, hit.field)
        if isinstance(found, Location):
            location = found
        elif found is not None:
            location = element_location(found)
        context: dict[str, Any] = {"pack": pack.pack, "pack_version": pack.version}
        if hit.event is not None:
            context["transaction_index"] = hit.event
        if hit.field:
            context["field"] = hit.field
        context.update(hit.context)
        return Finding(
            code=rule.id,
            severity=severity,
            layer=pack.layer,
            location=location,
            message=hit.message,
            iso_reason=rule.iso_reason,
            rule=rule.id,
            context=context,
        )
