"""Content sniffing: a file's format from its bytes, never from its suffix.

The one place that decides which reader a file goes to, so that a misnamed file is either
read correctly or refused with a clear message.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from pipeline.errors import CorruptFileError, EmptyFileError, EncryptedFileError, InputError, UnknownFormatError

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def sniff(path: Path) -> str:
    """Tell a file's format from its first bytes.

    Args:
        path: the file.

    Returns:
        ``pdf``, ``docx``, ``ofd`` (a ZIP with ``OFD.xml`` at its root), ``doc`` (an OLE2
        compound file holding a Word 97-2003 or WPS document, whatever its suffix:
        .doc, .wps, .dot) or ``text``.

    Raises:
        InputError: the file is missing, empty or of an unsupported format.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError:
        raise InputError("no such file", path, "check the path") from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", path, "check its permissions") from None
    if not head.strip():
        raise EmptyFileError("the file is empty", path, "re-export or re-download the bulletin")
    if b"%PDF-" in head[:1024]:
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
