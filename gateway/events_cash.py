"""Canonical event parts of cash management and exceptions: account statements and
notifications, investigation cases, the payment an event refers back to, and reasons.

* :class:`AccountReport` - one statement (camt.053 ``Stmt``, MT 940/950), report
  (camt.052 ``Rpt``) or debit/credit notification (camt.054 ``Ntfctn``, MT 900/910):
  the account, its balances and its entries with their transaction details.
* :class:`CaseInfo` - the investigation a cancellation request (camt.056, MT n92) or
  its resolution (camt.029, MT n96) belongs to: assignment, case, status.
* :class:`OriginalReferences` - the payment a return (pacs.004), a cancellation request,
  its resolution or a status report (pacs.002) is about (``OrgnlGrpInf`` and the
  ``Orgnl*`` elements).
* :class:`PaymentStatus` - the status a status report (pacs.002, pain.002) gives a
  payment: group, payment-information and transaction status, with the group's reasons.
* :class:`StatusReason` - one reason with its originator (``RtrRsnInf``,
  ``CxlRsnInf``, ``CxlStsRsnInf``, ``StsRsnInf``).

Names follow :mod:`gateway.events_parts`: format-neutral English, ISO 20022 meaning
(the element is given in each description), every field optional, values as written.
"""

from __future__ import annotations

from pydantic import Field

from gateway.events_parts import (
    Account,
    Agent,
    Amount,
    CodeOrProprietary,
    Identifiers,
    Party,
    Remittance,
    _Model,
)

__all__ = [
    "AccountReport",
    "Balance",
    "BankTransactionCode",
    "CaseInfo",
    "Entry",
    "EntryDetail",
    "OriginalReferences",
    "PaymentStatus",
    "StatusReason",
]


class Balance(_Model):
    """``Bal``: a booked or available balance of the account on a date."""

    type: CodeOrProprietary | None = Field(
        default=None, description="Tp/CdOrPrtry: OPBD, CLBD, ITBD, CLAV, FWAV, PRCD ..."
    )
    sub_type: str | None = Field(default=None, description="Tp/SubTp/Cd, e.g. INTM.")
    amount: Amount | None = None
    credit_debit: str | None = Field(default=None, description="CdtDbtInd: CRDT or DBIT.")
    date: str | None = Field(default=None, description="Dt/Dt.")
    datetime: str | None = Field(default=None, description="Dt/DtTm.")


class BankTransactionCode(_Model):
    """``BkTxCd``: ISO domain/family/sub-family, or a proprietary code and its issuer."""

    domain: str | None = Field(default=None, description="Domn/Cd, e.g. PMNT.")
    family: str | None = Field(default=None, description="Domn/Fmly/Cd, e.g. RCDT.")
    sub_family: str | None = Field(default=None, description="Domn/Fmly/SubFmlyCd.")
    proprietary: str | None = Field(default=None, description="Prtry/Cd, e.g. an MT NTRF.")
    proprietary_issuer: str | None = Field(default=None, description="Prtry/Issr.")


class EntryDetail(_Model):
    """``NtryDtls/TxDtls``: one transaction behind an entry."""

    ids: Identifiers | None = Field(default=None, description="Refs.")
    account_servicer_reference: str | None = Field(default=None, description="Refs/AcctSvcrRef.")
    account_owner_reference: str | None = Field(
        default=None,
        description="Refs/AcctOwnrTxId (an MT 61 reference for the account owner).",
    )
    amount: Amount | None = Field(default=None, description="Amt.")
    credit_debit: str | None = Field(default=None, description="CdtDbtInd.")
    interbank_settlement_date: str | None = Field(
        default=None, description="RltdDts/IntrBkSttlmDt."
    )
    debtor: Party | None = Field(default=None, description="RltdPties/Dbtr/Pty.")
    debtor_account: Account | None = None
    ultimate_debtor: Party | None = None
    creditor: Party | None = Field(default=None, description="RltdPties/Cdtr/Pty.")
    creditor_account: Account | None = None
    ultimate_creditor: Party | None = None
    debtor_agent: Agent | None = Field(default=None, description="RltdAgts/DbtrAgt.")
    creditor_agent: Agent | None = Field(default=None, description="RltdAgts/CdtrAgt.")
    intermediary_agent_1: Agent | None = Field(default=None, description="RltdAgts/IntrmyAgt1.")
    purpose: CodeOrProprietary | None = None
    remittance: Remittance | None = Field(default=None, description="RmtInf.")
    additional_info: str | None = Field(default=None, description="AddtlTxInf.")


class Entry(_Model):
    """``Ntry``: one booking (or pending/information item) on the account."""

    reference: str | None = Field(default=None, description="NtryRef.")
    amount: Amount | None = Field(default=None, description="Amt.")
    credit_debit: str | None = Field(default=None, description="CdtDbtInd: CRDT or DBIT.")
    reversal: bool | None = Field(default=None, description="RvslInd.")
    status: CodeOrProprietary | None = Field(default=None, description="Sts: BOOK, PDNG, INFO.")
    booking_date: str | None = Field(default=None, description="BookgDt/Dt.")
    booking_datetime: str | None = Field(default=None, description="BookgDt/DtTm.")
    value_date: str | None = Field(default=None, description="ValDt/Dt.")
    value_datetime: str | None = Field(default=None, description="ValDt/DtTm.")
    account_servicer_reference: str | None = Field(default=None, description="AcctSvcrRef.")
    bank_transaction_code: BankTransactionCode | None = Field(default=None, description="BkTxCd.")
    details: list[EntryDetail] = Field(default_factory=list, description="NtryDtls/TxDtls.")
    additional_info: str | None = Field(default=None, description="AddtlNtryInf.")


