"""Write scan2pdf's provenance into a PDF's XMP metadata: what it was made from, and how.

A PDF that leaves OUTDIR leaves the journal behind, so it carries its own account in the
XMP packet, in a namespace of scan2pdf's own (``NAMESPACE``, prefix ``scan2pdf``): the
source's SHA-256, its name relative to its INPUT folder (never an absolute path: a
published file leaves this machine), when it was converted, the options fingerprint and
the versions of scan2pdf, OCRmyPDF and Tesseract. OCRmyPDF's own properties (its
``pdfaid`` part and conformance, dates, producer) are kept as they are.

PDF/A permits only the XMP properties its schemas predefine, unless the packet declares
the others in a PDF/A extension schema (ISO 19005-1 §6.7.8; 19005-2 §6.6.2.3.2), so a
packet that says the file is PDF/A (``pdfaid:part``) gets the declaration of scan2pdf's
properties too. A plain PDF does not: the declaration is about 2 kB that PDF/A keeps
uncompressed, and nothing reads it there. pikepdf's ``PdfMetadata`` sets simple and array
values only; the declaration is a Bag of structures, so the packet is edited as an lxml
tree here, and written back whole.

Only ``/Metadata`` changes: the file is saved again by qpdf without decoding a stream
(``StreamDecodeLevel.none``), so images and text layers are copied byte for byte.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
from lxml import etree
from pikepdf.models.metadata import (
    XMP_NS_PDFA_EXTENSION,
    XMP_NS_PDFA_ID,
    XMP_NS_PDFA_PROPERTY,
    XMP_NS_PDFA_SCHEMA,
    XMP_NS_RDF,
    XPACKET_BEGIN,
    XPACKET_END,
)

from scan2pdf import __version__
from scan2pdf.core.jobs import Job
from scan2pdf.errors import InvalidOutputError, first_line

# An identifier, never fetched. ``.invalid`` (RFC 6761) can never be registered by
# anyone, so the URI cannot collide with another party's namespace, and it names no host
# that scan2pdf does not own. Readers match on it: change it only with a new version.
NAMESPACE = "https://scan2pdf.invalid/ns/provenance/1.0/"
PREFIX = "scan2pdf"

_X = "adobe:ns:meta/"
_RDF = f"{{{XMP_NS_RDF}}}"
_EXT = f"{{{XMP_NS_PDFA_EXTENSION}}}"
_SCHEMA = f"{{{XMP_NS_PDFA_SCHEMA}}}"
_PROP = f"{{{XMP_NS_PDFA_PROPERTY}}}"
_OURS = f"{{{NAMESPACE}}}"
_ABOUT = f"{_RDF}about"
_RESOURCE = {f"{_RDF}parseType": "Resource"}
# PDF/A-2 and -3 want the extension schema's own prefixes as the standard spells them.
_EXTENSION_PREFIXES = {
    "pdfaExtension": XMP_NS_PDFA_EXTENSION,
    "pdfaSchema": XMP_NS_PDFA_SCHEMA,
    "pdfaProperty": XMP_NS_PDFA_PROPERTY,
}


@dataclass(frozen=True, slots=True)
class Field:
    """One property of scan2pdf's namespace, as its extension schema declares it."""

    name: str
    value_type: str  # an XMP basic value type that PDF/A-1 knows: Text, Date
    description: str


# Descriptions are short: PDF/A keeps the packet uncompressed, and every byte of the
# declaration is in every PDF/A (README.md's "Provenance inside each PDF" says the rest).
FIELDS: tuple[Field, ...] = (
    Field("SourceSHA256", "Text", "SHA-256 of the source"),
    Field(
        "SourceName",
        "Text",
        "Source name relative to its INPUT folder (what XML cannot hold as %XX bytes)",
    ),
    Field("ConversionDate", "Date", "When it was converted"),
    Field("OptionsFingerprint", "Text", "Fingerprint of the options"),
    Field("Scan2pdfVersion", "Text", "scan2pdf version"),
    Field("OCRmyPDFVersion", "Text", "OCRmyPDF version"),
    Field("TesseractVersion", "Text", "Tesseract version"),
)
_SCHEMA_NAME = "scan2pdf provenance"


