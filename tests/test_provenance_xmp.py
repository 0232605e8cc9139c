"""Each PDF says in its XMP what it came from (``worker/stamp.py``), and a PDF/A stays PDF/A.

The packets are read here with lxml directly, not with the module's own reader, so that a
fault in how it writes them is not hidden by the same fault in how it reads them.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ocrmypdf
import pikepdf
import pytest
from lxml import etree
from pikepdf.pdfa import validate_written

import scan2pdf
from scan2pdf import convert
from scan2pdf.core.jobs import Job
from scan2pdf.core.options import Options
from scan2pdf.core.tools import program_version
from scan2pdf.state.journal import Journal, default_path
from scan2pdf.worker import checked
from scan2pdf.worker.engine import run_ocr as run_ocr_for_real
from scan2pdf.worker.stamp import (
    FIELDS,
    NAMESPACE,
    PREFIX,
    Provenance,
    read_stamp,
    stamp,
    stamped_packet,
)
from scan2pdf.worker.task import convert_file

from .engine_helpers import scan
from .helpers import outputs, pdf_text, squash, text_image

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
EXT = "{http://www.aiim.org/pdfa/ns/extension/}"
SCHEMA = "{http://www.aiim.org/pdfa/ns/schema#}"
PROP = "{http://www.aiim.org/pdfa/ns/property#}"
PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
OURS = f"{{{NAMESPACE}}}"
NULL = Options(ocr_engine="none", jobs=2, output_type="pdf")
LINE = "Harbour office archive 1962"
PDFA_PACKET = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
  xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
  xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="2" pdfaid:conformance="B"/>
  </rdf:RDF></x:xmpmeta>"""


def xmp_bytes(pdf: Path) -> bytes:
    with pikepdf.open(pdf) as document:
        data: bytes = document.Root.Metadata.read_bytes()
        return data


def xmp(pdf: Path) -> Any:
    return etree.fromstring(xmp_bytes(pdf).strip())


def ours(root: Any) -> dict[str, str]:
    """scan2pdf's properties, each with its prefix as written."""
    found: dict[str, str] = {}
    for node in root.iter(f"{OURS}*"):
        assert node.prefix == PREFIX
        found[etree.QName(node).localname] = node.text
    return found


def declared(root: Any) -> dict[str, str]:
    """Name to valueType of every property the extension schema for NAMESPACE declares,
    checking that the schema and each property have every field ISO 19005-1 §6.7.8 asks."""
    (bag,) = root.findall(f".//{EXT}schemas/{RDF}Bag")  # the property appears once
    (schema,) = [
        li for li in bag.findall(f"{RDF}li") if li.findtext(f"{SCHEMA}namespaceURI") == NAMESPACE
    ]
    assert schema.get(f"{RDF}parseType") == "Resource"
    assert schema.findtext(f"{SCHEMA}schema")
    assert schema.findtext(f"{SCHEMA}prefix") == PREFIX
    types: dict[str, str] = {}
    for entry in schema.findall(f"{SCHEMA}property/{RDF}Seq/{RDF}li"):
        fields = {etree.QName(child).localname: child.text for child in entry}
        assert set(fields) == {"name", "valueType", "category", "description"}
        assert fields["category"] in ("internal", "external") and fields["description"]
        types[fields["name"]] = fields["valueType"]
    return types


def only_pdf(out: Path) -> Path:
    (pdf,) = [p for p in outputs(out) if p.suffix == ".pdf"]
    return pdf


