"""Where each field of an MT message sits, as the mapping reads it: its sequence and,
in a repetitive sequence, which occurrence of it.

Read from the alignment of the message with its definition
(:func:`gateway.fin.messages.align`, SWIFT Standards MT format tables in
:mod:`gateway.fin.definitions`), with two readings of its own:

* an **occurrence** of a repetitive sequence (one MT 940 statement line: a 61 and the
  86 directly after it) ends where the next one starts: at another sequence, or at a
  field that goes back to the first rows of the same one;
* the **copy** of the original message's fields in n92 / n95 / n96 ("Copy of at least
  the mandatory fields of the original message", last in the message) starts at the
  first field the message's own rows cannot take: ``77A``, ``11R`` or ``79`` after
  ``76`` are the answer's own fields, although any field may be copied and the
  alignment, for which both readings cost the same, may have put them in the copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.fin.definitions import DEFINITIONS, AnyFields, FieldSpec, MessageDefinition
from gateway.fin.messages import Layout, align
from gateway.mt import Field, MtMessage

__all__ = ["FieldPlaces", "places_of"]


@dataclass(slots=True)
class FieldPlaces:
    """By field index: the sequence label (None outside sequences) and the occurrence
    number of the field's sequence (repetitive sequences; fields in a sequence only)."""

    sequences: dict[int, str | None] = field(default_factory=dict)
    occurrences: dict[int, int] = field(default_factory=dict)

    def occurrence(self, index: int) -> frozenset[int]:
        """The fields of the sequence occurrence that holds field ``index``."""
        mine = self.occurrences.get(index)
        if mine is None:
            return frozenset({index})
        return frozenset(i for i, o in self.occurrences.items() if o == mine)


def places_of(message: MtMessage, fields: tuple[Field, ...]) -> FieldPlaces:
    """The places of ``fields`` (the text block of ``message``); none without a
    definition of the message type."""
    places = FieldPlaces()
    message_id = message.message_id
    definition = DEFINITIONS.get(str(message_id)) if message_id is not None else None
    if definition is None:
        return places
    layout = align(fields, definition)
    labels = _own_before_copy(layout, definition)
    occurrence, last_row, label = -1, -1, None
    for i, p in enumerate(layout.placements):
        places.sequences[i] = labels[i]
        if p.row is None:
            continue
        if labels[i] is not None and (labels[i] != label or p.row_id <= last_row):
            occurrence += 1  # another sequence, or its first rows again: a new occurrence
        label, last_row = labels[i], p.row_id
        if label is not None:
            places.occurrences[i] = occurrence
    return places


def _own_before_copy(layout: Layout, definition: MessageDefinition) -> list[str | None]:
    """The sequence labels of the placements, the fields before the copy that the
    message's own rows take given back to them (rows of a flat definition are its
    items, in order)."""
    labels = [p.sequence for p in layout.placements]
    items = [item for item in definition.items if isinstance(item, FieldSpec | AnyFields)]
    copy = next((k for k, item in enumerate(items) if isinstance(item, AnyFields)), None)
    if copy is None or len(items) != len(definition.items):
        return labels
    row = 0
    for i, p in enumerate(layout.placements):
        if p.row is None:
            continue
        if p.row_id != copy:
            row = p.row_id + 1
            continue
        own = next((k for k in range(row, copy) if items[k].accepts(p.field.tag)), None)
        if own is None:
            break  # the copy starts here
        labels[i], row = None, own + 1
    return labels
