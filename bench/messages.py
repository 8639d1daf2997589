"""The message mix, as bytes: what every contender is given.

* pacs.008.001.08, one transaction: a CBPR+ business message (``data/``: AppHdr +
  Document in a SWIFT ``Envelope``, invented parties), and its bare Document (the same
  bytes between ``<Document`` and ``</Document>``, which the peers can validate). Dates
  are the day of the run, so the business pack has nothing to warn about.
* pain.001.001.09 with 1, 100 and 10,000 transactions: the project's deterministic
  generator (``tests/fixtures/generate_pain001.py``; its dates are fixed in 2024, so the
  business pack reports ``business.date_too_far_in_past`` warnings, as it would for any
  replayed file).
* MT103 (fin.103): ``tests/fixtures/mt/mapping/fin.103.equivalent.txt``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template

from bench.env import REPO

DATA = Path(__file__).resolve().parent / "data"
CBPR_TEMPLATE = Template((DATA / "pacs.008.001.08.cbpr.xml").read_text(encoding="utf-8"))
MT103 = REPO / "tests/fixtures/mt/mapping/fin.103.equivalent.txt"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

#: Message keys in table order (``--messages`` takes these).
KEYS = ("pacs008", "pacs008-cbpr", "pain001-1", "pain001-100", "pain001-10000", "mt103")


@dataclass(frozen=True, slots=True)
class Message:
    key: str
    label: str
    message_id: str  # the MessageId of the Document (fin.103 for the MT)
    transactions: int
    payload: bytes
    enveloped: bool = False  # AppHdr + Document: the peers validate bare Documents only

    @property
    def is_fin(self) -> bool:
        return self.message_id.startswith("fin.")


def cbpr_pacs008(serial: int = 0, run: str = "BENCH", when: datetime | None = None) -> bytes:
    """The CBPR+ pacs.008 with ids of its own (``serial``): unique per end-to-end request.

    ``run`` (at most 6 characters) keeps runs apart: CBPR+ allows 16 characters of InstrId.
    """
    if len(run) > 6:
        raise ValueError(f"run tag {run!r} is longer than 6 characters")
    now = (when or datetime.now(UTC)).replace(microsecond=0)
    msg_id = f"{run}-{serial:09d}"
    text = CBPR_TEMPLATE.substitute(
        msg_id=msg_id,
        cre_dt_tm=now.isoformat(),
        sttlm_dt=now.date().isoformat(),
        instr_id=msg_id,
        end_to_end_id=f"E2E-{run}-{serial:09d}",
        uetr=str(uuid.uuid4()) if serial else "6f0d1c3a-5b7e-4c2a-9e1f-0a8b7c6d5e4f",
    )
    return text.encode("utf-8")


def bare_document(enveloped: bytes) -> bytes:
    start = enveloped.index(b"<Document")
    end = enveloped.index(b"</Document>") + len(b"</Document>")
    return XML_DECLARATION + enveloped[start:end] + b"\n"


def _pain001(n: int) -> bytes:
    from tests.fixtures.generate_pain001 import generate

    return generate(n)


def build(keys: tuple[str, ...] = KEYS) -> list[Message]:
    """The messages named by ``keys``, in table order."""
    cbpr = cbpr_pacs008()
    out: list[Message] = []
    for key in KEYS:
        if key not in keys:
            continue
        if key == "pacs008":
            out.append(Message(key, "pacs.008 1 tx", "pacs.008.001.08", 1, bare_document(cbpr)))
        elif key == "pacs008-cbpr":
            label = "pacs.008 1 tx, AppHdr (CBPR+)"
            out.append(Message(key, label, "pacs.008.001.08", 1, cbpr, enveloped=True))
        elif key.startswith("pain001-"):
            n = int(key.split("-")[1])
            out.append(Message(key, f"pain.001 {n:,} tx", "pain.001.001.09", n, _pain001(n)))
        elif key == "mt103":
            out.append(Message(key, "MT103", "fin.103", 1, MT103.read_bytes()))
    return out