def assert_says_where_it_came_from(
    pdf: Path, source: Path, name: str, out: Path, started: datetime
) -> dict[str, str]:
    root = xmp(pdf)
    found = ours(root)
    assert found["SourceSHA256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert found["SourceName"] == name
    when = datetime.fromisoformat(found["ConversionDate"])
    assert started - timedelta(seconds=1) <= when <= datetime.now(UTC)
    (entry,) = Journal(default_path(out)).entries()
    assert found["OptionsFingerprint"] == entry.fingerprint
    assert found["Scan2pdfVersion"] == scan2pdf.__version__
    assert found["OCRmyPDFVersion"] == ocrmypdf.__version__
    assert found["TesseractVersion"] == program_version("tesseract")
    assert set(found) == {f.name for f in FIELDS}
    if root.find(f".//{PDFAID}part") is not None:
        # A PDF/A declares every property it writes, with its value type.
        assert declared(root) == {f.name: f.value_type for f in FIELDS}
    else:
        # A plain PDF is spared the declaration (2 kB that nothing there reads).
        assert root.find(f".//{EXT}schemas") is None
    return found


def test_a_plain_pdf_says_what_it_came_from_and_names_no_machine_path(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    source = scan(src / "letters" / "1962" / "smith.tif", pages=2, shade=3)
    started = datetime.now(UTC)
    report = convert([src], out, NULL)
    assert (report.converted, report.failed) == (1, 0)
    pdf = out / "letters" / "1962" / "smith.pdf"
    assert_says_where_it_came_from(pdf, source, "letters/1962/smith.tif", out, started)
    assert str(tmp_path).encode() not in xmp_bytes(pdf)
    assert str(tmp_path).encode() not in pdf.read_bytes()
    root = xmp(pdf)
    assert root.find(f".//{PDFAID}part") is None  # a plain PDF: no PDF/A claim
    # OCRmyPDF's own properties are kept.
    assert "OCRmyPDF" in (root.findtext(".//{http://ns.adobe.com/xap/1.0/}CreatorTool") or "")


def test_an_archive_member_is_named_inside_its_archive(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    page = scan(tmp_path / "0001.tif", shade=9)
    src.mkdir()
    with zipfile.ZipFile(src / "box12.zip", "w") as archive:
        archive.write(page, "folder3/0001.tif")
    started = datetime.now(UTC)
    report = convert([src], out, NULL)
    assert (report.converted, report.failed) == (1, 0)
    pdf = only_pdf(out)
    assert_says_where_it_came_from(pdf, page, "box12.zip!/folder3/0001.tif", out, started)
    assert str(tmp_path).encode() not in xmp_bytes(pdf)


@pytest.mark.parametrize(("output_type", "part"), [("pdfa", "2"), ("pdfa-1", "1")])
def test_a_pdfa_stays_declared_pdfa_with_every_property_in_an_extension_schema(
    tmp_path: Path, output_type: str, part: str
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    source = scan(src / "smith.tif", shade=5)
    started = datetime.now(UTC)
    # Force: OCRmyPDF refuses PDF/A under skip or redo with Ghostscript 10.0.0 to 10.02.0
    # (Debian 12's), whatever path it would take; pages made from images lose nothing.
    options = Options(ocr_engine="none", jobs=2, existing_text="force", output_type=output_type)
    report = convert([src], out, options)
    assert (report.converted, report.failed) == (1, 0), report
    pdf = out / "smith.pdf"
    assert_says_where_it_came_from(pdf, source, "smith.tif", out, started)
    root = xmp(pdf)
    assert root.findtext(f".//{PDFAID}part") == part
    assert root.findtext(f".//{PDFAID}conformance") == "B"
    # One rdf:about for every Description, as PDF/A wants.
    assert {d.get(f"{RDF}about") for d in root.iter(f"{RDF}Description")} == {""}
    with pikepdf.open(pdf) as document:
        assert "/Filter" not in document.Root.Metadata  # PDF/A-1: metadata unfiltered
        if part == "1":
            assert document.pdf_version == "1.4"
    # pikepdf's PDF/A validator (the one OCRmyPDF 17 runs on its speculative PDF/A) is an
    # allowlist that does not read extension schemas: it flags the custom properties and
    # the schema's own namespaces, and must flag nothing else.
    report_pdfa = validate_written(pdf, f"{part}b")
    rule = "ISO_19005_1:6.7.9-2" if part == "1" else "ISO_19005_2:6.6.2.3.1-1"
    allowed = (PREFIX, "pdfaExtension", "pdfaSchema", "pdfaProperty")
    for finding in report_pdfa.findings:
        assert finding.rule == rule and "MetadataStream" in finding.where, finding
        assert any(f" {prefix}" in finding.message for prefix in allowed), finding


def test_empty_values_are_left_out(tmp_path: Path) -> None:
    job = Job("x", tmp_path / "x.tif", "image", tmp_path / "x.pdf", tmp_path / "x.txt", NULL)
    provenance = Provenance.of(job, '{"ocrmypdf": "17.13.0", "tesseract": "unknown"}')
    properties = provenance.properties(datetime.now(UTC))
    assert set(properties) == {"ConversionDate", "Scan2pdfVersion", "OCRmyPDFVersion"}
    root = etree.fromstring(stamped_packet(None, properties))  # a file without XMP
    assert ours(root) == properties
    # Declared all the same in a PDF/A: what a reader may meet in another file.
    pdfa = stamped_packet(PDFA_PACKET, properties)
    assert declared(etree.fromstring(pdfa)) == {f.name: f.value_type for f in FIELDS}


def test_stamping_again_replaces_its_own_and_keeps_other_schemas() -> None:
    foreign = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
      xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
     <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
      <pdfaid:part>1</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>
     </rdf:Description>
     <rdf:Description rdf:about="" xmlns:acme="http://acme.example/ns/"
       xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
       xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#">
      <acme:Batch>7</acme:Batch>
      <pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
       <pdfaSchema:namespaceURI>http://acme.example/ns/</pdfaSchema:namespaceURI>
      </rdf:li></rdf:Bag></pdfaExtension:schemas>
     </rdf:Description></rdf:RDF></x:xmpmeta>"""
    first = Provenance("a" * 64, "one.tif", "f1").properties(datetime(2026, 1, 1, tzinfo=UTC))
    second = Provenance("b" * 64, "two.tif", "f2").properties(datetime(2026, 1, 2, tzinfo=UTC))
    root = etree.fromstring(stamped_packet(stamped_packet(foreign, first), second))
    assert ours(root)["SourceSHA256"] == "b" * 64
    assert len(root.findall(f".//{OURS}SourceSHA256")) == 1
    assert root.findtext(".//{http://acme.example/ns/}Batch") == "7"
    uris = [li.findtext(f"{SCHEMA}namespaceURI") for li in root.iter(f"{RDF}li")]
    assert uris.count("http://acme.example/ns/") == 1 and uris.count(NAMESPACE) == 1
    assert declared(root)["ConversionDate"] == "Date"


def test_only_the_metadata_changes(tmp_path: Path) -> None:
    """No stream is decoded and encoded again: every stream but /Metadata (and the
    cross-reference stream, which lists where objects are) keeps its bytes as they were,
    so the scans and the text layer are what OCRmyPDF wrote."""
    out = tmp_path / "out"
    convert([scan(tmp_path / "in" / "a.tif", pages=3, shade=1)], out, NULL)
    pdf, copy = only_pdf(out), tmp_path / "again.pdf"
    copy.write_bytes(pdf.read_bytes())

    def streams(path: Path) -> list[bytes]:
        with pikepdf.open(path) as document:
            metadata = document.Root.Metadata.objgen
            return sorted(
                o.read_raw_bytes()
                for o in document.objects
                if isinstance(o, pikepdf.Stream)
                and o.objgen != metadata
                and o.get("/Type") not in ("/XRef", "/ObjStm")
            )

    before = streams(copy)
    stamp(copy, Provenance("c" * 64, "a.tif", "f"))
    assert streams(copy) == before
    assert read_stamp(copy)["SourceSHA256"] == "c" * 64


def test_an_output_whose_xmp_cannot_be_read_fails_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PDF that cannot say what it came from is not published without it: the file
    fails ``invalid_output``, saying why, and the other files convert."""
    breaking = [True]

    def run_ocr(source: Path, pdf: Path, *rest: Any) -> Any:
        run = run_ocr_for_real(source, pdf, *rest)
        if breaking[0]:
            with pikepdf.open(pdf, allow_overwriting_input=True) as document:
                document.Root.Metadata = document.make_stream(b"<x:xmpmeta><unclosed>")
                document.save(pdf, fix_metadata_version=False)  # True would repair it
        return run

    monkeypatch.setattr(checked, "run_ocr", run_ocr)
    broken = scan(tmp_path / "broken" / "a.tif", shade=2)
    fine = scan(tmp_path / "fine" / "b.tif", shade=3)

    def job(source: Path) -> Job:
        pdf, txt = source.with_suffix(".pdf"), source.with_suffix(".txt")
        return Job(str(source), source, "image", pdf, txt, NULL, content="d" * 64)

    failed = convert_file(job(broken), 1).result
    breaking[0] = False
    outcome = convert_file(job(fine), 1)
    converted = outcome.result
    if outcome.scratch is not None:  # the coordinator's to remove, once published
        shutil.rmtree(outcome.scratch)
    assert (failed.status, failed.reason) == ("failed", "invalid_output")
    assert "provenance could not be written" in (failed.message or "")
    assert converted.status == "converted"


@pytest.mark.slow
def test_a_tesseract_run_is_stamped_and_still_verified(tmp_path: Path) -> None:
    """The real engine, default options (auto: a PDF/A without Ghostscript): the layer is
    checked after the stamp, and it still carries the text."""
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "notes").mkdir(parents=True)
    source = text_image(src / "notes" / "line.png", LINE)
    started = datetime.now(UTC)
    report = convert([src], out, Options(jobs=2))
    assert (report.converted, report.failed) == (1, 0), report.failures
    pdf = out / "notes" / "line.pdf"
    assert_says_where_it_came_from(pdf, source, "notes/line.png", out, started)
    assert squash(LINE) in squash(pdf_text(pdf))
    assert xmp(pdf).findtext(f".//{PDFAID}part") == "2"
    assert str(tmp_path).encode() not in xmp_bytes(pdf)


def test_a_name_xml_cannot_hold_is_written_as_its_bytes() -> None:
    """Issue 35's hostile names: a newline, an escape, undecodable bytes and "%" in a file
    name made its output fail ("All strings must be XML compatible")."""
    import os
    from urllib.parse import unquote_to_bytes

    from scan2pdf.worker.stamp import xml_name

    name = os.fsdecode(b"a\n\x1b[2J b\xff 100%.png")
    written = xml_name(name)
    assert written == "a\n%1B[2J b%FF 100%25.png"
    assert os.fsdecode(unquote_to_bytes(written)) == name
