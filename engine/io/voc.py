"""Read and write Pascal VOC XML (one ``<annotation>`` file per image).

Accepted layouts: ``Annotations/*.xml`` + ``JPEGImages/`` (the VOC devkit), ``annotations/`` +
``images/`` (e.g. the raccoon set), XML files next to their images, the annotations folder itself,
or one ``.xml`` file. Subfolders under the XML folder mirror subfolders under the image folder. An
XML's image is found by its ``<filename>`` (in the mirrored subfolder, then the image folder), then by
the XML's own stem with any image extension, then by an existing absolute ``<path>``.

Coordinate convention (the classic VOC devkit's, as detectron2 reads it): ``xmin ymin xmax ymax`` are
1-based *inclusive pixel indices*, so a box covering pixels 0..W-1 of our continuous frame is written
``xmin=1, xmax=W``. Reading maps ``x1 = xmin - 1, y1 = ymin - 1, x2 = xmax, y2 = ymax``; writing
inverts that exactly (fractions kept to 1/1000 px), so write -> read is exact.

Images without an XML: when the images live in a dedicated folder (``JPEGImages/``, ``images/``) or
beside the XML files, every image there without an XML is read as an image with *no boxes* (the same
rule YOLO uses for images without a label file), and one warning line counts them. A malformed XML
file is skipped with a warning and its image left out (not turned into a false "no boxes" image), so
one bad file never costs the rest of the dataset. Class order comes from ``classes.txt`` when present
(the writer leaves one), else alphabetical.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

from engine.errors import DatasetError, ImageLoadError
from engine.fsutil import file_problem, write_text_atomic
from engine.io._common import (
    class_names_for,
    clean_boxes,
    export_paths,
    line_safe_names,
    number,
    parse_float,
    parse_size,
    place_image,
    read_class_list,
    rel_posix,
)
from engine.io.image import list_images, read_image_size
from engine.types import AnnotatedImage, Annotations, Box

log = logging.getLogger(__name__)

CLASSES_FILE = "classes.txt"


def _child(folder: Path, *names: str) -> Path | None:
    """The sub-folder of ``folder`` whose name matches one of ``names`` (case-insensitive, in order)."""
    if not folder.is_dir():
        return None
    by_lower = {p.name.lower(): p for p in folder.iterdir() if p.is_dir()}
    for name in names:
        if name.lower() in by_lower:
            return by_lower[name.lower()]
    return None


def voc_layout(path: Path) -> tuple[Path, Path, list[Path], Path, bool]:
    """(dataset folder, XML folder, XML files, image folder, whether images without XML belong)."""
    if not path.exists():
        raise DatasetError(f"VOC dataset not found: {path}")
    if path.is_file():
        if path.suffix.lower() != ".xml":
            raise DatasetError(f"{path} is not a VOC .xml file")
        xml_dir, files = path.parent, [path]
    else:
        xml_dir = _child(path, "Annotations") or path
        files = sorted(
            p for p in xml_dir.rglob("*.xml")
            if not any(part.startswith(".") for part in p.relative_to(xml_dir).parts)
        )
        if not files:
            raise DatasetError(f"no VOC .xml files in {path} (expected Annotations/*.xml)")
    if xml_dir.name.lower() == "annotations":
        base = xml_dir.parent
        image_dir = _child(base, "JPEGImages", "images")
        return base, xml_dir, files, image_dir or base, image_dir is not None
    base = xml_dir
    image_dir = _child(base, "JPEGImages", "images")
    if image_dir is not None:
        return base, xml_dir, files, image_dir, True
    return base, xml_dir, files, base, path.is_dir()


def _text(node: ET.Element, tag: str) -> str:
    found = node.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def _find_image(
    xml_path: Path, xml_dir: Path, image_dir: Path, doc: ET.Element | None,
    by_rel: dict[str, Path], by_stem: dict[str, Path],
) -> Path | None:
    rel_dir = xml_path.parent.relative_to(xml_dir).as_posix()
    rel_dir = "" if rel_dir == "." else rel_dir + "/"
    if doc is not None:
        filename = _text(doc, "filename").replace("\\", "/")
        if filename:
            for rel in (rel_dir + filename, filename):
                if rel in by_rel:
                    return by_rel[rel]
                if (image_dir / rel).is_file():
                    return image_dir / rel
    stem_hit = by_stem.get(rel_dir + xml_path.stem)
    if stem_hit is not None:
        return stem_hit
    if doc is not None:
        abs_path = Path(_text(doc, "path"))
        if abs_path.is_absolute() and abs_path.is_file():
            return abs_path
    return None


def _boxes(doc: ET.Element, where: str, warnings: list[str]) -> list[Box]:
    boxes: list[Box] = []
    for i, obj in enumerate(doc.iter("object")):
        label = _text(obj, "name")
        bnd = obj.find("bndbox")
        keys = ("xmin", "ymin", "xmax", "ymax")
        values = [parse_float(_text(bnd, k)) for k in keys] if bnd is not None else []
        if not label or len(values) != 4 or any(v is None for v in values):
            warnings.append(
                f"{where}: object {i + 1} ({label or 'no name'!r}) has no valid name/bndbox; skipped"
            )
            continue
        xmin, ymin, xmax, ymax = values  # type: ignore[misc]
        boxes.append(Box(xmin - 1.0, ymin - 1.0, xmax, ymax, label))
    return boxes


def read_voc(path: str | Path) -> Annotations:
    """Read a VOC dataset folder or one XML file (layouts and conventions in the module docstring).

    Returns Annotations with ``root`` = the image folder and boxes in absolute pixels [x1, y1, x2, y2].
    Raises DatasetError for a missing path or a folder without XML files.
    """
    base, xml_dir, xml_files, image_dir, claim_all = voc_layout(Path(path))
    warnings: list[str] = []
    listed = list_images(image_dir) if image_dir.is_dir() else []
    by_rel = {rel_posix(p, image_dir): p for p in listed}
    by_stem: dict[str, Path] = {}
    for rel, p in by_rel.items():
        by_stem.setdefault(rel.rsplit(".", 1)[0], p)

    images: list[AnnotatedImage] = []
    claimed: set[Path] = set()
    seen_labels: list[str] = []
    for xml_path in xml_files:
        where = rel_posix(xml_path, base)
        problem = file_problem(xml_path)
        try:
            if problem is not None:
                raise OSError(problem)
            doc = ET.parse(xml_path).getroot()
        except (ET.ParseError, OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            image = _find_image(xml_path, xml_dir, image_dir, None, by_rel, by_stem)
            if image is not None:
                claimed.add(image)
            warnings.append(f"{where}: malformed XML ({exc}); file and its image skipped")
            continue
        if doc.tag != "annotation":
            # its image is left out too: read as "no boxes" it would teach the model false negatives
            image = _find_image(xml_path, xml_dir, image_dir, None, by_rel, by_stem)
            if image is not None:
                claimed.add(image)
            tag = str(doc.tag)[:40]
            warnings.append(f"{where}: not a VOC annotation (root <{tag}>, not <annotation>); "
                            "file and its image skipped")
            continue
        image = _find_image(xml_path, xml_dir, image_dir, doc, by_rel, by_stem)
        width = parse_size(_text(doc, "size/width"))
        height = parse_size(_text(doc, "size/height"))
        if image is None:
            name = _text(doc, "filename") or xml_path.stem
            if width <= 0 or height <= 0:
                warnings.append(f"{where}: image {name} not found and no size given; skipped")
                continue
            warnings.append(f"{where}: image {name} not found; kept with its boxes")
            image = image_dir / xml_path.parent.relative_to(xml_dir) / name
        claimed.add(image)
        if (width <= 0 or height <= 0) and image.is_file():
            try:
                width, height = read_image_size(image)
            except ImageLoadError as exc:
                warnings.append(f"{where}: no size in XML and {exc}; boxes not clipped")
        boxes = clean_boxes(_boxes(doc, where, warnings), width, height, where, warnings)
        for box in boxes:
            if box.label not in seen_labels:
                seen_labels.append(box.label)
        images.append(AnnotatedImage(rel_posix(image, image_dir), max(width, 0), max(height, 0), boxes))

    if claim_all:
        extra = [p for p in listed if p not in claimed]
        for p in extra:
            try:
                width, height = read_image_size(p)
            except ImageLoadError as exc:
                warnings.append(f"{exc}; skipped")
                continue
            images.append(AnnotatedImage(rel_posix(p, image_dir), width, height, ()))
        if extra:
            warnings.append(f"{len(extra)} images in {image_dir} have no XML; read as images with no boxes")
    images.sort(key=lambda img: img.path)
    class_names = _class_order(base, xml_dir, image_dir, seen_labels)
    log.debug("read VOC %s: %d images, %d classes", base, len(images), len(class_names))
    return Annotations(image_dir, tuple(class_names), tuple(images), tuple(warnings))


def _class_order(base: Path, xml_dir: Path, image_dir: Path, seen: list[str]) -> list[str]:
    for folder in (base, xml_dir, image_dir):
        listing = folder / CLASSES_FILE
        if listing.is_file():
            names = read_class_list(listing)
            return names + sorted(set(seen) - set(names))
    return sorted(set(seen))


def _xml_for(img: AnnotatedImage, file_path: Path, boxes_written: list[Box]) -> ET.Element:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = file_path.parent.name
    ET.SubElement(root, "filename").text = file_path.name
    ET.SubElement(root, "path").text = str(file_path)
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "RetinaLab"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(img.width)
    ET.SubElement(size, "height").text = str(img.height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for box in boxes_written:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = box.label
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bnd = ET.SubElement(obj, "bndbox")
        for tag, value in zip(
            ("xmin", "ymin", "xmax", "ymax"), (box.x1 + 1.0, box.y1 + 1.0, box.x2, box.y2)
        ):
            ET.SubElement(bnd, tag).text = number(value)
    ET.indent(root, space="\t")
    return root


def write_voc(
    ann: Annotations, dst: str | Path, *, copy_images: bool = True, link_images: bool = False
) -> list[str]:
    """Write ``ann`` as ``dst/Annotations/<path>.xml`` (+ ``dst/JPEGImages/<path>`` when copying).

    Every image gets an XML, including images without boxes; ``dst/classes.txt`` keeps the class
    order. With ``copy_images=False`` each XML's ``<path>`` is the original image's absolute path.
    Returns warning lines (missing source images, unlisted classes, non-finite boxes).
    """
    dst = Path(dst)
    names, warnings = class_names_for(ann)
    names, renamed, notes = line_safe_names(names, "VOC")
    warnings += notes
    targets = export_paths(ann.images)
    used_xml: set[str] = set()
    for img in ann.images:
        src = ann.root / img.path
        rel = targets[img.path]
        if copy_images or link_images:
            file_path = (dst / "JPEGImages" / rel).resolve()
            place_image(src, file_path, mode="link" if link_images else "copy", warnings=warnings)
        else:
            file_path = src.resolve()
        xml_rel = rel.rsplit(".", 1)[0] + ".xml"
        if xml_rel.lower() in used_xml:  # a.jpg and a.png in one folder
            xml_rel = rel + ".xml"
        used_xml.add(xml_rel.lower())
        boxes = [b.replace(label=renamed.get(b.label, b.label)) for b in img.boxes if b.is_finite()]
        if len(boxes) < len(img.boxes):
            warnings.append(f"{img.path}: {len(img.boxes) - len(boxes)} non-finite boxes not written")
        doc = _xml_for(img, file_path, boxes)
        xml_text = ET.tostring(doc, encoding="unicode")
        write_text_atomic(dst / "Annotations" / xml_rel, xml_text + "\n")
    write_text_atomic(dst / CLASSES_FILE, "".join(n + "\n" for n in names))
    for line in warnings:
        log.debug("%s", line)  # returned to the caller, who shows them once
    return warnings
