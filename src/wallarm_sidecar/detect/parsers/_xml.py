"""XML and SOAP bodies through the standard library's expat, without entity expansion.

Setting a DefaultHandler turns off expansion of internal entities in content;
external entities are never fetched (no ExternalEntityRefHandler is set). A
document that declares internal entities is not parsed past its DTD: the DTD
is a raw_body point and the document is left to the raw body (an entity whose
value refers to other entities is the billion-laughs shape and is a `data_bomb`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from xml.parsers import expat

from wallarm_sidecar.detect._points import AREA_BODY_NAME, AREA_BODY_VALUE, AREA_RAW_BODY
from wallarm_sidecar.detect.parsers._decoders import bytes_to_text
from wallarm_sidecar.detect.parsers._limits import ATTACK_DATA_BOMB, PointsExhausted
from wallarm_sidecar.detect.parsers._render import quote

if TYPE_CHECKING:
    from wallarm_sidecar.detect.parsers._walker import Walker


RULE_BOMB_XML_ENTITY: Final = "parser-bomb-xml-entity"


class _Refused(Exception):
    """Stops expat: the document is too deep or declares internal entities."""


def parse_xml(walker: Walker, prefix: str, data: bytes | str, depth: int) -> bool:
    """Emit the points of an XML document at `prefix xml ...`.

    Returns False when the document was refused or is not well-formed, so that
    the caller also shows it as a raw body; points found before the error stay.
    """
    root = prefix + " xml"
    _doctype(walker, root, data)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    points: list[str] = [root]
    texts: list[list[str]] = [[]]
    names: set[str] = set()  # element and attribute names are name points once
    max_depth = walker.max_depth
    emit = walker.emit
    value = walker.value

    def start(name: str, attrs: dict[str, str]) -> None:
        level = depth + len(points)
        point = points[-1] + " tag " + quote(name)
        if level > max_depth:
            walker.deeper(point, max_depth)
            raise _Refused
        if name not in names:
            names.add(name)
            emit(point, name, AREA_BODY_NAME)
        for attr_name, attr_value in attrs.items():
            attr_point = point + " attr " + quote(attr_name)
            if attr_name not in names:
                names.add(attr_name)
                emit(attr_point, attr_name, AREA_BODY_NAME)
            value(attr_point, attr_value, AREA_BODY_VALUE, level)
        points.append(point)
        texts.append([])

    def end(_name: str) -> None:
        _flush(walker, points.pop(), texts.pop(), depth + len(points))

    def characters(text: str) -> None:
        texts[-1].append(text)

    def unexpanded(text: str) -> None:
        # references to entities that are not expanded reach here; keep them visible
        if text.startswith("&") and text.endswith(";"):
            texts[-1].append(text)

    def comment(text: str) -> None:
        value(root + " comment", text, AREA_BODY_VALUE, depth)

    def instruction(target: str, text: str) -> None:
        value(root + " pi", target + " " + text, AREA_BODY_VALUE, depth)

    internal_entities: list[str] = []

    def entity(
        name: str,
        _is_parameter: bool,
        entity_value: str | None,
        _base: str | None,
        _system_id: str | None,
        _public_id: str | None,
        _notation: str | None,
    ) -> None:
        if entity_value is None:
            return  # external: never resolved, the DTD point shows it
        if "&" in entity_value or "%" in entity_value:
            walker.hit(ATTACK_DATA_BOMB, RULE_BOMB_XML_ENTITY, root + " dtd", name)
            raise _Refused
        internal_entities.append(name)

    def doctype_end() -> None:
        if internal_entities:
            raise _Refused

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.DefaultHandler = unexpanded
    parser.CommentHandler = comment
    parser.ProcessingInstructionHandler = instruction
    parser.EntityDeclHandler = entity
    parser.EndDoctypeDeclHandler = doctype_end
    try:
        parser.Parse(data, True)
    except PointsExhausted:
        raise
    except Exception:
        # expat errors, _Refused, and whatever the codec named by an XML
        # declaration raises (`encoding="bogus"` is a LookupError, a multi-byte
        # codec a ValueError): all mean "not parsed, show it raw"
        well_formed = False
    else:
        well_formed = True
    while len(points) > 1:  # elements left open by a truncated or broken document
        _flush(walker, points.pop(), texts.pop(), depth + len(points))
    return well_formed


def _flush(walker: Walker, point: str, parts: list[str], depth: int) -> None:
    if not parts:
        return
    text = parts[0] if len(parts) == 1 else "".join(parts)
    text = text.strip()
    if text:
        walker.value(point, text, AREA_BODY_VALUE, depth)


def _doctype(walker: Walker, root: str, data: bytes | str) -> None:
    """Show the document type declaration (with its internal subset) as a raw_body value."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    start = text.find("<!DOCTYPE")
    if start < 0:
        start = text.find("<!doctype")
        if start < 0:
            return
    bracket = text.find("[", start)
    close = text.find(">", start)
    if 0 <= bracket < close:
        end = text.find("]>", bracket)
        if end >= 0:
            close = end + 2
        else:  # `]` and `>` apart (`] >`), or a truncated subset
            loose = text.find(">", text.find("]", bracket) + 1) if "]" in text else -1
            close = len(text) if loose < 0 else loose + 1
    else:
        close = len(text) if close < 0 else close + 1
    declaration = text[start:close]
    if isinstance(data, bytes):
        declaration = bytes_to_text(declaration.encode("latin-1"))
    walker.emit(root + " dtd", declaration, AREA_RAW_BODY)
