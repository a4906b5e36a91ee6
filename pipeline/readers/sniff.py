"""Content sniffing: a file's format from its bytes, never from its suffix.

The one place that decides which reader a file goes to, so that a misnamed file is either
read correctly or refused with a clear message. Only regular files are opened: a FIFO, socket,
device or symbolic-link loop is refused from ``os.stat`` alone (opening a FIFO would wait for
a writer forever; ``/dev/zero`` never ends).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import zipfile
from pathlib import Path

from pipeline.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedFileError,
    InputError,
    NotRegularFileError,
    UnknownFormatError,
)

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

#: What ``os.stat`` says a non-regular path is.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_regular(path: Path | str) -> os.stat_result:
    """``os.stat`` of a path that must be a regular file (symbolic links followed), without
    opening it.

    Args:
        path: the file.

    Returns:
        Its status (size and times).

    Raises:
        NotRegularFileError: a folder, FIFO, socket, device or symbolic-link loop (skipped).
        InputError: missing (or a broken link), or not accessible.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(
                "a broken symbolic link (its target does not exist)", path, "fix or remove the link"
            ) from None
        raise InputError("no such file", path, "check the path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFileError(
                "expected a regular file, found a symbolic link loop; skipped", path, "fix or remove the link"
            ) from None
        raise InputError(f"cannot be read ({exc.strerror})", path, "check its permissions") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((what for test, what in _KINDS if test(st.st_mode)), "not a regular file")
        raise NotRegularFileError(
            f"expected a regular file, found {kind}; skipped", path, "pass bulletin files or folders of them"
        )
    return st