@dataclass(frozen=True, slots=True)
class Provenance:
    """What one output's XMP says about it; an empty value leaves its property out."""

    source_sha256: str | None = None
    source_name: str = ""
    options: str = ""
    scan2pdf: str = __version__
    ocrmypdf: str | None = None
    tesseract: str | None = None

    @classmethod
    def of(cls, job: Job, made_by: str) -> Provenance:
        """A job's provenance; ``made_by`` is ``worker/provenance.py``'s JSON of versions."""
        versions = json.loads(made_by)
        return cls(
            source_sha256=job.content,
            source_name=job.origin,
            options=job.fingerprint,
            ocrmypdf=versions.get("ocrmypdf"),
            tesseract=versions.get("tesseract"),
        )

    def properties(self, when: datetime) -> dict[str, str]:
        """Property name to value, in ``FIELDS`` order, without the empty ones."""
        values = {
            "SourceSHA256": self.source_sha256,
            "SourceName": xml_name(self.source_name),
            "ConversionDate": when.isoformat(timespec="seconds"),
            "OptionsFingerprint": self.options,
            "Scan2pdfVersion": self.scan2pdf,
            "OCRmyPDFVersion": self.ocrmypdf,
            # "unknown": program_version's word for a Tesseract that did not say.
            "TesseractVersion": None if self.tesseract == "unknown" else self.tesseract,
        }
        return {f.name: value for f in FIELDS if (value := values[f.name])}


# What XML 1.0 cannot hold: controls other than tab, newline and return; surrogates (a
# name's undecodable bytes, as os.fsdecode keeps them); U+FFFE and U+FFFF. And "%", so that
# the escaping below reads back unambiguously.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f%\ud800-\udfff\ufffe\uffff]")


def xml_name(name: str) -> str:
    """``name`` with what XML cannot hold written as its bytes, %XX (as in a URL): a file
    may be called anything a filesystem allows, and its output must still say so."""
    return _NOT_XML.sub(
        lambda found: "".join(f"%{b:02X}" for b in os.fsencode(found.group())), name
    )


