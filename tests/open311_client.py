"""An Open311 GeoReport v2 client written from the spec (https://wiki.open311.org/GeoReport_v2).

It knows the spec, not our code: the addresses (`services.xml`, `requests/<id>.json`...),
the form a POST sends, and how each answer reads. XML is parsed with lxml, never with the
ElementTree that writes it on the server, so the two cannot share a mistake; JSON with the
standard library. Both are turned into the same plain values, typed as the spec describes
each field (ids as text, `metadata` a boolean, times ISO 8601 with their zone, an empty
element or null as None), so one test can read either format and compare them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from lxml import etree

FORMATS = ("xml", "json")
MIMETYPES = {"xml": "text/xml", "json": "application/json"}
# the spec's lists: element name -> each item's element name
LISTS = {"services": "service", "service_requests": "request", "attributes": "attribute",
         "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}
TEXT_IDS = {"service_request_id", "service_code", "address_id", "zipcode", "account_id", "key",
            "token"}
BOOLEANS = {"metadata", "variable", "required"}
INTEGERS = {"order"}  # and an error's code (an attribute's code is text)
NUMBERS = {"lat", "long"}
TIMES = {"requested_datetime", "updated_datetime", "expected_datetime"}
DECLARATION = re.compile(rb'^<\?xml version="1\.0" encoding="(?i:utf-8)"\?>')
# XML from a server is data: no entities, no DTDs, no network
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class SpecError(AssertionError):
    """An answer that breaks the spec (not an error the server meant to give)."""


@dataclass
class Refused(Exception):
    """The server's error answer: the HTTP status and the spec's (code, description) pairs."""

    status: int
    errors: list[tuple[int, str]] = field(default_factory=list)


def _typed(name: str, text: str | None) -> Any:
    """A leaf's value as the spec types that field (an empty leaf is None)."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    if name in BOOLEANS:
        if value not in ("true", "false"):
            raise SpecError(f"{name} must be true or false, not {value!r}")
        return value == "true"
    if name in INTEGERS:
        return int(value)
    if name in NUMBERS:
        return float(value)
    if name in TIMES:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise SpecError(f"{name} must carry its zone: {value!r}")
        return moment
    return value


def _from_element(node: Any) -> Any:
    """An element by the Spark convention: a list, an object, or a typed leaf."""
    name = node.tag
    if name in LISTS:
        items = list(node)
        if any(child.tag != LISTS[name] for child in items):
            raise SpecError(f"<{name}> may only hold <{LISTS[name]}>")
        return [_from_element(child) for child in items]
    if len(node):
        return {child.tag: _from_element(child) for child in node}
    return _typed(name, node.text)


def _from_json(value: Any, name: str = "") -> Any:
    """JSON values typed as the XML ones are, so both formats compare equal."""
    if isinstance(value, list):
        return [_from_json(item, LISTS.get(name, name)) for item in value]
    if isinstance(value, dict):
        return {key: _from_json(item, key) for key, item in value.items()}
    if isinstance(value, bool):
        return _typed(name, "true" if value else "false")
    return _typed(name, None if value is None else str(value))


def read(fmt: str, body: bytes, root: str) -> Any:
    """Read one answer of the spec, in either format, whose XML root is `root`."""
    if fmt == "json":
        found = _from_json(json.loads(body.decode("utf-8")), root)
    else:
        if not DECLARATION.match(body):
            raise SpecError("XML must start with the declaration and encoding=\"UTF-8\"")
        tree = etree.fromstring(body, PARSER)
        if tree.tag != root:
            raise SpecError(f"root element is <{tree.tag}>, the spec says <{root}>")
        found = _from_element(tree)
    if root == "errors":
        found = [error | {"code": int(error["code"])} for error in found]
    return found


class Open311Client:
    """Speaks to one GeoReport v2 endpoint in one format."""

    def __init__(self, endpoint: str, fmt: str, *, api_key: str | None = None,
                 jurisdiction_id: str | None = None) -> None:
        assert fmt in FORMATS
        self.endpoint, self.fmt = endpoint.rstrip("/"), fmt
        self.api_key, self.jurisdiction_id = api_key, jurisdiction_id

    def _answer(self, response: requests.Response, root: str) -> Any:
        mimetype = response.headers.get("Content-Type", "")
        if not mimetype.startswith(MIMETYPES[self.fmt]) or "charset=utf-8" not in mimetype.lower():
            raise SpecError(f"Content-Type {mimetype!r} for .{self.fmt}")
        if response.status_code >= 400:
            errors = read(self.fmt, response.content, "errors")
            raise Refused(response.status_code, [(e["code"], e["description"]) for e in errors])
        return read(self.fmt, response.content, root)

    def get(self, path: str, root: str, **params: str) -> Any:
        """GET `<endpoint>/<path>.<format>` and read the answer, whose XML root is `root`."""
        if self.jurisdiction_id is not None:
            params["jurisdiction_id"] = self.jurisdiction_id
        url = f"{self.endpoint}/{path}.{self.fmt}"
        return self._answer(requests.get(url, params=params, timeout=10), root)

    def discovery(self) -> dict[str, Any]:
        """The service discovery document."""
        return self.get("discovery", "discovery")

    def services(self) -> list[dict[str, Any]]:
        """GET Service List."""
        return self.get("services", "services")

    def definition(self, service_code: str) -> dict[str, Any]:
        """GET Service Definition."""
        return self.get(f"services/{service_code}", "service_definition")

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        """GET Service Requests, with the spec's optional filters."""
        return self.get("requests", "service_requests", **filters)

    def request(self, service_request_id: str) -> dict[str, Any]:
        """GET Service Request: the one request in the list the spec answers with."""
        [found] = self.get(f"requests/{service_request_id}", "service_requests")
        return found

    def create(self, service_code: str, *, attributes: dict[str, str] | None = None,
               **fields: str) -> dict[str, Any]:
        """POST Service Request, form-encoded, `attribute[code]=value` for a definition's fields."""
        form = {"service_code": service_code, **fields}
        if self.api_key is not None:
            form["api_key"] = self.api_key
        if self.jurisdiction_id is not None:
            form["jurisdiction_id"] = self.jurisdiction_id
        form |= {f"attribute[{code}]": value for code, value in (attributes or {}).items()}
        response = requests.post(f"{self.endpoint}/requests.{self.fmt}", data=form, timeout=10)
        answer = self._answer(response, "service_requests")
        if response.status_code not in (200, 201) or len(answer) != 1:
            raise SpecError(f"POST answered {response.status_code} with {answer!r}")
        return answer[0]
