"""Checks every PDF engine applies alike: a text layer exists, and glyphs were mapped."""

from __future__ import annotations

from pathlib import Path

from pipeline.charsets import UNMAPPED
from pipeline.documents import Page
from pipeline.errors import EmptyFileError, EncryptedFileError, ImageOnlyError


def check_text_layer(pages: list[Page], images: int, path: Path) -> tuple[Page, ...]:
    """Refuse a PDF with no pages or no text (image-only: it needs OCR), whatever engine read it.

    Args:
        pages: the pages read.
        images: how many images the pages hold.
        path: for the message.

    Returns:
        The pages.

    Raises:
        EmptyFileError: no pages, or pages with neither text nor images.
        ImageOnlyError: pages with images and no text layer.
    """
    if not pages:
        raise EmptyFileError("the PDF has no pages", path, "re-export the bulletin")
    if not any(line.text.strip() for page in pages for line in page.lines):
        if images:
            raise ImageOnlyError(
                f"the PDF's {len(pages)} page(s) are images with no text layer",
                path,
                "run OCR first (e.g. ocrmypdf --language chi_sim) and pass the result",
            )
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
