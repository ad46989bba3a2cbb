"""Photos that last: each photo a resident sends is copied from WeChat's media/get into the
project's storage by a job in the outbox, staff open it through a signed link that expires,
the board shows it only once published and without EXIF, and erasure deletes it."""
from __future__ import annotations

import re
import time
from io import BytesIO
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import requests
from flask import Flask
from PIL import Image
from sqlalchemy import select

from bot.commands import STAFF_COMMANDS
from models import OutboxMessage, Ticket, TicketPhoto
from tests.conftest import Clock, cli, make_app
from tests.factories import WeChatPeer, image_xml
from tests.fakes import FakeWeChat, Served


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about where photos are kept and who may open them,
    the same on either database."""
    return sqlite_database

PROPERTY = "zhao"  # property staff for lifts, on WeCom: gets the ticket card
GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A phone's photo: EXIF with the maker and where it was taken, and a comment."""
    image = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (29.0, 33.0, 36.0), 3: "E", 4: (106.0, 33.0, 0.0)}
    out = BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"home-5-2-1203")
    return out.getvalue()


def wait_for(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def register(app: Flask) -> None:
    """Property staff for lifts and the grid worker of building 5, both on WeCom."""
    cli(app, "staff", "add", "--id", PROPERTY, "--channel", "wecom", "--name", "赵师傅",
        "--role", "property", "--categories", "elevator")
    cli(app, "staff", "add", "--id", "wang", "--channel", "wecom", "--name", "王网格",
        "--role", "grid", "--buildings", "1-5")


def photo_rows(app: Flask) -> list[TicketPhoto]:
    with app.extensions["linli"].sessions() as session:
        return list(session.scalars(select(TicketPhoto).order_by(TicketPhoto.id)))


def kept(app: Flask, count: int = 1) -> list[TicketPhoto]:
    """Wait until `count` photos are kept in storage; return the rows."""
    return wait_for(lambda: (rows := photo_rows(app)) and len(rows) >= count
                    and all(r.stored_key for r in rows) and rows)


def staff_links(fake: FakeWeChat) -> list[str]:
    """The photo links in what WeCom staff received, oldest first."""
    texts = [b["markdown"]["content"] for b in fake.sent("message/send")]
    return [url for text in texts for url in re.findall(r"\((https?://[^)\s]+/photos/[^)\s]+)\)", text)]


def opened(server: str, link: str) -> requests.Response:
    """Open a link from a card on the test's server (the card names the configured address)."""
    return requests.get(server + urlsplit(link).path, timeout=10)


def report_with_photo(peer: WeChatPeer, fake: FakeWeChat, media_id: str, data: bytes) -> None:
    """The resident sends a photo, then says what it shows: ticket #1 opens with it."""
    fake.media[media_id] = data
    assert "什么问题" in (peer.post(image_xml(media_id)).content or "")
    assert "#1" in (peer.say("5栋电梯坏了") or "")


def resident_texts(fake: FakeWeChat) -> list[str]:
    return [b["text"]["content"] for b in fake.sent()]


def test_a_photo_stays_visible_to_staff_after_wechat_forgets_it(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat, clock: Clock) -> None:
    register(app)
    original = jpeg_with_gps()
    report_with_photo(peer, fake_wechat, "lift-1", original)
    [photo] = kept(app)
    assert photo.size == len(original) and photo.content_type == "image/jpeg"
    assert fake_wechat.downloads() == ["lift-1"]
    link = wait_for(lambda: staff_links(fake_wechat))[0]
    clock.advance(days=3, minutes=1)  # WeChat keeps a media_id three days
    fake_wechat.expire_media("lift-1")
    response = opened(server, link)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert response.content == original  # staff see the photo as sent
    assert "no-store" in response.headers["Cache-Control"]
    assert fake_wechat.downloads() == ["lift-1"]  # served from storage, not from WeChat


def test_a_photo_added_later_reaches_the_handler_with_a_link(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    assert "#1" in (peer.say("5栋电梯坏了") or "")
    fake_wechat.media["lift-2"] = jpeg_with_gps()
    assert "#1" in (peer.post(image_xml("lift-2")).content or "")
    kept(app)
    link = wait_for(lambda: staff_links(fake_wechat))[-1]
    assert opened(server, link).content == fake_wechat.media["lift-2"]


def test_the_link_stops_working_after_expiry_and_when_tampered_with(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat, clock: Clock) -> None:
    register(app)
    report_with_photo(peer, fake_wechat, "lift-3", jpeg_with_gps())
    kept(app)
    link = wait_for(lambda: staff_links(fake_wechat))[0]
    payload, stamp, signature = urlsplit(link).path.rsplit("/", 1)[1].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for forged in (f"{payload}.{stamp}.{flipped}",  # the signature changed
                   f"Mg.{stamp}.{signature}",  # another photo's number under this signature
                   f"{payload}.{stamp}", "x"):
        response = requests.get(f"{server}/photos/{forged}", timeout=10)
        assert response.status_code == 403 and "无效" in response.text
        assert not response.headers["Content-Type"].startswith("image/")
    clock.advance(days=6, hours=23)
    assert opened(server, link).status_code == 200  # [storage] link_ttl is 7 days
    clock.advance(hours=1, seconds=1)
    response = opened(server, link)
    assert response.status_code == 410 and "过期" in response.text and "照片 #" in response.text
    assert not response.headers["Content-Type"].startswith("image/")
    cli(app, "staff", "add", "--id", "oStaffWang", "--channel", "wechat", "--name", "王网格",
        "--role", "grid", "--buildings", "1-5")
    answer = peer.say("照片 #1", openid="oStaffWang") or ""  # a fresh link, on asking
    [fresh] = re.findall(r"https?://\S+/photos/\S+", answer)
    assert "7天内有效" in answer and fresh != link
    assert opened(server, fresh).content == fake_wechat.media["lift-3"]
    assert "照片 #N" in STAFF_COMMANDS.help()
    stranger = peer.say("照片 #1", openid="oSomeResident") or ""
    assert "/photos/" not in stranger  # residents get no links to a ticket's photos


def test_the_board_shows_a_photo_only_once_published_and_without_exif(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    original = jpeg_with_gps((2000, 1500))
    assert Image.open(BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the upload says where
    report_with_photo(peer, fake_wechat, "lift-4", original)
    [photo] = kept(app)
    row = requests.get(f"{server}/board.json", timeout=10).json()["tickets"][0]
    assert row["photos"] == []  # not published
    assert requests.get(f"{server}/board/photos/{photo.id}.jpg", timeout=10).status_code == 404
    assert 'class="photo"' not in requests.get(f"{server}/board", timeout=10).text
    cli(app, "staff", "add", "--id", "oStaffWang", "--channel", "wechat", "--name", "王网格",
        "--role", "grid", "--buildings", "1-5")
    published = peer.say("公示 #1", openid="oStaffWang") or ""
    assert "已公示" in published and "1张照片也一并公示" in published  # staff are told to check it
    row = requests.get(f"{server}/board.json", timeout=10).json()["tickets"][0]
    assert row["photos"] == [f"/board/photos/{photo.id}.jpg"]
    assert f'src="/board/photos/{photo.id}.jpg"' in requests.get(f"{server}/board", timeout=10).text
    served = requests.get(server + row["photos"][0], timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    image = Image.open(BytesIO(served.content))
    assert image.size == (1600, 1200) and image.format == "JPEG"  # big enough to see, no bigger
    assert not image.getexif() and not image.getexif().get_ifd(GPS_IFD)
    assert b"Exif" not in served.content and b"PhoneMaker" not in served.content
    assert b"home-5-2-1203" not in served.content and "comment" not in image.info
    cli(app, "board", "unpublish", "1")
    assert requests.get(server + row["photos"][0], timeout=10).status_code == 404


def test_a_failed_download_is_retried_with_backoff_and_loses_nothing(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat, clock: Clock) -> None:
    register(app)
    fake_wechat.media_fail_next = [500, 45009]  # WeChat down, then over its quota
    report_with_photo(peer, fake_wechat, "lift-5", jpeg_with_gps())

    def job() -> OutboxMessage:
        with app.extensions["linli"].sessions() as session:
            return session.scalar(select(OutboxMessage).where(
                OutboxMessage.dedupe_key == f"photo:{photo_rows(app)[0].id}:keep"))

    wait_for(lambda: job().attempts == 1 and job().status == "pending")
    assert photo_rows(app)[0].stored_key is None and job().due_at > clock()
    link = wait_for(lambda: staff_links(fake_wechat))[0]
    assert opened(server, link).status_code == 404 and "稍后" not in opened(server, link).text
    assert "还在" in opened(server, link).text  # still on its way
    for _ in range(2):
        clock.advance(hours=1)
        cli(app, "outbox", "deliver")
    [photo] = kept(app)
    assert job().status == "sent" and job().attempts == 3
    assert opened(server, link).content == fake_wechat.media["lift-5"]


def test_a_download_whose_worker_died_is_taken_up_again_when_its_lease_runs_out(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat, clock: Clock) -> None:
    fake_wechat.media_fail_next = [500]
    report_with_photo(peer, fake_wechat, "lift-7", jpeg_with_gps())
    services = app.extensions["linli"]
    key = f"photo:{photo_rows(app)[0].id}:keep"

    def job() -> OutboxMessage:
        with services.sessions() as session:
            return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))

    wait_for(lambda: job().attempts == 1 and job().status == "pending")
    # a worker claims the retry and dies before it settles: the row stays claimed
    with services.engine.begin() as connection:
        connection.execute(OutboxMessage.__table__.update().where(
            OutboxMessage.__table__.c.dedupe_key == key).values(status="sending", claimed_at=clock()))
    clock.advance(seconds=30)
    cli(app, "outbox", "deliver")
    assert photo_rows(app)[0].stored_key is None  # its lease (60 s) still holds it
    clock.advance(seconds=31)
    cli(app, "outbox", "deliver")
    [photo] = kept(app)
    assert services.store.get(photo.stored_key) == fake_wechat.media["lift-7"]


def test_the_log_keeps_the_route_not_the_link(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat,
        caplog: pytest.LogCaptureFixture) -> None:
    register(app)
    report_with_photo(peer, fake_wechat, "lift-8", jpeg_with_gps())
    kept(app)
    link = wait_for(lambda: staff_links(fake_wechat))[0]
    signed = urlsplit(link).path.rsplit("/", 1)[1]
    with caplog.at_level("INFO"):
        assert opened(server, link).status_code == 200
        wait_for(lambda: "GET /photos/" in caplog.text)
    assert signed not in caplog.text  # a link in a log would open the photo for a week


def test_a_photo_wechat_forgot_before_it_was_fetched_is_reported_lost(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    fake_wechat.expire_media("old-1")
    report_with_photo(peer, fake_wechat, "old-1", jpeg_with_gps())
    link = wait_for(lambda: staff_links(fake_wechat))[0]
    wait_for(lambda: "取回" in opened(server, link).text)  # given up at once: retrying cannot help
    assert fake_wechat.downloads() == ["old-1"]


def test_a_file_that_is_not_an_image_is_refused_with_a_clear_message(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    fake_wechat.media["doc-1"] = b"%PDF-1.4\n1 0 obj <<>> endobj\n" * 20  # named .jpg by the fake
    report_with_photo(peer, fake_wechat, "doc-1", fake_wechat.media["doc-1"])
    told = wait_for(lambda: [t for t in resident_texts(fake_wechat) if "不是图片" in t])
    assert "#1" in told[0] and "请直接发送照片" in told[0]
    [photo] = photo_rows(app)
    assert photo.problem == "not_image" and photo.stored_key is None
    link = staff_links(fake_wechat)[0]
    assert opened(server, link).status_code == 404
    assert "不是可保存的图片" in opened(server, link).text


def test_a_cut_off_image_is_refused_too(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    whole = jpeg_with_gps((400, 300))
    report_with_photo(peer, fake_wechat, "cut-1", whole[:len(whole) // 2])  # JPEG header, half the data
    wait_for(lambda: [t for t in resident_texts(fake_wechat) if "不是图片" in t])
    assert photo_rows(app)[0].problem == "not_image"


@pytest.fixture
def small_limit(database: tuple[str, str | None], fake_wechat: FakeWeChat,
                clock: Clock) -> Iterator[tuple[Flask, str]]:
    """The app taking photos of at most 2 MB."""
    app = make_app(database, fake_wechat, clock, settings={"storage.max_bytes": 2 * 1024 * 1024})
    served = Served(app)
    yield app, served.url
    served.close()
    app.extensions["linli"].close()


def test_a_photo_over_the_size_limit_is_refused_with_what_to_send(
        small_limit: tuple[Flask, str], fake_wechat: FakeWeChat) -> None:
    app, url = small_limit
    conf = app.extensions["linli"].config.wechat
    peer = WeChatPeer(url, conf.token, conf.app_id, clock=app.extensions["linli"].clock)
    big = jpeg_with_gps() + b"\0" * (2 * 1024 * 1024)  # a JPEG, padded past the limit
    report_with_photo(peer, fake_wechat, "huge-1", big)
    told = wait_for(lambda: [t for t in resident_texts(fake_wechat) if "超过" in t])
    assert "2MB" in told[0] and "原图" in told[0]
    assert photo_rows(app)[0].problem == "too_large"


def test_erasure_deletes_the_residents_photos_from_storage(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    report_with_photo(peer, fake_wechat, "lift-6", jpeg_with_gps())
    [photo] = kept(app)
    store = app.extensions["linli"].store
    assert store.get(photo.stored_key) and store.get(photo.public_key)
    link = wait_for(lambda: staff_links(fake_wechat))[0]
    cli(app, "board", "publish", "1")
    assert "照片：1张" in (peer.say("我的信息") or "")
    assert "您发的照片" in (peer.say("删除我的信息") or "")
    assert "已删除" in (peer.say("确认删除") or "")
    wait_for(lambda: store.get(photo.stored_key) is None and store.get(photo.public_key) is None)
    assert photo_rows(app) == []
    assert opened(server, link).status_code == 404
    assert requests.get(f"{server}/board/photos/{photo.id}.jpg", timeout=10).status_code == 404
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, 1) is not None  # the ticket itself is kept, pseudonymised


def test_open311_gives_a_published_photo_as_media_url_in_json_and_xml(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    report_with_photo(peer, fake_wechat, "lift-9", jpeg_with_gps())
    [photo] = kept(app)

    def media_urls() -> tuple[Any, str | None]:
        as_json = requests.get(f"{server}/open311/v2/requests/1.json", timeout=10).json()[0]
        as_xml = ElementTree.fromstring(
            requests.get(f"{server}/open311/v2/requests/1.xml", timeout=10).content)
        return as_json["media_url"], as_xml.findtext("request/media_url")

    assert media_urls() == (None, "")  # not published: no photo leaves
    cli(app, "board", "publish", "1")
    url = f"{server}/board/photos/{photo.id}.jpg"
    assert media_urls() == (url, url)
    served = requests.get(url, timeout=10)
    assert served.status_code == 200 and not Image.open(BytesIO(served.content)).getexif()
    assert b"Exif" not in served.content and "mmbiz" not in str(media_urls())  # never WeChat's PicUrl
