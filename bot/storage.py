"""Where residents' photos are kept: a folder by default, or any S3-compatible bucket.

Both stores take the same short keys the code makes itself (`ticket-12/photo-7-<hex>.jpg`);
a key that could leave the folder is refused all the same.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from settings import Storage as StorageConfig

TIMEOUT = 10.0


class StorageError(Exception):
    """The store did not take, give or delete a file; retrying may help."""


class Store(Protocol):
    """What the photo code needs of a store."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Keep the bytes under the key (replacing what was there)."""

    def get(self, key: str) -> bytes | None:
        """Return the bytes kept under the key, or None when there are none."""

    def delete(self, key: str) -> None:
        """Delete the key (nothing happens when it is absent)."""


class FolderStore:
    """Files under one folder, written whole (a temporary file, then renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StorageError("key outside the photo folder")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the file whole: a reader never sees half a photo."""
        path = self._path(key)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except OSError as err:
            raise StorageError(f"folder: {err.strerror}") from None

    def get(self, key: str) -> bytes | None:
        """Read the file, or None when it is not there."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StorageError(f"folder: {err.strerror}") from None

    def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as err:
            raise StorageError(f"folder: {err.strerror}") from None


class S3Store:
    """Objects in one bucket of an S3-compatible store, through boto3."""

    def __init__(self, config: StorageConfig) -> None:
        self.bucket = config.bucket
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=config.endpoint_url, region_name=config.region,
            aws_access_key_id=config.access_key_id, aws_secret_access_key=config.secret_access_key,
            config=Config(connect_timeout=TIMEOUT, read_timeout=TIMEOUT,
                          retries={"max_attempts": 2, "mode": "standard"}))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload the object."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as err:
            raise StorageError(f"s3: {type(err).__name__}") from None

    def get(self, key: str) -> bytes | None:
        """Download the object, or None when there is no such key."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise StorageError(f"s3: {type(err).__name__}") from None
        except BotoCoreError as err:
            raise StorageError(f"s3: {type(err).__name__}") from None

    def delete(self, key: str) -> None:
        """Delete the object (S3 answers the same when it is absent)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as err:
            raise StorageError(f"s3: {type(err).__name__}") from None


def make_store(config: StorageConfig, project: Path, folder: Path | None = None) -> Store:
    """The store the config names: its bucket, else its folder (relative to the project).

    `folder` replaces the configured folder (tests keep photos out of the project).
    """
    if config.bucket:
        return S3Store(config)
    path = folder or Path(config.path)
    return FolderStore(path if path.is_absolute() else project / path)
