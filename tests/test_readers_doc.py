"""Legacy Word/WPS (.doc/.wps, OLE2) files: detected by content, read through LibreOffice.

The .doc files are made here: the seed and the sample bulletin are written as .docx with
python-docx, then converted to Word 97 .doc by LibreOffice once per session. LibreOffice has
no WPS export, so the .wps case is a Word 97 file named .wps (WPS Office's own .wps files are
Word-binary documents as well). Tests that need LibreOffice skip, saying so, where it is
missing; the refusal without it, the time limit and the cleanup use stand-in programs.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from helpers.samples import SAMPLE_PASSAGES, sample_spec
from helpers.synth import spec_from_bulletin
from pipeline.errors import ConverterMissingError, CorruptFileError, EncryptedFileError, UnknownFormatError
from pipeline.ingest import expand_paths, read_bulletin
from pipeline.readers.doc import find_soffice, read_doc
from pipeline.readers.registry import SUFFIXES, extract
from pipeline.readers.sniff import sniff

needs_soffice = pytest.mark.skipif(
    find_soffice() is None,
    reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-writer to run the .doc tests",
)


def render_docx(spec, out: Path) -> Path:
    """A bulletin spec as a Word file: centred masthead, headings, indented paragraphs,
    a running header and a page-number footer (Word keeps these out of the body)."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = spec.title
    section.footer.paragraphs[0].text = "- 1 -"
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(spec.title)
    run.bold, run.font.size = True, Pt(22)
    for line in (spec.issue, *spec.issuer, spec.date):
        document.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in spec.toc:
        document.add_paragraph(line)
    for heading, paragraphs in spec.sections:
        if heading:
            document.add_heading(heading, level=1)
        for text in paragraphs:
            document.add_paragraph(text).paragraph_format.first_line_indent = Pt(2 * spec.font_size)
    for line in spec.closing:
        document.add_paragraph(line)
    document.save(str(out))
    return out


def ole_file(path: Path, streams: tuple[str, ...]) -> Path:
    """A minimal OLE2 compound file ([MS-CFB] version 3) whose directory holds empty
    streams with these names: enough for content sniffing."""
    end, free, fat_sector, none = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x2C, 1, 1, 0, 4096, end, 0, end, 0, 0)
    struct.pack_into("<108I", header, 0x50, *([free] * 108))
    fat = struct.pack("<128I", fat_sector, end, *([free] * 126))
    names = ("Root Entry", *streams)
    assert len(names) <= 4
    directory = bytearray(512)
    for i, name in enumerate(names):
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\0\0"
        entry[: len(encoded)] = encoded
        kind = 5 if i == 0 else 2
        child = 1 if i == 0 and streams else none
        right = i + 1 if 0 < i < len(names) - 1 else none
        struct.pack_into("<HBBIII", entry, 64, len(encoded), kind, 1, none, right, child)
        struct.pack_into("<II", entry, 116, end, 0)
        directory[i * 128 : (i + 1) * 128] = entry
    path.write_bytes(bytes(header) + fat + bytes(directory))
    return path


@pytest.fixture(scope="session")
def doc_files(tmp_path_factory, seed_text) -> dict[str, Path]:
    """The seed and the sample bulletin as .doc (Word 97), converted from .docx by LibreOffice."""
    soffice = find_soffice()
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer")
    folder = tmp_path_factory.mktemp("doc")
    sources = [
        render_docx(spec_from_bulletin(read_bulletin(seed_text), spaced_digits=False), folder / "sichuan-2021-08.docx"),
        render_docx(sample_spec(), folder / "mianyang-2021-03.docx"),
    ]
    with tempfile.TemporaryDirectory(prefix="bulletins-test-lo-") as profile:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--convert-to",
                "doc:MS Word 97",
                "--outdir",
                str(folder),
                *map(str, sources),
            ],
            check=True,
            capture_output=True,
            timeout=300,
            env={**os.environ, "HOME": profile},
        )
    return {p.stem: p.with_suffix(".doc") for p in sources}


