"""Open311 answers in the spec's two formats, chosen by the address's extension.

XML is the format GeoReport v2 requires; JSON is its programmatic mapping (the
"Spark convention"): a list is an element named for the list holding one element
per item (`service_requests`/`request`), an object is an element per key, and null
is an empty element. Both are UTF-8, XML with the declaration the spec asks for.
XML is written with the standard library's ElementTree; nothing here reads XML (a
POST is form-encoded).
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from flask import Response

FORMATS = ("xml", "json")
DEFAULT = "xml"  # the spec's required format: what an address with no usable extension gets
MIMETYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# a list's element name -> the name of each item's element, as the spec's examples write them
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute",
         "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}
# characters XML 1.0 cannot carry at all (a resident's words could hold them): dropped
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """A request refused: answered in the spec's error shape with this HTTP status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status


def respond(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    """Answer with `data` in the format asked for; `root` names the XML root element.

    Characters XML cannot carry are left out of both formats, so the two always agree.
    """
    data = _clean(data)
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    else:
        body = (DECLARATION + ET.tostring(element(root, data), encoding="unicode")).encode("utf-8")
    return Response(body, status=status, content_type=MIMETYPES["json" if fmt == "json" else "xml"])


def element(name: str, value: Any) -> ET.Element:
    """One value as an element: lists hold one child per item, objects one child per key."""
    node = ET.Element(name)
    if isinstance(value, list):
        node.extend(element(ITEMS[name], item) for item in value)
    elif isinstance(value, dict):
        node.extend(element(key, item) for key, item in value.items())
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)
    return node


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    return value


def errors(fmt: str, status: int, description: str) -> Response:
    """The spec's error answer: `errors`/`error` with a code (the HTTP status) and a description."""
    return respond(fmt, "errors", [{"code": status, "description": description}], status)


def format_of(path: str) -> str:
    """The format an address asks for by its extension; the spec's required one if none fits."""
    extension = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    return extension if extension in FORMATS else DEFAULT
