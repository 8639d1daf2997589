"""Canonical payment event, version 1.

One event per transaction (per statement or notification for account reports),
whatever format it came in. The building blocks are in :mod:`gateway.events_parts`,
the cash-management and exception parts (statements, cases, original references,
reasons) in :mod:`gateway.events_cash`; all are re-exported here. Field names are
format-neutral English; their meaning is ISO 20022's (the element each field
corresponds to in pacs.008/pain.001 is given in its description). Every field is
optional except the event's identity (``event_id``, ``event_type``,
``schema_version``, ``source``): a mapping fills what the message carries and
reports what it requires but could not find — it never invents a value.

Amounts are decimal strings with their ISO 4217 currency. Dates are ISO 8601
strings exactly as the message gave them (no time-zone guessing).

The JSON Schema of :class:`PaymentEvent` is committed at
``schemas/canonical/payment-event.v1.json``; a test fails when it drifts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.events_cash import (
    AccountReport,
    Balance,
    BankTransactionCode,
    CaseInfo,
    Entry,
    EntryDetail,
    OriginalReferences,
    PaymentStatus,
    StatusReason,
)
from gateway.events_parts import (
    Account,
    Agent,
    Amount,
    Amounts,
    Charge,
    ClearingMember,
    CodeOrProprietary,
    Contact,
    CreditorReference,
    DateAndPlaceOfBirth,
    Dates,
    GenericId,
    GroupHeader,
    Identifiers,
    InstructionForAgent,
    Party,
    PartyId,
    PaymentInformation,
    PaymentType,
    PostalAddress,
    Proxy,
    ReferredDocument,
    RegulatoryDetail,
    RegulatoryReport,
    Remittance,
    Settlement,
    StructuredRemittance,
    UnderlyingCustomerTransfer,
    _Model,
)

__all__ = [
    "SCHEMA_VERSION",
    "Account",
    "AccountReport",
    "Agent",
    "Amount",
    "Amounts",
    "Balance",
    "BankTransactionCode",
    "CaseInfo",
    "Charge",
    "ClearingMember",
    "CodeOrProprietary",
    "Contact",
    "CreditorReference",
    "DateAndPlaceOfBirth",
    "Dates",
    "Entry",
    "EntryDetail",
    "GenericId",
    "GroupHeader",
    "Identifiers",
    "InstructionForAgent",
    "OriginalReferences",
    "Party",
    "PartyId",
    "PaymentEvent",
    "PaymentInformation",
    "PaymentStatus",
    "PaymentType",
    "PostalAddress",
    "Proxy",
    "ReferredDocument",
    "RegulatoryDetail",
    "RegulatoryReport",
    "Remittance",
    "Settlement",
    "SourceInfo",
    "StatusReason",
    "StructuredRemittance",
    "UnderlyingCustomerTransfer",
    "json_schema",
]

SCHEMA_VERSION: Literal["1"] = "1"


class SourceInfo(_Model):
    """Where the event came from (identity: always present)."""

    message_id: str = Field(description="MessageId of the source message, e.g. pacs.008.001.08.")
    business_message_id: str | None = Field(default=None, description="GrpHdr/MsgId.")
    payload_sha256: str
    transaction_index: int = Field(ge=0, description="0-based position in the message.")
    envelope: str | None = None
    mapping: str | None = Field(default=None, description="Mapping file id and version.")


class PaymentEvent(_Model):
    """One transaction of a payment message, in canonical form (version 1)."""

    event_id: str = Field(description="Stable id: the same message always yields the same ids.")
    event_type: str = Field(description="e.g. payment.credit_transfer.initiated")
    schema_version: Literal["1"]
    source: SourceInfo
    group: GroupHeader | None = None
    ids: Identifiers | None = None
    payment_type: PaymentType | None = None
    amounts: Amounts | None = None
    dates: Dates | None = None
    charge_bearer: str | None = None
    settlement: Settlement | None = None
    payment_method: str | None = None
    batch_booking: bool | None = None
    initiating_party: Party | None = None
    debtor: Party | None = None
    debtor_account: Account | None = None
    debtor_agent: Agent | None = None
    ultimate_debtor: Party | None = None
    creditor: Party | None = None
    creditor_account: Account | None = None
    creditor_agent: Agent | None = None
    ultimate_creditor: Party | None = None
    debtor_institution: Agent | None = Field(
        default=None, description="pacs.009: the debtor is a financial institution (Dbtr)."
    )
    creditor_institution: Agent | None = Field(
        default=None, description="pacs.009: the creditor is a financial institution (Cdtr)."
    )
    ultimate_debtor_institution: Agent | None = None
    ultimate_creditor_institution: Agent | None = None
    debtor_agent_account: Account | None = None
    creditor_agent_account: Account | None = None
    instructing_agent: Agent | None = None
    instructed_agent: Agent | None = None
    intermediary_agent_1: Agent | None = None
    intermediary_agent_1_account: Account | None = None
    intermediary_agent_2: Agent | None = None
    intermediary_agent_2_account: Account | None = None
    intermediary_agent_3: Agent | None = None
    intermediary_agent_3_account: Account | None = None
    previous_instructing_agent_1: Agent | None = None
    previous_instructing_agent_1_account: Account | None = None
    previous_instructing_agent_2: Agent | None = None
    previous_instructing_agent_2_account: Account | None = None
    previous_instructing_agent_3: Agent | None = None
    previous_instructing_agent_3_account: Account | None = None
    instructions_for_creditor_agent: list[InstructionForAgent] = Field(default_factory=list)
    instructions_for_next_agent: list[InstructionForAgent] = Field(default_factory=list)
    instruction_for_debtor_agent: str | None = None
    purpose: CodeOrProprietary | None = None
    regulatory_reporting: list[RegulatoryReport] = Field(default_factory=list)
    remittance: Remittance | None = None
    payment_information: PaymentInformation | None = None
    underlying_customer_transfer: UnderlyingCustomerTransfer | None = None
    original: OriginalReferences | None = Field(
        default=None, description="The payment a return, cancellation or status refers to."
    )
    reasons: list[StatusReason] = Field(
        default_factory=list, description="Return, cancellation or status reasons."
    )
    case: CaseInfo | None = Field(default=None, description="camt.056 / camt.029; MT n92 / n96.")
    statement: AccountReport | None = Field(
        default=None, description="camt.052 / 053 / 054; MT 940 / 950 / 900 / 910."
    )
    status: PaymentStatus | None = Field(default=None, description="pacs.002 / pain.002.")


def json_schema() -> dict[str, object]:
    schema = PaymentEvent.model_json_schema()
    schema["$id"] = "https://iso20022-gateway.example/schemas/canonical/payment-event.v1.json"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
