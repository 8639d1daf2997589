"""ISO 20022 ExternalStatusReason1Code values the rule packs may name.

The codes and names come from the ISO 20022 External Code Sets
(ExternalStatusReason1Code); only those a rule here can produce, plus the few a
pack author is most likely to want, are listed. A pack naming a code outside
this table is rejected at load, so an outbound pacs.002/pain.002 never carries
a code its receiver cannot look up.
"""

from __future__ import annotations

__all__ = ["STATUS_REASONS"]

#: code -> ISO name
STATUS_REASONS: dict[str, str] = {
    "AC01": "IncorrectAccountNumber",
    "AC03": "InvalidCreditorAccountNumber",
    "AG01": "TransactionForbidden",
    "AG03": "TransactionNotSupported",
    "AM01": "ZeroAmount",
    "AM02": "NotAllowedAmount",
    "AM03": "NotAllowedCurrency",
    "AM05": "Duplication",
    "AM10": "InvalidControlSum",
    "AM12": "InvalidAmount",
    "AM14": "AmountExceedsAgreedLimit",
    "AM18": "InvalidNumberOfTransactions",
    "BE09": "InvalidCountry",
    "BE19": "InvalidChargeBearerCode",
    "CH03": "RequestedExecutionDateOrRequestedCollectionDateTooFarInFuture",
    "CH04": "RequestedExecutionDateOrRequestedCollectionDateTooFarInPast",
    "CH16": "ElementContentFormallyIncorrect",
    "CH17": "ElementNotAdmitted",
    "CH21": "RequiredCompulsoryElementMissing",
    "CNOR": "CreditorBankIsNotRegistered",
    "DT01": "InvalidDate",
    "FF01": "InvalidFileFormat",
    "NARR": "Narrative",
    "RC01": "BankIdentifierIncorrect",
    "RC02": "InvalidBankIdentifier",
    "RC03": "InvalidDebtorBankIdentifier",
    "RC04": "InvalidCreditorBankIdentifier",
    "RR02": "MissingDebtorNameOrAddress",
    "RR03": "MissingCreditorNameOrAddress",
    "RR04": "RegulatoryReason",
    "TM01": "InvalidCutOffTime",
}
