"""Photo storage: the folder by default, and an S3-compatible bucket set by config — tested
against moto's S3 server on 127.0.0.1 over real HTTP, with boto3 as production uses it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import boto3
import pytest
import requests
from flask import Flask
from sqlalchemy import select

from bot.storage import FolderStore, StorageError
from models import OutboxMessage
from tests.conftest import Clock, cli, free_port, make_app
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat, Served
from tests.test_photos import (jpeg_with_gps, kept, opened, register, report_with_photo,
                               staff_links, wait_for)

CREDENTIALS = {"access_key_id": "test-access-key", "secret_access_key": "test-secret-key"}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in its own process on 127.0.0.1; yields its address."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/moto-api/", timeout=2)
            break
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)
    log.close()


def bucket_client(url: str):  # noqa: ANN201 - boto3's client class is generated
    return boto3.session.Session().client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"])


@dataclass
class S3App:
    """The app keeping photos in a bucket of its own on the S3 server."""

    app: Flask
    url: str
    bucket: str
    s3: str

    def peer(self) -> WeChatPeer:
        conf = self.app.extensions["linli"].config.wechat
        return WeChatPeer(self.url, conf.token, conf.app_id, clock=self.app.extensions["linli"].clock)

    def objects(self) -> dict[str, bytes]:
        """Every object in the bucket."""
        client = bucket_client(self.s3)
        return {o["Key"]: client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
                for o in client.list_objects_v2(Bucket=self.bucket).get("Contents", [])}


@pytest.fixture
def s3_app(s3_server: str, database: tuple[str, str | None], fake_wechat: FakeWeChat,
           clock: Clock) -> Iterator[S3App]:
    """The app keeping photos in a fresh bucket of the S3 server."""
    bucket = f"linli-{uuid.uuid4().hex[:12]}"
    bucket_client(s3_server).create_bucket(Bucket=bucket)
    app = make_app(database, fake_wechat, clock, settings={
        "storage.bucket": bucket, "storage.endpoint_url": s3_server, "storage.region": "us-east-1",
        **{f"storage.{key}": value for key, value in CREDENTIALS.items()}})
    served = Served(app)
    yield S3App(app, served.url, bucket, s3_server)
    served.close()
    app.extensions["linli"].close()


def test_photos_live_in_the_bucket_and_leave_it_on_erasure(
        s3_app: S3App, fake_wechat: FakeWeChat) -> None:
    app, server, peer = s3_app.app, s3_app.url, s3_app.peer()
    register(app)
    original = jpeg_with_gps()
    report_with_photo(peer, fake_wechat, "s3-1", original)
    [photo] = kept(app)
    stored = s3_app.objects()
    assert stored[photo.stored_key] == original  # as sent, in the bucket
    assert b"Exif" not in stored[photo.public_key]
    link = wait_for(lambda: staff_links(fake_wechat))[0]
    fake_wechat.expire_media("s3-1")
    assert opened(server, link).content == original
    cli(app, "board", "publish", "1")
    public = requests.get(f"{server}/board/photos/{photo.id}.jpg", timeout=10)
    assert public.status_code == 200 and public.content == stored[photo.public_key]
    peer.say("删除我的信息")
    peer.say("确认删除")
    wait_for(lambda: s3_app.objects() == {})
    assert opened(server, link).status_code == 404


def test_a_store_that_is_down_is_retried_later(
        s3_app: S3App, fake_wechat: FakeWeChat, clock: Clock) -> None:
    app, client = s3_app.app, bucket_client(s3_app.s3)
    client.delete_bucket(Bucket=s3_app.bucket)  # the store refuses every upload for now
    report_with_photo(s3_app.peer(), fake_wechat, "s3-2", jpeg_with_gps())

    def job() -> OutboxMessage | None:
        with app.extensions["linli"].sessions() as session:
            return session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "wechat_media"))

    failed = wait_for(lambda: (found := job()) and found.attempts == 1 and found.status == "pending"
                      and found)
    assert failed.last_error.startswith("s3:") and "secret" not in failed.last_error
    client.create_bucket(Bucket=s3_app.bucket)
    clock.advance(minutes=5)
    cli(app, "outbox", "deliver")
    [photo] = kept(app)
    assert s3_app.objects()[photo.stored_key] == fake_wechat.media["s3-2"]


def test_the_folder_refuses_keys_that_leave_it(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "photos")
    store.put("ticket-1/photo-1.jpg", b"x", "image/jpeg")
    assert store.get("ticket-1/photo-1.jpg") == b"x" and store.get("ticket-1/none.jpg") is None
    for bad in ("../outside.jpg", "/etc/passwd", "ticket-1/../../x"):
        with pytest.raises(StorageError):
            store.put(bad, b"x", "image/jpeg")
    assert not (tmp_path / "outside.jpg").exists()
    store.delete("ticket-1/photo-1.jpg")
    store.delete("ticket-1/photo-1.jpg")  # already gone: nothing to do
    assert store.get("ticket-1/photo-1.jpg") is None
