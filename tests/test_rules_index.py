"""The element index the checks of one message share (gateway.rules.index)."""

from __future__ import annotations

from lxml import etree

from gateway.rules.index import ElementIndex
from gateway.rules.model import Subject

NS = "urn:example"
XML = f"""<Document xmlns="{NS}" xmlns:o="urn:other">
  <Msg>
    <Agt><BICFI>AAAABBCC</BICFI></Agt>
    <Agt><Nm>Bank<!-- a comment --> Two</Nm><?pi data?></Agt>
    <Empty/>
    <Note><!-- only a comment --></Note>
    <o:Agt>foreign</o:Agt>
  </Msg>
</Document>""".encode()


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def test_elements_by_tag_in_document_order_namespaces_kept_apart() -> None:
    root = etree.fromstring(XML)
    index = ElementIndex(root)
    agents = index.tagged(_q("Agt"))
    assert [len(a) for a in agents] == [1, 2]  # the second: Nm and the PI
    assert list(agents) == list(root.iter(_q("Agt")))
    assert [e.text for e in index.tagged("{urn:other}Agt")] == ["foreign"]
    assert index.tagged(_q("Document")) == [root]  # the root itself is indexed
    assert index.tagged(_q("Missing")) == ()


def test_leaves_are_the_elements_without_element_children() -> None:
    root = etree.fromstring(XML)
    index = ElementIndex(root)
    expected = root.xpath("descendant-or-self::*[not(*)]")  # comments and PIs are no children
    assert index.leaves == expected
    names = [etree.QName(e).localname for e in index.leaves]
    assert names == ["BICFI", "Nm", "Empty", "Note", "Agt"]


def test_a_leaf_root_is_its_own_leaf() -> None:
    root = etree.fromstring(b"<Only>text</Only>")
    assert ElementIndex(root).leaves == [root]


def test_subject_walks_each_root_once_and_keeps_roots_apart() -> None:
    document = etree.fromstring(XML)
    other = etree.fromstring(XML)
    subject = Subject(message_id=None, events=[], values=[], document=document)
    first = subject.index(document)
    assert subject.index(document) is first
    assert subject.index(other) is not first
    assert subject.index(other).root is other
    first.memo["check"] = 1
    assert subject.index(document).memo == {"check": 1}
    # a new subject (the next message) walks its own tree
    assert Subject(message_id=None, events=[], values=[]).index(document) is not first
