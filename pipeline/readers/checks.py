"""Checks every PDF engine applies alike: a text layer exists, and glyphs were mapped."""

from __future__ import annotations

from pathlib import Path

from pipeline.charsets import UNMAPPED
from pipeline.documents import Page
from pipeline.errors import EmptyFileError, EncryptedFileError, ImageOnlyError

#: How to install OCR for scanned pages (the optional extra).
OCR_INSTALL = 'pip install "bulletins[ocr]", or pip install -e ".[ocr]" in a checkout'


def unread_scans_warning(pages: str) -> str:
    """The warning for scanned pages of a PDF with text elsewhere, left unread because the
    OCR extra is not installed; ``pages`` as ``page 3`` or ``pages 2-4, 7``."""
    are = "are images" if pages.startswith("pages") else "is an image"
    return (
        f"{pages} of the PDF {are} with no text layer, not read: install the OCR extra to read "
        f"scanned pages ({OCR_INSTALL})"
    )


def check_text_layer(pages: list[Page], images: int, path: Path, ocr: str | None = None) -> tuple[Page, ...]:
    """Refuse a PDF with no pages or no text (image-only: it needs OCR), whatever engine read it.

    Args:
        pages: the pages read (scanned pages already OCR'd when the OCR extra is installed).
        images: how many pages are images with no text layer.
        path: for the message.
        ocr: the OCR engine (with version) that read those pages; ``None`` when none did
            (the extra is not installed).

    Returns:
        The pages.

    Raises:
        EmptyFileError: no pages, or pages with neither text nor images.
        ImageOnlyError: pages with images and no text layer, and no text found in them by OCR.
    """
    if not pages:
        raise EmptyFileError("the PDF has no pages", path, "re-export the bulletin")
    if not any(line.text.strip() for page in pages for line in page.lines):
        if images:
            if ocr:
                hint = (
                    f"run OCR first with another tool if they hold text ({ocr} found none), "
                    "or check that this is the right file"
                )
            else:
                hint = (
                    f"run OCR first: install the OCR extra ({OCR_INSTALL}), "
                    "or pass a copy with a text layer (e.g. from ocrmypdf --language chi_sim)"
                )
            raise ImageOnlyError(f"the PDF's {len(pages)} page(s) are images with no text layer", path, hint)
        raise EmptyFileError("the PDF's pages hold no text", path, "check that this is the right file")
    return tuple(pages)


def quality_warnings(pages: tuple[Page, ...]) -> tuple[str, ...]:
    """Count characters that came out without a Unicode mapping."""
    bad = sum(len(UNMAPPED.findall(line.text)) for page in pages for line in page.lines)
    if not bad:
        return ()
    return (
        f"extraction quality: {bad} character(s) had no Unicode mapping and were dropped; "
        "the PDF's fonts lack a ToUnicode map, so compare the passages with the original or OCR it",
    )


def password_error(path: Path, password: str | None) -> EncryptedFileError:
    """The error for an encrypted PDF that did not open: no password, or a wrong one."""
    if password:
        return EncryptedFileError("the password given does not open this encrypted PDF", path, "check the password")
    return EncryptedFileError(
        "the PDF is encrypted", path, "pass its password with --password, or export an unencrypted copy"
    )
