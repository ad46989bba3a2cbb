"""Open311 as the spec says: a client written from the spec reads the estate in XML and JSON alike,
files a request in both, and gets the spec's errors in both (issue 17)."""
from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from models import Ticket
from models.categories import CODES
from tests.conftest import START
from tests.open311_client import FORMATS, Open311Client, Refused, SpecError, read
from tests.open311_spec_examples import EXAMPLES
from tests.test_board import seed


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the spec's formats, the same on either database."""
    return sqlite_database

KEY = "demo-open311-key-change-me"  # config.example.toml
JURISDICTION = "linli-garden.example.cn"  # config.example.toml
ROOTS = {"services": "services", "definition": "service_definition", "posted": "service_requests",
         "requests": "service_requests", "errors": "errors", "discovery": "discovery"}


def client(server: str, fmt: str, **options: Any) -> Open311Client:
    return Open311Client(f"{server}/open311/v2", fmt, **options)


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_client_reads_the_specs_examples_alike_in_both_formats(example: str) -> None:
    """The client is right about the spec before it judges our server: each of the spec's
    examples reads the same from its XML and its JSON."""
    xml, json_ = EXAMPLES[example]
    assert read("xml", xml, ROOTS[example]) == read("json", json_, ROOTS[example])


def test_the_examples_read_as_the_spec_types_them() -> None:
    services = read("xml", EXAMPLES["services"][0], "services")
    assert [s["service_code"] for s in services] == ["001", "002"] and services[1]["metadata"] is True
    [attribute] = read("xml", EXAMPLES["definition"][0], "service_definition")["attributes"]
    assert attribute["order"] == 1 and attribute["datatype_description"] is None
    assert [v["key"] for v in attribute["values"]] == ["123", "124"]
    [posted] = read("xml", EXAMPLES["posted"][0], "service_requests")
    assert posted["service_request_id"] == "293944" and posted["account_id"] is None
    first = read("json", EXAMPLES["requests"][1], "service_requests")[0]
    assert first["lat"] == 37.762221815 and first["description"] is None
    assert first["requested_datetime"].utcoffset() == timedelta(hours=-8)
    assert read("json", EXAMPLES["errors"][1], "errors")[0]["code"] == 403
    endpoints = read("xml", EXAMPLES["discovery"][0], "discovery")["endpoints"]
    assert endpoints[1]["formats"] == ["text/xml", "application/json"]
    with pytest.raises(SpecError):  # and it can tell when an answer breaks the spec
        read("xml", EXAMPLES["services"][0].replace(b"<services>", b"<list>")
             .replace(b"</services>", b"</list>"), "services")


