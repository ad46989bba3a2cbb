"""Open311 GeoReport v2: services, requests (GET and POST) and one request, field by field."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import settings
from models.categories import CODES
from models import Follower, OutboxMessage, Resident, Ticket, TicketEvent
from tests.conftest import EXAMPLE, START, cli
from tests.test_board import seed

KEY = "demo-open311-key-change-me"  # config.example.toml
# GeoReport v2, "GET Service List" and "GET Service Requests" response fields
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords",
                  "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"}
POSTED_FIELDS = {"service_request_id", "service_notice", "account_id"}


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    yield app.test_client()


def get(client: FlaskClient, path: str, expect: int = 200, **params: Any) -> Any:
    response = client.get(f"/open311/v2/{path}", query_string=params)
    assert response.status_code == expect, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(hours=8)  # ISO 8601 with the estate's offset
    return moment


def is_error(body: Any, code: int) -> bool:
    return (isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
            and body[0]["code"] == code and body[0]["description"])


def test_services_are_our_categories(client: FlaskClient) -> None:
    services = get(client, "services.json")
    assert [s["service_code"] for s in services] == list(CODES) + ["suggestion"]
    for service in services:
        assert set(service) == SERVICE_FIELDS
        assert service["metadata"] is (service["service_code"] == "elevator")  # the floor, trapped?
        assert service["type"] == "realtime"
        assert service["service_name"] and service["description"] and service["group"]
        assert isinstance(service["keywords"], str) and "," in service["keywords"] + ","
    elevator = services[0]
    assert elevator["service_name"] == "电梯" and "电梯" in elevator["keywords"].split(",")


def test_a_request_maps_every_field(app: Flask, client: FlaskClient) -> None:
    opened = START - timedelta(days=2)
    ids = seed(app, [
        {"state": "open", "urgent": True, "created_at": opened, "updated_at": opened,
         "resolve_due_at": opened + timedelta(days=1)},
        {"state": "claimed", "level": "property", "category": "water", "building": "5"},
        {"state": "resolved"}, {"state": "closed", "rating": 5}, {"state": "rejected"},
        {"state": "merged", "merged_into_id": 1}, {"state": "reopened"},
        {"kind": "suggestion", "category": None, "building": None, "place": "地下车库B区",
         "state": "open"},
    ])
    [first] = get(client, f"requests/{ids[0]}.json")
    assert set(first) == REQUEST_FIELDS
    assert first["service_request_id"] == str(ids[0]) and first["status"] == "open"
    assert first["service_code"] == "elevator" and first["service_name"] == "电梯"
    assert first["status_notes"] == "待受理（网格一级处理）"
    assert first["agency_responsible"] == "邻里花园网格员"
    assert first["service_notice"] == "紧急问题：30分钟内响应，1天内处理完。"
    assert iso(first["requested_datetime"]) == opened == iso(first["updated_datetime"])
    assert iso(first["expected_datetime"]) == opened + timedelta(days=1)  # the ticket's deadline
    assert first["address"] == "3栋" and first["description"] is None
    assert all(first[f] is None for f in ("address_id", "zipcode", "lat", "long", "media_url"))
    statuses = {int(r["service_request_id"]): (r["status"], r["status_notes"])
                for r in get(client, "requests.json")}
    assert [statuses[i][0] for i in ids] == ["open", "open", "closed", "closed", "closed", "closed",
                                             "open", "open"]
    assert statuses[ids[1]][1] == "处理中（物业一级处理）" and statuses[ids[5]][1] == "已合并到 #1 一并处理"
    [water] = get(client, "requests.json", service_code="water")
    assert water["agency_responsible"] == "邻里花园物业服务中心" and water["address"] == "5栋"
    [suggestion] = get(client, "requests.json", service_code="suggestion")
    assert suggestion["service_name"] == "建议" and suggestion["address"] == "地下车库"


def test_requests_filters(app: Flask, client: FlaskClient) -> None:
    old = START - timedelta(days=100)
    ids = seed(app, [{"state": "open", "category": "water"}, {"state": "closed", "category": "noise"},
                     {"state": "rejected", "category": "water"},
                     {"state": "open", "created_at": old, "updated_at": old}])

    def numbers(**params: str) -> list[int]:
        return [int(r["service_request_id"]) for r in get(client, "requests.json", **params)]

    assert numbers() == ids[2::-1]  # the last 90 days by default, newest first
    assert numbers(status="open") == [ids[0]] and numbers(status="closed") == [ids[2], ids[1]]
    assert numbers(status="open,closed") == ids[2::-1]
    assert numbers(service_code="water") == [ids[2], ids[0]]
    assert numbers(service_code="water,noise", status="closed") == [ids[2], ids[1]]
    start = (old - timedelta(days=1)).isoformat()
    assert numbers(start_date=start) == [ids[3]]  # start alone: the 90 days from it
    assert numbers(start_date=start, end_date=(old + timedelta(days=89)).isoformat()) == [ids[3]]
    assert numbers(end_date=(old + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == [ids[3]]
    assert numbers(start_date="2026-11-27T00:00:00", end_date="2026-11-28T00:00:00") == ids[2::-1]
    assert numbers(service_request_id=f"{ids[3]},{ids[0]},99999") == [ids[0], ids[3]]  # overrides
    for bad in ({"start_date": "yesterday"}, {"end_date": "2026-02-30T00:00:00Z"},
                {"start_date": start, "end_date": START.isoformat()},  # more than 90 days
                {"start_date": START.isoformat(), "end_date": old.isoformat()},
                {"status": "pending"}, {"service_code": "lift"}, {"service_request_id": "1,x"},
                {"service_request_id": ",".join(["1"] * 101)}):
        assert is_error(get(client, "requests.json", 400, **bad), 400), bad


def test_unknown_ids_and_formats(app: Flask, client: FlaskClient) -> None:
    seed(app, [{}])
    assert is_error(get(client, "requests/2.json", 404), 404)
    assert is_error(get(client, "requests/abc.json", 404), 404)
    for path in ("services.csv", "requests.html", "requests/1.yaml"):  # XML and JSON only
        response = client.get(f"/open311/v2/{path}")
        assert response.status_code == 400 and response.mimetype == "text/xml", path
        assert b"<errors><error><code>400</code>" in response.data


def counts(app: Flask) -> tuple[int, int, int, int]:
    with app.extensions["linli"].sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                     for model in (Ticket, TicketEvent, OutboxMessage, Resident))


def post(client: FlaskClient, status: int, **form: str) -> Any:
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


GOOD = {"service_code": "elevator", "address_string": "3栋2单元", "description": "电梯按钮失灵，有人被困",
        "account_id": "city-42", "email": "someone@example.com", "first_name": "李"}


def test_post_files_a_ticket_like_a_resident_report(app: Flask, client: FlaskClient) -> None:
    cli(app, "staff", "add", "--id", "zhao", "--channel", "wecom", "--name", "赵师傅",
        "--role", "property", "--categories", "elevator")
    [made] = post(client, 201, api_key=KEY, **GOOD)
    assert set(made) == POSTED_FIELDS and made["account_id"] == "city-42"
    assert made["service_notice"] == "紧急问题：30分钟内响应，1天内处理完。"
    number = int(made["service_request_id"])
    with app.extensions["linli"].sessions() as session:
        ticket = session.get(Ticket, number)
        assert (ticket.category, ticket.building, ticket.unit, ticket.urgent, ticket.state) == \
            ("elevator", "3", "2", True, "open")
        assert ticket.text == GOOD["description"] and ticket.place == "3栋2单元"
        assert ticket.resolve_due_at == START + timedelta(hours=24)
        assert [e.action for e in ticket.events] == ["opened"]
        card = session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "zhao"))
        assert card is not None and f"#{number}" in card.body  # routed to the elevator team
        assert session.scalar(select(func.count()).select_from(Follower)) == 0
        assert "someone@example.com" not in repr([r.openid for r in session.scalars(select(Resident))])
    [shown] = get(client, f"requests/{number}.json")
    assert shown["status"] == "open" and shown["address"] == "3栋"
    assert iso(shown["expected_datetime"]) == START + timedelta(hours=24)
    [second] = post(client, 201, api_key=KEY, service_code="suggestion", lat="29.56",
                    long="106.55", description="建议在中心花园加几张休息椅")
    assert second["account_id"] is None and int(second["service_request_id"]) == number + 1


@pytest.mark.parametrize(("form", "status"), [
    ({}, 403), ({"api_key": ""}, 403), ({"api_key": "wrong-key-wrong-key"}, 403),
    ({"api_key": KEY.upper()}, 403),
    ({"api_key": KEY, "service_code": "lift"}, 404), ({"api_key": KEY, "service_code": ""}, 400),
    ({"api_key": KEY, "address_string": "", "lat": "", "long": ""}, 400),
    ({"api_key": KEY, "address_string": "", "lat": "91", "long": "10"}, 400),
    ({"api_key": KEY, "address_string": "", "lat": "nan", "long": "10"}, 400),
    ({"api_key": KEY, "description": ""}, 400), ({"api_key": KEY, "description": "坏" * 1001}, 400),
    ({"api_key": KEY, "address_string": "楼" * 201}, 400),
    ({"api_key": KEY, "account_id": "a" * 65}, 400),
])
def test_post_refused_writes_nothing(app: Flask, client: FlaskClient, form: dict[str, str],
                                     status: int) -> None:
    before = counts(app)
    body = post(client, status, **(GOOD | form))
    assert is_error(body, status)
    assert counts(app) == before


def test_post_refused_when_no_key_is_configured(database, fake_wechat, clock) -> None:
    from tests.conftest import make_app
    app = make_app(database, fake_wechat, clock, settings={"open311": {}})
    try:
        body = post(app.test_client(), 403, api_key=KEY, **GOOD)
        assert "未配置" in body[0]["description"] and counts(app)[0] == 0
        # no jurisdiction_id configured: one endpoint, one jurisdiction, any name is taken
        assert get(app.test_client(), "services.json", jurisdiction_id="sfgov.org")
    finally:
        app.extensions["linli"].close()


def test_post_with_the_key_in_a_json_body_is_refused(app: Flask, client: FlaskClient) -> None:
    response = client.post("/open311/v2/requests.json", json=GOOD | {"api_key": KEY})
    assert response.status_code == 403 and counts(app)[0] == 0  # the spec's POST is form-encoded


def test_config_checks_the_api_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(f'api_key = "{KEY}"', 'api_key = "short"')
    bad = tmp_path / "config.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(settings.ConfigError, match=r"\[open311\] api_key"):
        settings.load(bad)
    assert settings.redacted(settings.load(EXAMPLE))["open311"]["api_key"] == "***"
    text = EXAMPLE.read_text(encoding="utf-8").replace('jurisdiction_id = "linli-garden.example.cn"',
                                                       'jurisdiction_id = "linli garden/"')
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(settings.ConfigError, match=r"\[open311\] jurisdiction_id"):
        settings.load(bad)


def test_old_requests_leave_the_default_window(app: Flask, client: FlaskClient, clock) -> None:
    [number] = seed(app, [{"created_at": datetime(2026, 9, 15, tzinfo=timezone.utc)}])
    assert [r["service_request_id"] for r in get(client, "requests.json")] == [str(number)]
    clock.advance(days=30)
    assert get(client, "requests.json") == []
    assert get(client, f"requests/{number}.json")[0]["service_request_id"] == str(number)


def test_the_key_in_the_address_is_refused_even_when_right(app: Flask, client: FlaskClient) -> None:
    """Issue 18, item 8: a key in the query string would land in every access log."""
    response = client.post(f"/open311/v2/requests.json?api_key={KEY}", data=GOOD)
    assert response.status_code == 403 and counts(app)[0] == 0
    assert "X-Api-Key" in response.get_json()[0]["description"]
    both = client.post(f"/open311/v2/requests.json?api_key={KEY}", data=GOOD | {"api_key": KEY})
    assert both.status_code == 403 and counts(app)[0] == 0


def test_the_key_in_a_header_files_the_request(app: Flask, client: FlaskClient) -> None:
    response = client.post("/open311/v2/requests.json", data=GOOD, headers={"X-Api-Key": KEY})
    assert response.status_code == 201 and counts(app)[0] == 1
    wrong = client.post("/open311/v2/requests.json", data=GOOD, headers={"X-Api-Key": KEY + "x"})
    assert wrong.status_code == 403 and counts(app)[0] == 1
