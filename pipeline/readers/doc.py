"""Legacy Word and WPS files (.doc, .wps: OLE2 compound files) through LibreOffice.

LibreOffice (``soffice --headless --convert-to docx``) turns the file into a .docx in a
private temporary folder, which :mod:`pipeline.readers.docx` then reads like any Word file.
Each conversion gets its own LibreOffice profile (``-env:UserInstallation``), so parallel
workers never share one (a shared profile makes a second instance hand its job to the first,
or fail), a time limit, and everything is deleted afterwards. Without LibreOffice the file
is refused with one line saying what to install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from pipeline.documents import Page
from pipeline.errors import ConverterMissingError, CorruptFileError, InputError

#: Seconds one conversion may take (LibreOffice's first start with a new profile takes 2-5 s).
TIMEOUT = 120.0
#: The programs tried, in order.
PROGRAMS = ("soffice", "libreoffice")
#: Suffixes LibreOffice is given the file under (its type detection starts from the suffix).
_KNOWN = (".doc", ".dot", ".wps", ".wpt")


def find_soffice() -> str | None:
    """The LibreOffice program on PATH, or ``None``."""
    for name in PROGRAMS:
        found = shutil.which(name)
        if found:
            return found
    return None


def read_doc(path: Path, timeout: float = TIMEOUT) -> tuple[tuple[Page, ...], str]:
    """Read a .doc/.wps file: convert it to .docx with LibreOffice, then read that.

    Args:
        path: the OLE2 Word/WPS file.
        timeout: seconds the conversion may take.

    Returns:
        The pages as :func:`pipeline.readers.docx.read_docx` gives them (one page of
        paragraphs) and the reader string (``LibreOffice 7.4.7.2 → python-docx 1.2.0``).

    Raises:
        ConverterMissingError: LibreOffice is not installed.
        CorruptFileError: LibreOffice could not convert the file, or timed out.
        EmptyFileError: the document holds no text.
    """
    from pipeline.readers.docx import docx_version, read_docx

    soffice = find_soffice()
    if soffice is None:
        raise ConverterMissingError(
            "expected LibreOffice to read a legacy Word/WPS file (.doc/.wps), found none installed",
            path,
            "install LibreOffice (apt-get install libreoffice-writer), or save it as .docx or PDF and run again",
        )
    with tempfile.TemporaryDirectory(prefix="bulletins-doc-") as tmp:
        work = Path(tmp)
        # A plain ASCII name: the output is named after the input, and no file name can
        # then be taken for an option.
        source = work / ("input" + (path.suffix.lower() if path.suffix.lower() in _KNOWN else ".doc"))
        shutil.copyfile(path, source)
        out = work / "out"
        out.mkdir()
        try:
            message = _convert(soffice, source, out, work / "profile", timeout)
        except OSError as exc:  # not executable, or gone since it was found
            raise ConverterMissingError(
                f"expected a working LibreOffice, found {soffice} failing to start ({exc.strerror})",
                path,
                "reinstall LibreOffice (apt-get install libreoffice-writer)",
            ) from None
        converted = out / "input.docx"
        if not converted.is_file():
            raise CorruptFileError(
                f"expected a Word/WPS file LibreOffice can open, found one it could not convert ({message})",
                path,
                "open and re-save it in Word/WPS as .docx, or export a PDF",
            )
        try:
            pages = read_docx(converted)
        except InputError as exc:  # name the user's file, not the temporary copy
            raise type(exc)(exc.message, path, exc.hint) from None
    return pages, f"{libreoffice_version(soffice)} → {docx_version()}"


def _convert(soffice: str, source: Path, out: Path, profile: Path, timeout: float) -> str:
    """Run one headless conversion to ``out``; return LibreOffice's last message line."""
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--norestore",
        "--nolockcheck",
        "--convert-to",
        "docx:MS Word 2007 XML",
        "--outdir",
        str(out),
        str(source),
    ]
    env = {**os.environ, "HOME": str(profile.parent)}
    # Its own process group, so that a timeout ends LibreOffice's child process too.
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=source.parent,
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return f"timed out after {timeout:.0f} s"
    lines = [ln.strip() for ln in output.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {proc.returncode}"


@lru_cache(maxsize=4)
def libreoffice_version(soffice: str) -> str:
    """``LibreOffice 7.4.7.2`` from ``soffice --version`` (``LibreOffice`` if it does not say)."""
    try:
        result = subprocess.run(
            [soffice, "--version"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return "LibreOffice"
    words = result.stdout.split()
    return " ".join(words[:2]) if len(words) >= 2 else "LibreOffice"
