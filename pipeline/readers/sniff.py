"""Content sniffing: a file's format from its bytes, never from its suffix.

The one place that decides which reader a file goes to, so that a misnamed file is either
read correctly or refused with a clear message.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from pipeline.errors import CorruptFileError, EmptyFileError, InputError, UnknownFormatError

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


def sniff(path: Path) -> str:
    """Tell a file's format from its first bytes.

    Args:
        path: the file.

    Returns:
        ``pdf``, ``docx`` or ``text``.

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
            raise CorruptFileError(
                "expected a complete ZIP/Word file, found a damaged one", path, "re-export it as .docx or PDF"
            ) from None
        if "word/document.xml" in names:
            return "docx"
        raise UnknownFormatError(
            "expected a PDF, Word (.docx) or text file, found another kind of ZIP archive",
            path,
            "unpack it and pass the bulletins inside",
        )
    if head.startswith(_OLE_MAGIC):
        raise UnknownFormatError(
            "expected a PDF, .docx or text file, found a legacy Office/WPS file (.doc/.wps)",
            path,
            "save it as .docx or PDF and run again",
        )
    if head.startswith(b"{\\rtf"):
        raise UnknownFormatError(
            "expected a PDF, .docx or text file, found RTF", path, "save it as .docx or PDF and run again"
        )
    return "text"