def read_head(path: Path | str, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a regular file, checked with ``os.stat`` before it is opened
    and with ``fstat`` after (opened non-blocking, so that a FIFO swapped in between cannot
    block).

    Raises:
        NotRegularFileError, InputError: as :func:`check_regular`.
    """
    check_regular(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError("no such file", path, "check the path") from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", path, "check its permissions") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError("expected a regular file, found another kind; skipped", path)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", path, "check its permissions") from None
    finally:
        os.close(fd)


def sniff(path: Path) -> str:
    """Tell a file's format from its first bytes.

    Args:
        path: the file.

    Returns:
        ``pdf``, ``docx``, ``ofd`` (a ZIP with ``OFD.xml`` at its root), ``doc`` (an OLE2
        compound file holding a Word 97-2003 or WPS document, whatever its suffix:
        .doc, .wps, .dot) or ``text``. ``%PDF-`` makes a PDF at the very start, or further
        into the first kilobyte only after white space or binary bytes (as PDF readers
        accept); a text file that merely mentions ``%PDF-`` is text.

    Raises:
        NotRegularFileError: not a regular file (never opened).
        InputError: the file is missing, empty or of an unsupported format.
    """
    head = read_head(path)
    if not head.strip():
        raise EmptyFileError("the file is empty", path, "re-export or re-download the bulletin")
    if is_pdf(head):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile:
            # The first entry's name is in the head: OFD packages start with OFD.xml.
            if head[30 : 30 + int.from_bytes(head[26:28], "little")].lower() == b"ofd.xml":
                raise CorruptFileError(
                    "expected a complete OFD file, found a damaged one", path, "re-export or re-download it"
                ) from None
            raise CorruptFileError(
                "expected a complete ZIP/Word file, found a damaged one", path, "re-export it as .docx or PDF"
            ) from None
        if "word/document.xml" in names:
            return "docx"
        if any(name.lstrip("/").lower() == "ofd.xml" for name in names):
            return "ofd"
        raise UnknownFormatError(
            "expected a PDF, Word (.docx), OFD or text file, found another kind of ZIP archive",
            path,
            "unpack it and pass the bulletins inside",
        )
    if head.startswith(_OLE_MAGIC):
        return _ole_kind(path)
    if head.startswith(b"{\\rtf"):
        raise UnknownFormatError(
            "expected a PDF, .docx or text file, found RTF", path, "save it as .docx or PDF and run again"
        )
    return "text"


def is_pdf(head: bytes) -> bool:
    """Whether a file's first bytes are a PDF's: ``%PDF-`` at offset 0, or within the first
    1024 bytes after nothing but white space or binary bytes (never after text)."""
    pos = head.find(b"%PDF-", 0, 1024)
    if pos <= 0:
        return pos == 0
    prefix = head[:pos]
    return not prefix.strip() or not _is_text(prefix)


#: Control bytes text never holds (tab, line feed, form feed, carriage return and escape aside).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"


def _is_text(data: bytes) -> bool:
    """Bytes that read as text: no control bytes, and valid UTF-8 or GB18030."""
    if any(b in _CONTROL for b in data):
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


# Streams that tell what an OLE2 compound file holds.
_OLE_WORD = {"worddocument", "contents"}  # Word 97-2003 and WPS Writer; Works/old WPS text
_OLE_OTHER = {
    "workbook": "an Excel workbook (.xls)",
    "book": "an Excel workbook (.xls)",
    "powerpoint document": "a PowerPoint file (.ppt)",
    "__substg1.0_0037001f": "an Outlook message (.msg)",
}


def _ole_kind(path: Path) -> str:
    """``doc`` for an OLE2 file holding a Word or WPS text document; an error for the others.

    Reads the compound file's directory (stream names) only. A directory that cannot be
    read is left to the converter to judge: ``doc``.
    """
    names = _ole_stream_names(path)
    if names is None or names & _OLE_WORD:
        return "doc"
    if "encryptedpackage" in names:
        raise EncryptedFileError(
            "the Office file is password-protected",
            path,
            "remove the password in Word/WPS, save as .docx, and run again",
        )
    found = next((what for name, what in _OLE_OTHER.items() if name in names), "another kind of OLE2 file")
    raise UnknownFormatError(
        f"expected a PDF, Word (.docx/.doc/.wps), OFD or text file, found {found}",
        path,
        "pass the bulletin itself (or save it as .docx or PDF)",
    )


def _ole_stream_names(path: Path, limit: int = 4096) -> set[str] | None:
    """Lower-case names in an OLE2 compound file's directory, or ``None`` when it cannot be read.

    Follows [MS-CFB]: the header gives the sector size, the FAT sectors (the first 109 in
    the header, the rest through the DIFAT chain) and the directory's first sector; the
    directory is a chain of 128-byte entries whose first 64 bytes are a UTF-16 name.
    """
    try:
        with open(path, "rb") as fh:
            header = fh.read(512)
            shift = struct.unpack_from("<H", header, 0x1E)[0]
            if shift not in (9, 12):
                return None
            size = 1 << shift
            n_fat, first_dir = struct.unpack_from("<II", header, 0x2C)
            difat_next, n_difat = struct.unpack_from("<II", header, 0x44)
            fat_sectors = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < 0xFFFFFFFA]

            def sector(n: int) -> bytes:
                fh.seek((n + 1) * size)
                data = fh.read(size)
                if len(data) < size:
                    raise ValueError("truncated")
                return data

            for _ in range(min(n_difat, limit)):
                if difat_next >= 0xFFFFFFFA:
                    break
                block = struct.unpack(f"<{size // 4}I", sector(difat_next))
                fat_sectors += [s for s in block[:-1] if s < 0xFFFFFFFA]
                difat_next = block[-1]
            fat: list[int] = []
            for s in fat_sectors[: min(n_fat, limit)]:
                fat += struct.unpack(f"<{size // 4}I", sector(s))
            names: set[str] = set()
            current, seen = first_dir, 0
            while current < 0xFFFFFFFA and current < len(fat) and seen < limit:
                data = sector(current)
                for off in range(0, size, 128):
                    length = struct.unpack_from("<H", data, off + 64)[0]
                    if 2 <= length <= 64:
                        names.add(data[off : off + length - 2].decode("utf-16-le", "replace").lower())
                current, seen = fat[current], seen + 1
            return names or None
    except (OSError, ValueError, struct.error):
        return None
