"""Building blocks of the canonical payment event (amounts, parties, agents, accounts,
identifiers, payment data): ISO 20022 components under format-neutral names.

:mod:`gateway.events` assembles them into :class:`~gateway.events.PaymentEvent` and
re-exports them; import them from there.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_DECIMAL = r"^-?\d{1,30}(\.\d{1,17})?$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Amount(_Model):
    value: str = Field(pattern=_DECIMAL, description="Decimal amount as written in the message.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code (the Ccy attribute).")


class CodeOrProprietary(_Model):
    """An ISO external code (``Cd``) or a proprietary value (``Prtry``)."""

    code: str | None = None
    proprietary: str | None = None


class GenericId(_Model):
    """``GenericOrganisationIdentification`` / ``GenericPersonIdentification`` / ``Othr``."""

    id: str | None = None
    scheme: CodeOrProprietary | None = None
    issuer: str | None = None


class PostalAddress(_Model):
    address_type: CodeOrProprietary | None = None
    department: str | None = None
    sub_department: str | None = None
    street_name: str | None = None
    building_number: str | None = None
    building_name: str | None = None
    floor: str | None = None
    post_box: str | None = None
    room: str | None = None
    post_code: str | None = None
    town_name: str | None = None
    town_location_name: str | None = None
    district_name: str | None = None
    country_sub_division: str | None = None
    country: str | None = None
    address_lines: list[str] = Field(default_factory=list)


class DateAndPlaceOfBirth(_Model):
    birth_date: str | None = None
    province: str | None = None
    city: str | None = None
    country: str | None = None


class PartyId(_Model):
    """``Id``: organisation (AnyBIC, LEI, others) or private person identifiers."""

    any_bic: str | None = None
    lei: str | None = None
    organisation_other: list[GenericId] = Field(default_factory=list)
    birth: DateAndPlaceOfBirth | None = None
    private_other: list[GenericId] = Field(default_factory=list)


class Contact(_Model):
    name_prefix: str | None = None
    name: str | None = None
    phone: str | None = None
    mobile: str | None = None
    fax: str | None = None
    email: str | None = None
    other: list[str] = Field(default_factory=list)


class Party(_Model):
    """Debtor, creditor, ultimate parties, initiating party (``PartyIdentification``)."""

    name: str | None = None
    postal_address: PostalAddress | None = None
    identification: PartyId | None = None
    country_of_residence: str | None = None
    contact: Contact | None = None


class Proxy(_Model):
    type: CodeOrProprietary | None = None
    id: str | None = None


class Account(_Model):
    """``CashAccount``: IBAN or another identifier with its scheme."""

    iban: str | None = None
    other: GenericId | None = None
    type: CodeOrProprietary | None = None
    currency: str | None = None
    name: str | None = None
    proxy: Proxy | None = None


class ClearingMember(_Model):
    """``ClrSysMmbId``: clearing system (code such as USABA, or proprietary) and member id."""

    clearing_system: CodeOrProprietary | None = None
    member_id: str | None = None


class Agent(_Model):
    """A financial institution (``BranchAndFinancialInstitutionIdentification``)."""

    bic: str | None = None
    clearing_member: ClearingMember | None = None
    lei: str | None = None
    name: str | None = None
    postal_address: PostalAddress | None = None
    other: GenericId | None = None
    branch_id: str | None = None
    branch_name: str | None = None


class Identifiers(_Model):
    uetr: str | None = None
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    transaction_id: str | None = None
    clearing_system_reference: str | None = None
    message_id: str | None = Field(default=None, description="GrpHdr/MsgId of the message.")
    payment_information_id: str | None = Field(default=None, description="pain.001 PmtInfId.")
    return_id: str | None = Field(default=None, description="pacs.004 RtrId.")


class PaymentType(_Model):
    instruction_priority: str | None = None
    clearing_channel: str | None = None
    service_level: list[CodeOrProprietary] = Field(default_factory=list)
    local_instrument: CodeOrProprietary | None = None
    category_purpose: CodeOrProprietary | None = None


class Settlement(_Model):
    method: str | None = None
    account: Account | None = None
    clearing_system: CodeOrProprietary | None = None
    instructing_reimbursement_agent: Agent | None = None
    instructing_reimbursement_agent_account: Account | None = None
    instructed_reimbursement_agent: Agent | None = None
    instructed_reimbursement_agent_account: Account | None = None
    third_reimbursement_agent: Agent | None = None
    third_reimbursement_agent_account: Account | None = None
    priority: str | None = None


class Charge(_Model):
    amount: Amount | None = None
    agent: Agent | None = None


class Amounts(_Model):
    instructed: Amount | None = None
    interbank_settlement: Amount | None = None
    equivalent: Amount | None = None
    exchange_rate: str | None = None
    charges: list[Charge] = Field(default_factory=list)
    returned_interbank_settlement: Amount | None = Field(
        default=None, description="pacs.004 RtrdIntrBkSttlmAmt."
    )
    returned_instructed: Amount | None = Field(default=None, description="pacs.004 RtrdInstdAmt.")


class Dates(_Model):
    interbank_settlement: str | None = None
    requested_execution: str | None = None
    requested_execution_datetime: str | None = None
    acceptance: str | None = None
    pooling_adjustment: str | None = None


class ReferredDocument(_Model):
    type: CodeOrProprietary | None = None
    issuer: str | None = None
    number: str | None = None
    related_date: str | None = None


class CreditorReference(_Model):
    type: CodeOrProprietary | None = None
    issuer: str | None = None
    reference: str | None = None


class StructuredRemittance(_Model):
    referred_documents: list[ReferredDocument] = Field(default_factory=list)
    due_payable: Amount | None = None
    remitted: Amount | None = None
    creditor_reference: CreditorReference | None = None
    invoicer: Party | None = None
    invoicee: Party | None = None
    additional_info: list[str] = Field(default_factory=list)


class Remittance(_Model):
    unstructured: list[str] = Field(default_factory=list)
    structured: list[StructuredRemittance] = Field(default_factory=list)


class RegulatoryDetail(_Model):
    type: str | None = None
    date: str | None = None
    country: str | None = None
    code: str | None = None
    amount: Amount | None = None
    information: list[str] = Field(default_factory=list)


class RegulatoryReport(_Model):
    debit_credit_indicator: str | None = None
    authority_name: str | None = None
    authority_country: str | None = None
    details: list[RegulatoryDetail] = Field(default_factory=list)


class InstructionForAgent(_Model):
    code: str | None = None
    information: str | None = None


class GroupHeader(_Model):
    """The message-level data every transaction of a batch shares (``GrpHdr``).

    Group data that applies to each transaction (settlement information,
    instructing/instructed agents, initiating party) is carried on the event's
    own fields, where transaction-level values take precedence.
    """

    message_id: str | None = None
    creation_datetime: str | None = None
    number_of_transactions: str | None = None
    control_sum: str | None = None
    total_interbank_settlement_amount: Amount | None = None
    batch_booking: bool | None = None


class PaymentInformation(_Model):
    """pain.001 ``PmtInf`` block data that is not a transaction field."""

    id: str | None = None
    number_of_transactions: str | None = None
    control_sum: str | None = None


class UnderlyingCustomerTransfer(_Model):
    """pacs.009 COV ``UndrlygCstmrCdtTrf``: the customer transfer being covered."""

    ultimate_debtor: Party | None = None
    initiating_party: Party | None = None
    debtor: Party | None = None
    debtor_account: Account | None = None
    debtor_agent: Agent | None = None
    debtor_agent_account: Account | None = None
    previous_instructing_agent_1: Agent | None = None
    previous_instructing_agent_2: Agent | None = None
    previous_instructing_agent_3: Agent | None = None
    intermediary_agent_1: Agent | None = None
    intermediary_agent_2: Agent | None = None
    intermediary_agent_3: Agent | None = None
    creditor_agent: Agent | None = None
    creditor_agent_account: Account | None = None
    creditor: Party | None = None
    creditor_account: Account | None = None
    ultimate_creditor: Party | None = None
    instructions_for_creditor_agent: list[InstructionForAgent] = Field(default_factory=list)
    instructions_for_next_agent: list[InstructionForAgent] = Field(default_factory=list)
    remittance: Remittance | None = None
    instructed_amount: Amount | None = None
