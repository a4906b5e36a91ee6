"""Every error the package raises on purpose.

Messages are one line: what was expected, what was found and what to do. The CLI is the
only place that turns them into exit codes.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

#: Escapes for the control characters a file name may hide (as ``repr`` writes them).
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with control and format characters escaped: newlines, terminal escape codes,
    bidirectional overrides and undecodable bytes of a file name become ``\\n``, ``\\x1b``,
    ``\\u202e``, ``\\xff``, so that a message stays one line and a hostile name cannot
    rewrite the terminal. Chinese text and spaces are kept as they are.
    """
    if text.isprintable():
        return text
    return "".join(_escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch == " " or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return ch
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape): the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class BulletinsError(Exception):
    """Base class: a problem the user can act on.

    Args:
        message: what was expected and what was found.
        path: the file concerned, named first in the message.
        hint: what to do about it.
    """

    def __init__(self, message: str, path: Path | str | None = None, hint: str = "") -> None:
        self.path = Path(path) if path is not None else None
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.path}: " if self.path is not None else ""
        tail = f"; {self.hint}" if self.hint else ""
        return printable(f"{head}{self.message}{tail}")


class InputError(BulletinsError):
    """A bulletin file that cannot be read."""


class UnknownFormatError(InputError):
    """The file's content is none of the supported formats."""


class ConverterMissingError(UnknownFormatError):
    """The format is read through an external program (LibreOffice for .doc/.wps) that is not installed."""


class EmptyFileError(InputError):
    """The file holds no text at all."""


class CorruptFileError(InputError):
    """The file claims a format but its content is broken or truncated."""


class EncryptedFileError(InputError):
    """The PDF is encrypted and no (or a wrong) password was given."""


class ImageOnlyError(InputError):
    """The PDF has pages but no text layer: it needs OCR first."""


class NotRegularFileError(InputError):
    """A path that is not a regular file (a FIFO, socket, device, folder or symbolic link
    loop): never opened, skipped."""


class LimitError(InputError):
    """A file beyond a per-file limit (bytes, pages, XML expansion): refused before reading
    it all."""


class TimeLimitError(LimitError):
    """A file whose reading took longer than the per-file time limit; its reader was stopped."""


class ClusterError(BulletinsError):
    """The Dask cluster went away during a batch; what was stored is kept."""


class LabeledDataError(BulletinsError):
    """A labeled-passages file that does not follow the format; lists every bad row."""

    def __init__(self, problems: list[str], path: Path | str | None = None) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(
            f"{len(self.problems)} bad row(s): {shown}{more}",
            path,
            "fix these rows (format: corpus/README.md) and run again; nothing was trained",
        )


class ModelError(BulletinsError):
    """A model that is missing, unverified or incompatible."""


class StoreError(BulletinsError):
    """The results store cannot be opened or queried."""


class UsageError(BulletinsError):
    """Options that do not fit together."""


class ChartFontError(BulletinsError):
    """No font with Chinese glyphs: a chart would be unreadable, so none is written."""
