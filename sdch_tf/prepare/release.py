"""A dataset release as the user downloaded it: a folder, a ``.zip`` or a tar archive.

Every preparation reads its inputs through ``open_release(path, what)``, so that each argument
of ``python -m sdch_tf.prepare`` may be the archive or the folder it extracts to. Members are
named by their path inside the release with ``/`` separators (``mirflickr/im1.jpg``), whatever
the archive's or the file system's own convention; ``find(suffix)`` locates a member whose
path ends with a given tail, so that an extra top folder (``mirflickr25k/mirflickr/...``, a
user's ``unzip -d``) does not matter.

A tar archive can only be read efficiently front to back (a gzip stream cannot seek back), so
``members_in_read_order`` tells the writer in which order to visit images: archive order for a
tar, the requested order otherwise (docs/data-preparation.md, "Streaming and resuming").
"""
from __future__ import annotations

import os
import tarfile
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

from sdch_tf.input_errors import InputError


class ReleaseError(InputError):
    """A release argument that is missing, unreadable, or not the release it should be; the
    message names the path and what was looked for."""


class Release:
    """Read-only access to the files of one release (folder or archive)."""

    #: True when members are cheap to read in any order (folder, zip); False for tar.
    random_access = True

    def __init__(self, path: Path, what: str):
        self.path = path
        self.what = what  # e.g. "the MIRFlickr-25K images (mirflickr25k.zip)", for messages
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        """Every regular file in the release, as ``a/b/c`` paths, in a fixed order."""
        if self._names is None:
            self._names = self._list()
        return self._names

    def _list(self) -> list[str]:
        raise NotImplementedError

    def read_bytes(self, name: str) -> bytes:
        raise NotImplementedError

    def read_text(self, name: str, encoding: str = "utf-8") -> str:
        return self.read_bytes(name).decode(encoding, errors="replace")

    def find(self, tail: str) -> str | None:
        """The member whose path is ``tail`` or ends with ``/tail`` (shortest such path), or None."""
        tail = tail.strip("/")
        matches = [n for n in self.names() if n == tail or n.endswith("/" + tail)]
        return min(matches, key=len) if matches else None

    def require(self, tail: str, hint: str = "") -> str:
        """``find(tail)``, or a ``ReleaseError`` naming the release and what it holds instead."""
        found = self.find(tail)
        if found is None:
            raise ReleaseError(
                f"{self.path}: {self.what} has no file {tail!r}{hint}; {self.describe()}"
            )
        return found

    def describe(self, limit: int = 4) -> str:
        names = self.names()
        if not names:
            return "it holds no files"
        shown = ", ".join(names[:limit])
        return f"it holds {len(names)} files, e.g. {shown}" + (", ..." if len(names) > limit else "")

    def members_in_read_order(self, wanted: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """Yields (name, bytes) for each wanted member, in the cheapest order for this release;
        bytes is None for a member that cannot be read (the caller reports it)."""
        for name in wanted:
            try:
                yield name, self.read_bytes(name)
            except (OSError, KeyError, zipfile.BadZipFile, EOFError, tarfile.TarError):
                yield name, None

    def close(self) -> None:
        pass


class FolderRelease(Release):
    def _list(self) -> list[str]:
        root = str(self.path)
        found = []
        for directory, subdirs, files in os.walk(root):
            subdirs.sort()
            rel = os.path.relpath(directory, root)
            for file in sorted(files):
                found.append(file if rel == "." else f"{rel.replace(os.sep, '/')}/{file}")
        return found

    def read_bytes(self, name: str) -> bytes:
        return (self.path / name).read_bytes()


class ZipRelease(Release):
    def __init__(self, path: Path, what: str):
        super().__init__(path, what)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise ReleaseError(f"{path}: cannot read {self.what} as a zip archive ({e}); "
                               "is the download complete?") from e

    def _list(self) -> list[str]:
        # Archives made on Windows may name members with backslashes: list them with '/', read
        # them by their stored names.
        self._stored = {_clean(i.filename): i.filename for i in self._zip.infolist() if not i.is_dir()}
        return sorted(self._stored)

    def read_bytes(self, name: str) -> bytes:
        self.names()
        return self._zip.read(self._stored.get(name, name))

    def close(self) -> None:
        self._zip.close()


class TarRelease(Release):
    random_access = False

    def __init__(self, path: Path, what: str):
        super().__init__(path, what)
        self._members: dict[str, tarfile.TarInfo] | None = None
        try:
            self._tar = tarfile.open(path)
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ReleaseError(f"{path}: cannot read {self.what} as a tar archive ({e}); "
                               "is the download complete?") from e

    def _index(self) -> dict[str, tarfile.TarInfo]:
        if self._members is None:
            try:
                infos = self._tar.getmembers()  # one pass over the archive
            except (tarfile.TarError, OSError, EOFError) as e:
                raise ReleaseError(f"{self.path}: {self.what} is truncated or corrupt ({e}); download it again") from e
            self._members = {_clean(i.name): i for i in infos if i.isfile()}
        return self._members

    def _list(self) -> list[str]:
        return sorted(self._index())

    def read_bytes(self, name: str) -> bytes:
        handle = self._tar.extractfile(self._index()[name])
        return handle.read()

    def members_in_read_order(self, wanted: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        index = self._index()
        order = sorted(set(wanted), key=lambda n: index[n].offset_data if n in index else -1)
        # Reopen so that the gzip stream is read once, front to back, in offset order.
        with tarfile.open(self.path) as tar:
            for name in order:
                if name not in index:
                    yield name, None
                    continue
                try:
                    yield name, tar.extractfile(index[name]).read()
                except (tarfile.TarError, OSError, EOFError):
                    yield name, None

    def close(self) -> None:
        self._tar.close()


def _clean(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def open_release(path, what: str) -> Release:
    """The release at ``path`` (a folder, ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``).

    Raises:
        ReleaseError: the path does not exist, or is a file that is no archive we can read.
    """
    path = Path(os.path.expanduser(str(path)))
    if path.is_dir():
        return FolderRelease(path, what)
    if not path.exists():
        raise ReleaseError(f"{path}: not found; expected {what}, as the archive or its extracted folder")
    if zipfile.is_zipfile(path):
        return ZipRelease(path, what)
    try:
        if tarfile.is_tarfile(path):
            return TarRelease(path, what)
    except OSError:
        pass
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04" or path.suffix.lower() == ".zip":
        kind = "an incomplete zip archive (its central directory is missing: a truncated download?)"
    elif head[:2] == b"\x1f\x8b":
        kind = "a gzip stream that is not a complete tar archive (a truncated download?)"
    else:
        kind = "neither a folder nor a zip or tar archive"
    raise ReleaseError(f"{path}: {kind}; expected {what}, as the archive or its extracted folder")