@pytest.fixture(scope="module")
def seed_doc(doc_files) -> Path:
    return doc_files["sichuan-2021-08"]


# --- through LibreOffice --------------------------------------------------------------------


@needs_soffice
def test_doc_seed_passages_equal_text_rendition(seed_doc, seed_text):
    want = read_bulletin(seed_text)
    got = read_bulletin(seed_doc)
    assert sniff(seed_doc) == "doc"
    assert len(got.passages) == 22
    assert [p.text for p in got.passages] == [p.text for p in want.passages]
    assert [(p.section, p.unit, p.date) for p in got.passages] == [(p.section, p.unit, p.date) for p in want.passages]
    assert (got.title, got.year, got.issue_no, got.date, got.issuer) == (
        want.title,
        want.year,
        want.issue_no,
        want.date,
        want.issuer,
    )
    assert got.toc == want.toc and got.closing == want.closing


@needs_soffice
def test_doc_reader_recorded(seed_doc):
    raw = extract(seed_doc)
    assert raw.kind == "doc" and raw.paragraphs and not raw.layout
    assert raw.reader.startswith("LibreOffice ") and " → python-docx " in raw.reader
    # The running header and footer stay out of the body, as in a .docx.
    assert not any(ln.text == "- 1 -" for ln in raw.pages[0].lines)


@needs_soffice
def test_doc_sample_passages(doc_files):
    got = read_bulletin(doc_files["mianyang-2021-03"])
    assert [p.text for p in got.passages] == list(SAMPLE_PASSAGES)
    assert got.sections == ("一、暗访督查", "二、培训练兵")


@needs_soffice
def test_doc_named_wps_or_misnamed_goes_the_same_way(seed_doc, tmp_path):
    want = [p.text for p in read_bulletin(seed_doc).passages]
    for name in ("bulletin.wps", "bulletin.txt", "bulletin.docx"):
        path = tmp_path / name
        shutil.copyfile(seed_doc, path)
        assert sniff(path) == "doc"
        assert [p.text for p in read_bulletin(path).passages] == want, name


@needs_soffice
def test_doc_parallel_conversions_do_not_collide(seed_doc, tmp_path):
    copies = [shutil.copyfile(seed_doc, tmp_path / f"copy-{i}.doc") for i in range(2)]
    results: dict[int, object] = {}

    def read(i: int) -> None:
        try:
            results[i] = len(read_bulletin(copies[i]).passages)
        except Exception as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: 22, 1: 22}


@needs_soffice
@pytest.mark.parametrize("damage", ["zeros", "truncated"])
def test_doc_damaged_is_corrupt(seed_doc, tmp_path, damage):
    path = tmp_path / f"{damage}.doc"
    data = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(500) if damage == "zeros" else seed_doc.read_bytes()[:9000]
    path.write_bytes(data)
    with pytest.raises(CorruptFileError) as exc_info:
        extract(path)
    message = str(exc_info.value)
    assert "\n" not in message and message.startswith(f"{path}: expected a Word/WPS file LibreOffice can open")


@needs_soffice
def test_doc_conversion_speed(seed_doc):
    start = time.perf_counter()
    extract(seed_doc)
    # About 1.5-2.5 s: LibreOffice starting with a fresh profile dominates.
    assert time.perf_counter() - start < 60


# --- without LibreOffice, stand-ins ---------------------------------------------------------


def test_doc_without_libreoffice_refused_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    path = ole_file(tmp_path / "old.doc", ("WordDocument", "1Table"))
    with pytest.raises(ConverterMissingError) as exc_info:
        extract(path)
    message = str(exc_info.value)
    assert isinstance(exc_info.value, UnknownFormatError) and "\n" not in message
    assert message.startswith(f"{path}: expected LibreOffice to read a legacy Word/WPS file (.doc/.wps)")
    assert "apt-get install libreoffice-writer" in message and "save it as .docx or PDF" in message