class AccountReport(_Model):
    """A statement (camt.053 ``Stmt``), report (camt.052 ``Rpt``) or notification
    (camt.054 ``Ntfctn``) of one account; MT 940/950 and MT 900/910 alike."""

    id: str | None = Field(default=None, description="Id.")
    electronic_sequence: str | None = Field(default=None, description="ElctrncSeqNb.")
    legal_sequence: str | None = Field(default=None, description="LglSeqNb.")
    page_number: str | None = Field(default=None, description="StmtPgntn/PgNb.")
    last_page: bool | None = Field(default=None, description="StmtPgntn/LastPgInd.")
    creation_datetime: str | None = Field(default=None, description="CreDtTm.")
    from_datetime: str | None = Field(default=None, description="FrToDt/FrDtTm.")
    to_datetime: str | None = Field(default=None, description="FrToDt/ToDtTm.")
    account: Account | None = Field(default=None, description="Acct (Id, Tp, Ccy, Nm).")
    account_owner: Party | None = Field(default=None, description="Acct/Ownr.")
    account_servicer: Agent | None = Field(default=None, description="Acct/Svcr.")
    balances: list[Balance] = Field(default_factory=list, description="Bal.")
    entries: list[Entry] = Field(default_factory=list, description="Ntry.")
    additional_info: str | None = Field(
        default=None, description="AddtlStmtInf / AddtlRptInf / AddtlNtfctnInf."
    )


class OriginalReferences(_Model):
    """The payment this event refers back to (``OrgnlGrpInf`` and ``Orgnl*``)."""

    message_id: str | None = Field(default=None, description="OrgnlGrpInf/OrgnlMsgId.")
    message_name_id: str | None = Field(
        default=None, description="OrgnlGrpInf/OrgnlMsgNmId, e.g. pacs.008.001.08 or MT103."
    )
    creation_datetime: str | None = Field(default=None, description="OrgnlGrpInf/OrgnlCreDtTm.")
    instruction_id: str | None = Field(default=None, description="OrgnlInstrId.")
    end_to_end_id: str | None = Field(default=None, description="OrgnlEndToEndId.")
    transaction_id: str | None = Field(default=None, description="OrgnlTxId.")
    uetr: str | None = Field(default=None, description="OrgnlUETR.")
    clearing_system_reference: str | None = Field(default=None, description="OrgnlClrSysRef.")
    interbank_settlement_amount: Amount | None = Field(
        default=None, description="OrgnlIntrBkSttlmAmt."
    )
    interbank_settlement_date: str | None = Field(default=None, description="OrgnlIntrBkSttlmDt.")


class StatusReason(_Model):
    """One reason: ``RtrRsnInf``, ``CxlRsnInf``, ``CxlStsRsnInf``, ``StsRsnInf``."""

    originator: Party | None = Field(default=None, description="Orgtr.")
    reason: CodeOrProprietary | None = Field(
        default=None, description="Rsn/Cd (an ISO external reason code) or Rsn/Prtry."
    )
    additional_info: list[str] = Field(default_factory=list, description="AddtlInf.")


class CaseInfo(_Model):
    """An investigation (camt.056 / camt.029; MT n92 / n96): assignment, case, status."""

    assignment_id: str | None = Field(default=None, description="Assgnmt/Id.")
    assigner: Agent | None = Field(default=None, description="Assgnmt/Assgnr/Agt.")
    assignee: Agent | None = Field(default=None, description="Assgnmt/Assgne/Agt.")
    assignment_datetime: str | None = Field(default=None, description="Assgnmt/CreDtTm.")
    case_id: str | None = Field(default=None, description="Case/Id (camt.029: RslvdCase/Id).")
    case_creator: Agent | None = Field(default=None, description="Case/Cretr/Agt.")
    case_creator_party: Party | None = Field(default=None, description="Case/Cretr/Pty.")
    cancellation_id: str | None = Field(default=None, description="camt.056 TxInf/CxlId.")
    confirmation: str | None = Field(
        default=None, description="camt.029 Sts/Conf: CNCL, RJCR, PDCR, IPAY ..."
    )
    cancellation_status_id: str | None = Field(
        default=None, description="camt.029 TxInfAndSts/CxlStsId."
    )
    transaction_status: str | None = Field(
        default=None, description="camt.029 TxInfAndSts/TxCxlSts: CNCL, RJCR, PDCR."
    )
    narrative: list[str] = Field(
        default_factory=list, description="Free text of the case (MT 79, 77A) without an element."
    )


class PaymentStatus(_Model):
    """The status of a payment (pacs.002 ``OrgnlGrpInfAndSts`` / ``TxInfAndSts``; pain.002
    also ``OrgnlPmtInfAndSts``). The transaction's own reasons are the event's
    ``reasons``; the group's are ``group_reasons``."""

    group_status: str | None = Field(default=None, description="OrgnlGrpInfAndSts/GrpSts.")
    group_reasons: list[StatusReason] = Field(
        default_factory=list, description="OrgnlGrpInfAndSts/StsRsnInf."
    )
    payment_information_status: str | None = Field(
        default=None, description="pain.002 OrgnlPmtInfAndSts/PmtInfSts."
    )
    transaction_status: str | None = Field(
        default=None, description="TxInfAndSts/TxSts: ACSC, ACSP, ACTC, ACCP, RJCT, PDNG ..."
    )
    status_id: str | None = Field(default=None, description="TxInfAndSts/StsId.")
    acceptance_datetime: str | None = Field(default=None, description="AccptncDtTm.")
    effective_settlement_date: str | None = Field(default=None, description="FctvIntrBkSttlmDt/Dt.")
    account_servicer_reference: str | None = Field(default=None, description="AcctSvcrRef.")