def test_discovery_names_the_endpoint_and_both_formats(server: str) -> None:
    found = {fmt: client(server, fmt).discovery() for fmt in FORMATS}
    assert found["xml"] == found["json"]
    [endpoint] = found["xml"]["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"{server}/open311/v2" and endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert "邻里花园" in found["xml"]["contact"] and "api_key" in found["xml"]["key_service"]


def test_xml_carries_the_declaration_and_the_specs_names(server: str) -> None:
    response = requests.get(f"{server}/open311/v2/services.xml", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<services><service>')
    assert "<service_name>电梯</service_name>".encode() in response.content  # UTF-8, not escaped


def test_services_and_definitions_read_alike_in_both_formats(server: str) -> None:
    xml, json_ = (client(server, fmt) for fmt in FORMATS)
    services = xml.services()
    assert services == json_.services()
    assert [s["service_code"] for s in services] == list(CODES) + ["suggestion"]
    asks_more = {s["service_code"] for s in services if s["metadata"]}
    assert asks_more == {"elevator"}
    lift = xml.definition("elevator")
    assert lift == json_.definition("elevator") and lift["service_code"] == "elevator"
    floor, trapped = lift["attributes"]
    assert (floor["code"], floor["datatype"], floor["order"], floor["required"]) == \
        ("floor", "string", 1, False)
    assert (trapped["code"], trapped["datatype"], trapped["order"]) == ("trapped", "singlevaluelist", 2)
    assert [(v["key"], v["name"]) for v in trapped["values"]] == [("yes", "有人被困"), ("no", "没有人被困")]
    assert xml.definition("water") == {"service_code": "water", "attributes": []}
    for reader in (xml, json_):
        with pytest.raises(Refused) as refused:
            reader.definition("lift")
        assert refused.value.status == 404 and refused.value.errors[0][0] == 404


def test_requests_read_alike_in_both_formats_with_every_filter(app: Flask, server: str) -> None:
    old = START - timedelta(days=100)
    ids = seed(app, [{"state": "open", "category": "water", "public_text": "水管漏了\x01"},
                     {"state": "closed", "category": "noise"}, {"state": "claimed"},
                     {"state": "open", "created_at": old, "updated_at": old}])
    xml, json_ = (client(server, fmt, jurisdiction_id=JURISDICTION) for fmt in FORMATS)
    start = (old - timedelta(days=1)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for filters in ({}, {"status": "open"}, {"status": "open,closed", "service_code": "water,noise"},
                    {"start_date": start}, {"service_request_id": f"{ids[3]},{ids[0]}"},
                    {"jurisdiction_id": ""}):
        assert xml.requests(**filters) == json_.requests(**filters), filters
    assert [r["service_request_id"] for r in xml.requests(status="open")] == [str(ids[2]), str(ids[0])]
    assert [r["service_request_id"] for r in xml.requests(start_date=start)] == [str(ids[3])]
    water = xml.request(str(ids[0]))
    assert water == json_.request(str(ids[0]))
    assert water["description"] == "水管漏了"  # a character XML cannot carry is left out, in both
    assert water["status"] == "open" and water["address"] == "3栋" and water["media_url"] is None
    assert water["requested_datetime"].utcoffset() == timedelta(hours=8)


def tickets(app: Flask) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Ticket))  # type: ignore[return-value]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_client_files_a_request_in_each_format(app: Flask, server: str, fmt: str) -> None:
    city = client(server, fmt, api_key=KEY, jurisdiction_id=JURISDICTION)
    made = city.create("elevator", address_string="5栋1单元", description="电梯门关不上",
                       account_id="city-7", attributes={"floor": "12", "trapped": "yes"})
    assert made["account_id"] == "city-7" and made["service_notice"].startswith("紧急问题")
    number = made["service_request_id"]
    with app.extensions["linli"].sessions() as session:
        ticket = session.get(Ticket, int(number))
        assert ticket.text == "电梯门关不上（12层）（有人被困）" and ticket.urgent  # trapped: urgent
        assert (ticket.category, ticket.building, ticket.unit) == ("elevator", "5", "1")
    shown = city.request(number)
    assert shown["service_code"] == "elevator" and shown["status"] == "open"
    assert shown == client(server, "json" if fmt == "xml" else "xml").request(number)
    plain = city.create("suggestion", lat="29.56", long="106.55", description="建议多装几盏路灯")
    assert int(plain["service_request_id"]) == int(number) + 1 and plain["account_id"] is None


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("call", "status", "words"), [
    (lambda c: Open311Client(c.endpoint, c.fmt, api_key="wrong-key-wrong-key").create(
        "water", address_string="3栋", description="漏水"), 403, "api_key"),
    (lambda c: c.create("water", address_string="3栋", description="漏水",
                        attributes={"floor": "3"}), 400, "floor"),
    (lambda c: c.create("elevator", address_string="3栋", description="电梯坏了",
                        attributes={"trapped": "maybe"}), 400, "yes"),
    (lambda c: c.create("elevator", address_string="3栋", description="电梯坏了",
                        attributes={"floor": "1" * 11}), 400, "太长"),
    (lambda c: c.requests(status="pending"), 400, "status"),
    (lambda c: c.request("99999"), 404, "99999"),
    (lambda c: c.create("lift", address_string="3栋", description="电梯坏了"), 404, "lift"),
    (lambda c: Open311Client(c.endpoint, c.fmt, jurisdiction_id="sfgov.org").services(), 404,
     "jurisdiction_id"),
    (lambda c: Open311Client(c.endpoint, c.fmt, api_key=KEY, jurisdiction_id="sfgov.org").create(
        "water", address_string="3栋", description="漏水"), 404, "jurisdiction_id"),
    (lambda c: c.get("tokens/123", "service_requests"), 404, "discovery"),
])
def test_errors_come_in_the_specs_form_in_each_format(app: Flask, server: str, fmt: str, call: Any,
                                                      status: int, words: str) -> None:
    city = client(server, fmt, api_key=KEY)
    with pytest.raises(Refused) as refused:
        call(city)
    assert refused.value.status == status
    [(code, description)] = refused.value.errors
    assert code == status and words in description
    assert tickets(app) == 0  # a refused POST writes nothing


def test_an_unknown_format_is_told_in_the_specs_required_format(server: str) -> None:
    response = requests.get(f"{server}/open311/v2/services.csv", timeout=10)
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/xml")
    [(code, description)] = [(e["code"], e["description"])
                             for e in read("xml", response.content, "errors")]
    assert code == 400 and ".xml" in description and ".json" in description