def _stand_in(folder: Path, script: str) -> Path:
    """A program named soffice on a PATH of its own: a Python script."""
    folder.mkdir()
    program = folder / "soffice"
    program.write_text(f"#!{sys.executable}\n{script}", encoding="utf-8")
    program.chmod(0o755)
    return program


def test_doc_conversion_time_limit(tmp_path, monkeypatch):
    _stand_in(tmp_path / "bin", "import time\ntime.sleep(60)\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    path = ole_file(tmp_path / "slow.doc", ("WordDocument",))
    start = time.perf_counter()
    with pytest.raises(CorruptFileError, match="slow.doc: .*could not convert \\(timed out after 1 s\\)"):
        read_doc(path, timeout=1)
    assert time.perf_counter() - start < 30


def test_doc_conversion_arguments_and_cleanup(tmp_path, monkeypatch):
    """The converter gets a private profile and an output folder in a temporary folder that
    is gone afterwards; the .docx it writes is read by the Word reader."""
    import docx

    made = tmp_path / "made.docx"
    document = docx.Document()
    document.add_paragraph("某市交通运输工作简报")
    document.save(str(made))
    log = tmp_path / "args.txt"
    _stand_in(
        tmp_path / "bin",
        "import shutil, sys\n"
        "args = sys.argv[1:]\n"
        "if args == ['--version']:\n"
        "    print('LibreOffice 9.9.9.9 test')\n"
        "    sys.exit()\n"
        f"open({str(log)!r}, 'w').write('\\n'.join(args))\n"
        "out = args[args.index('--outdir') + 1]\n"
        f"shutil.copyfile({str(made)!r}, out + '/input.docx')\n",
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = ole_file(tmp_path / "年报 第8期.wps", ("WordDocument",))
    pages, reader = read_doc(path)
    assert [ln.text for ln in pages[0].lines] == ["某市交通运输工作简报"]
    assert reader.startswith("LibreOffice 9.9.9.9 → python-docx ")
    args = log.read_text(encoding="utf-8").splitlines()
    profile = next(a for a in args if a.startswith("-env:UserInstallation=file://"))
    assert str(scratch) in profile and "--headless" in args
    assert args[args.index("--convert-to") + 1].startswith("docx")
    assert args[-1].endswith("/input.wps")  # an ASCII copy, so no name is taken for an option
    assert list(scratch.iterdir()) == []  # profile, copy and output all removed


# --- detection ------------------------------------------------------------------------------


def test_doc_ole_kinds_sniffed(tmp_path):
    assert sniff(ole_file(tmp_path / "a.doc", ("WordDocument", "1Table", "\x05SummaryInformation"))) == "doc"
    assert sniff(ole_file(tmp_path / "works.wps", ("CONTENTS",))) == "doc"
    # A directory that cannot be read is left to LibreOffice to judge.
    unreadable = tmp_path / "zeros.doc"
    unreadable.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(500))
    assert sniff(unreadable) == "doc"


def test_doc_password_protected_office_file_refused(tmp_path):
    path = ole_file(tmp_path / "locked.docx", ("EncryptionInfo", "EncryptedPackage"))
    with pytest.raises(EncryptedFileError, match="locked.docx: the Office file is password-protected; remove"):
        extract(path)


@pytest.mark.parametrize(
    ("streams", "found"),
    [(("Workbook",), "an Excel workbook"), (("PowerPoint Document",), "a PowerPoint file"), (("Foo",), "another")],
)
def test_doc_other_ole_files_refused(tmp_path, streams, found):
    path = ole_file(tmp_path / "other.doc", streams)
    with pytest.raises(UnknownFormatError, match=f"other.doc: expected a PDF, Word .*, found {found}"):
        extract(path)


def test_doc_suffixes_walked(tmp_path):
    assert {".doc", ".wps"} <= set(SUFFIXES)
    for name in ("a.doc", "b.WPS", "c.xls"):
        (tmp_path / name).write_bytes(b"x")
    assert expand_paths([tmp_path]) == [tmp_path / "a.doc", tmp_path / "b.WPS"]