def stamp(pdf: Path, provenance: Provenance, when: datetime | None = None) -> None:
    """Write ``provenance`` into the XMP of the PDF at ``pdf``, in place.

    Raises ``InvalidOutputError`` when the PDF or its XMP packet cannot be read or written:
    a published PDF always says what it came from (DESIGN.md's first invariant; ``scan2pdf
    verify`` reads it), so a file that cannot say it fails, with the reason, rather than
    be published without it. OCRmyPDF writes every output's packet itself, with pikepdf,
    so this is for broken outputs, not for inputs whose own metadata was odd.
    """
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    try:
        with pikepdf.open(pdf, allow_overwriting_input=True) as document:
            packet = stamped_packet(_packet_of(document), provenance.properties(moment))
            document.Root.Metadata = document.make_stream(
                packet, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML
            )
            document.save(
                pdf,
                # pikepdf's default, said aloud: qpdf leaves the packet unfiltered, which
                # PDF/A wants of it.
                preserve_pdfa=True,
                # No stream is decoded, so none is re-encoded: the scans and text layers
                # are copied as they are, and the save costs little more than a copy.
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                # Its fix would reopen the packet just written through PdfMetadata.
                fix_metadata_version=False,
                # OCRmyPDF linearizes outputs over 1 MB ("fast web view"); keep them so.
                linearize=document.is_linearized,
            )
    except (pikepdf.PdfError, etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidOutputError(
            f"Its provenance could not be written into the output PDF's XMP metadata "
            f"({first_line(exc)}).",
            "Run it again with -v and report the output; the input may need repair "
            "(qpdf in.pdf out.pdf).",
        ) from exc


def stamped_packet(packet: bytes | None, properties: Mapping[str, str]) -> bytes:
    """The XMP ``packet`` (None: there is none) with scan2pdf's ``properties`` and their
    declaration in place of any it had, everything else kept."""
    if packet:
        root = _parse(packet)
        rdf = _rdf_of(root)
    else:
        root = etree.Element(f"{{{_X}}}xmpmeta", nsmap={"x": _X})
        rdf = etree.SubElement(root, f"{_RDF}RDF", nsmap={"rdf": XMP_NS_RDF})
    about = _forget_ours(rdf)
    ours = etree.SubElement(rdf, f"{_RDF}Description", {_ABOUT: about}, nsmap={PREFIX: NAMESPACE})
    for name, value in properties.items():
        etree.SubElement(ours, f"{_OURS}{name}").text = value
    if _claims_pdfa(rdf):
        _declare(_schemas_bag(rdf, ours))
    # Not indented: that would be a tenth more bytes, kept uncompressed in every PDF/A.
    ours.tail = "\n"
    xml: bytes = etree.tostring(root, encoding="utf-8", xml_declaration=False)
    return XPACKET_BEGIN + xml + XPACKET_END


def read_stamp(pdf: Path) -> dict[str, str]:
    """The scan2pdf properties in the XMP of the PDF at ``pdf``: name to value."""
    with pikepdf.open(pdf) as document:
        packet = _packet_of(document)
    if not packet:
        return {}
    found: dict[str, str] = {}
    for description in _rdf_of(_parse(packet)).iterchildren(f"{_RDF}Description"):
        for key, value in description.attrib.items():
            if str(key).startswith(_OURS):
                found[str(key)[len(_OURS) :]] = str(value)
        for node in description.iterchildren(f"{_OURS}*"):
            found[etree.QName(node).localname] = node.text or ""
    return found


def _packet_of(document: pikepdf.Pdf) -> bytes | None:
    metadata = document.Root.get("/Metadata")
    return metadata.read_bytes() if isinstance(metadata, pikepdf.Stream) else None


def _parse(packet: bytes) -> etree._Element:
    # A packet is data from a file, never a reason to fetch or expand anything.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(packet.strip(), parser)


def _rdf_of(root: etree._Element) -> etree._Element:
    if root.tag == f"{_RDF}RDF":
        return root
    rdf = root.find(f"{_RDF}RDF")
    if rdf is None:
        raise ValueError(f"its XMP packet has no rdf:RDF under {root.tag}")
    return rdf


def _forget_ours(rdf: etree._Element) -> str:
    """Remove scan2pdf's properties and declaration (an input that is itself an output
    of scan2pdf brings the old ones), and empty Descriptions; return the ``rdf:about``
    the document's Descriptions use (PDF/A wants one for all of them)."""
    descriptions = list(rdf.iterchildren(f"{_RDF}Description"))
    about = descriptions[0].get(_ABOUT, "") if descriptions else ""
    for description in descriptions:
        for key in [k for k in description.attrib if str(k).startswith(_OURS)]:
            del description.attrib[key]
        for node in list(description.iterchildren(f"{_OURS}*")):
            description.remove(node)
        for schema in list(_declared_schemas(description)):
            bag = schema.getparent()
            if bag is not None and schema.findtext(f"{_SCHEMA}namespaceURI") == NAMESPACE:
                bag.remove(schema)
        for schemas in list(description.iterchildren(f"{_EXT}schemas")):
            if not schemas.findall(f"{_RDF}Bag/{_RDF}li"):  # declared only ours
                description.remove(schemas)
        if len(description) == 0 and set(description.attrib) <= {_ABOUT}:
            rdf.remove(description)
    return about


def _claims_pdfa(rdf: etree._Element) -> bool:
    """Whether the packet says the file is PDF/A (``pdfaid:part``, element or attribute)."""
    part = f"{{{XMP_NS_PDFA_ID}}}part"
    return any(
        d.get(part) is not None or d.find(part) is not None
        for d in rdf.iterchildren(f"{_RDF}Description")
    )


def _declared_schemas(description: etree._Element) -> Iterator[etree._Element]:
    for bag in description.iterfind(f"{_EXT}schemas/{_RDF}Bag"):
        yield from bag.iterchildren(f"{_RDF}li")


def _schemas_bag(rdf: etree._Element, ours: etree._Element) -> etree._Element:
    """The packet's ``pdfaExtension:schemas`` Bag: the property may appear only once,
    so a packet that declares other schemas (a PDF/A input's) gets ours beside them."""
    for schemas in rdf.iter(f"{_EXT}schemas"):
        bag = schemas.find(f"{_RDF}Bag")
        if bag is None:  # malformed: it declares nothing a reader could use
            schemas.clear()
            bag = etree.SubElement(schemas, f"{_RDF}Bag")
        return bag
    schemas = etree.SubElement(
        ours, f"{_EXT}schemas", nsmap={"pdfaExtension": XMP_NS_PDFA_EXTENSION}
    )
    return etree.SubElement(schemas, f"{_RDF}Bag")


def _declare(bag: etree._Element) -> None:
    """Add scan2pdf's schema to ``bag``, every property with its value type (§6.7.8)."""
    schema = etree.SubElement(bag, f"{_RDF}li", _RESOURCE, nsmap=_EXTENSION_PREFIXES)
    etree.SubElement(schema, f"{_SCHEMA}schema").text = _SCHEMA_NAME
    etree.SubElement(schema, f"{_SCHEMA}namespaceURI").text = NAMESPACE
    etree.SubElement(schema, f"{_SCHEMA}prefix").text = PREFIX
    properties = etree.SubElement(etree.SubElement(schema, f"{_SCHEMA}property"), f"{_RDF}Seq")
    for field in FIELDS:
        entry = etree.SubElement(properties, f"{_RDF}li", _RESOURCE)
        etree.SubElement(entry, f"{_PROP}name").text = field.name
        etree.SubElement(entry, f"{_PROP}valueType").text = field.value_type
        # "internal": scan2pdf computes the value; a person does not edit it.
        etree.SubElement(entry, f"{_PROP}category").text = "internal"
        etree.SubElement(entry, f"{_PROP}description").text = field.description
