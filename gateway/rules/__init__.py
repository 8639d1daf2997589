"""Business, scheme and tenant rules (DESIGN.md §2 "validate", layers 2-4).

Importing this package registers every check; :class:`PackRegistry` loads the
rule packs that configure them and :class:`RuleEngine` runs them.
"""

from gateway.rules import business, cbpr, codes, fednow, generic, sepa, tenant_rules
from gateway.rules.engine import BUSINESS_PACK, Locator, RuleEngine, RulesResult
from gateway.rules.model import CHECKS, CheckSpec, Header, Hit, Subject, Value, check
from gateway.rules.mx import mx_header, mx_values
from gateway.rules.packs import Match, Pack, PackRegistry, RuleDef, load_pack
from gateway.rules.reasons import STATUS_REASONS

__all__ = [
    "BUSINESS_PACK",
    "CHECKS",
    "STATUS_REASONS",
    "CheckSpec",
    "Header",
    "Hit",
    "Locator",
    "Match",
    "Pack",
    "PackRegistry",
    "RuleDef",
    "RuleEngine",
    "RulesResult",
    "Subject",
    "Value",
    "business",
    "cbpr",
    "check",
    "codes",
    "fednow",
    "generic",
    "load_pack",
    "mx_header",
    "mx_values",
    "sepa",
    "tenant_rules",
]
