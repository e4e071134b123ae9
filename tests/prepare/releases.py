"""Small fabricated copies of the official releases, in their exact layouts
(docs/data-preparation.md): a few dozen items each, images of odd sizes and modes, the text
files in the releases' own formats (CRLF lines, Latin-1 captions, Windows paths)."""
from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def jpeg_bytes(seed: int, size=(37, 29), mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def expected_image(data: bytes, size: int = 224) -> np.ndarray:
    """What the preparation must store for an image file: RGB, resized with Pillow's bicubic filter."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB").resize((size, size), Image.BICUBIC))


def write_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def write_zip(path: Path, files: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return path


def write_tgz(path: Path, files: dict[str, bytes | str], order: list[str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name in order or list(files):
            content = files[name]
            data = content.encode("utf-8") if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# --------------------------------------------------------------------------------------------
# MIRFlickr-25K: mirflickr25k.zip and mirflickr25k_annotations_v080.zip

MIRFLICKR_CONCEPTS = ("animals", "baby", "bird", "car", "clouds", "dog", "female", "flower", "food", "indoor", "lake",
                      "male", "night", "people", "plant_life", "portrait", "river", "sea", "sky", "structures", "sunset",
                      "transport", "tree", "water")
MIRFLICKR_R1 = ("baby", "bird", "car", "clouds", "dog", "female", "flower", "male", "night", "people", "portrait",
                "river", "sea", "tree")


def mirflickr_release(n: int = 30):
    """(images files, annotation files, facts): image k has tags, labels as below.

    - image 4 has no label, image 5 no vocabulary tag (only a rare one): both dropped;
    - image 9 is a truncated JPEG: reported and dropped;
    - the vocabulary is common_tags.txt's order: 'sky', 'clouds', 'dog', 'beach' (not alphabetical).
    """
    common = ["sky", "clouds", "dog", "beach"]
    images, tags, labels = {}, {}, {}
    for k in range(1, n + 1):
        mode = "L" if k == 3 else "RGB"  # a greyscale photograph becomes three equal channels
        data = jpeg_bytes(k, size=(40 + k, 30 + (k % 7)), mode=mode)
        if k == 9:
            data = data[: len(data) // 2]
        images[f"mirflickr/im{k}.jpg"] = data
        tags[k] = ["rareword"] if k == 5 else [common[k % 4], common[(k + 1) % 4], "nikon"]
        labels[k] = [] if k == 4 else [MIRFLICKR_CONCEPTS[k % 24], MIRFLICKR_CONCEPTS[(3 * k) % 24]]
    files = dict(images)
    for k in range(1, n + 1):
        files[f"mirflickr/meta/tags/tags{k}.txt"] = "".join(t + "\r\n" for t in tags[k])
        files[f"mirflickr/meta/tags_raw/tags{k}.txt"] = "".join(t.upper() + "\r\n" for t in tags[k])
        files[f"mirflickr/meta/exif_raw/exif{k}.txt"] = "-Make\nCanon\n"
        files[f"mirflickr/meta/license/license{k}.txt"] = "Attribution License\n"
    files["mirflickr/doc/common_tags.txt"] = "".join(f"{t} {30 - i}\n" for i, t in enumerate(common))
    files["mirflickr/doc/README.txt"] = "MIRFLICKR-25000\n"
    annotations = {"mirflickr25k_annotations_v080/README.txt": "annotations v080\n"}
    for concept in MIRFLICKR_CONCEPTS:
        ids = [k for k in range(1, n + 1) if concept in labels[k]]
        annotations[f"mirflickr25k_annotations_v080/{concept}.txt"] = "".join(f"{k}\r\n" for k in ids)
    for concept in MIRFLICKR_R1:  # the "relevant" subsets: must not add labels
        annotations[f"mirflickr25k_annotations_v080/{concept}_r1.txt"] = "4\n"
    return files, annotations, {"common": common, "tags": tags, "labels": labels, "truncated": 9,
                                "no_label": 4, "no_tag": 5}


# --------------------------------------------------------------------------------------------
# NUS-WIDE: Flickr/, ImageList.zip, Groundtruth.zip, NUS_WID_Tags.zip

NUS_CONCEPTS = ("airport", "animal", "beach", "bear", "birds", "clouds", "flowers", "sky", "water", "window", "zebra",
                "grass")


def nuswide_release(n: int = 40, tags: int = 12):
    """(images, image list, ground truth, tags files, facts). Concept j is on image i when
    (i * (j + 1)) % 5 == 0 or i % (j + 2) == 0 — so the concept counts are hand-checkable;
    image 7 lists a C:\\ImageData\\Flickr\\ path, image 11's file is missing from Flickr/."""
    rng = np.random.default_rng(0)
    concepts = sorted(NUS_CONCEPTS)
    dirs = ["actor", "airport", "zebra"]
    entries, images = [], {}
    for i in range(n):
        name = f"{dirs[i % 3]}\\{i + 1:04d}_{2124494179 + i}.jpg"
        entries.append(("C:\\ImageData\\Flickr\\" + name) if i == 7 else name)
        if i != 11:
            images["Flickr/" + name.replace("\\", "/")] = jpeg_bytes(100 + i, size=(50, 40 + i))
    truth = np.zeros((n, len(concepts)), np.uint8)
    for i in range(n):
        for j in range(len(concepts)):
            truth[i, j] = (i * (j + 1)) % 5 == 0 or i % (j + 2) == 0
    truth[13] = 0  # an image with no concept at all
    tag_matrix = (rng.random((n, tags)) < 0.3).astype(np.uint8)
    tag_matrix[17] = 0  # no tag: kept all the same (the DCMH files keep empty texts)
    truth_files = {f"Groundtruth/AllLabels/Labels_{c}.txt": "".join(f"{v}\r\n" for v in truth[:, j])
                   for j, c in enumerate(concepts)}
    truth_files["Groundtruth/TrainTestLabels/Labels_lake_Train.txt"] = "-1130179\n"  # the release's known bad line
    tag_files = {
        "NUS_WID_Tags/AllTags1k.txt": "".join("\t".join(str(v) for v in row) + " \r\n" for row in tag_matrix),
        "NUS_WID_Tags/TagList1k.txt": "".join(f"tag{j}\n" for j in range(tags)),
        "NUS_WID_Tags/All_Tags.txt": "".join(f"{2124494179 + i} sky\n" for i in range(n)),
    }
    list_files = {"ImageList/Imagelist.txt": "".join(e + "\r\n" for e in entries),
                  "ImageList/TrainImagelist.txt": "".join(e + "\r\n" for e in entries[: n // 2])}
    return images, list_files, truth_files, tag_files, {
        "concepts": concepts, "truth": truth, "tags": tag_matrix, "entries": entries, "missing": 11, "unlabelled": 13}


# --------------------------------------------------------------------------------------------
# IAPR TC-12: iaprtc12.tgz and saiaprtc12ok


def iapr_caption(folder: int, image: int, title: str, description: str) -> bytes:
    record = (f"<DOC>\n<DOCNO>annotations/{folder:02d}/{image}.eng</DOCNO>\n<TITLE>{title}</TITLE>\n"
              f"<DESCRIPTION>{description}</DESCRIPTION>\n<NOTES></NOTES>\n<LOCATION>Quilotoa, Ecuador</LOCATION>\n"
              f"<DATE>April 2002</DATE>\n<IMAGE>images/{folder:02d}/{image}.jpg</IMAGE>\n"
              f"<THUMBNAIL>thumbnails/{folder:02d}/{image}.jpg</THUMBNAIL>\n</DOC>\n")
    return record.encode("latin-1")


def iapr_release(n: int = 30):
    """(release files, SAIAPR files, facts). Items are (folder, id) = (i % 3, 1000 + i); item 6 has
    no SAIAPR label, item 8 no caption; captions are Latin-1 ('Tafí')."""
    words = ["boy", "wall", "grey", "mountain", "church", "tourist", "lake", "sky"]
    release, segments, captions, regions = {}, {}, {}, {}
    label_names = {1: "abstract", 2: "aeroplane", 5: "boy", 7: "church", 9: "grass", 12: "sky"}
    used = sorted(label_names)
    for i in range(n):
        folder, image = i % 3, 1000 + i
        release[f"iaprtc12/images/{folder:02d}/{image}.jpg"] = jpeg_bytes(300 + i, size=(60, 45))
        release[f"iaprtc12/thumbnails/{folder:02d}/{image}.jpg"] = jpeg_bytes(300 + i, size=(12, 9))
        description = f"a {words[i % 8]} and the {words[(i * 3) % 8]} with a {words[(i + 5) % 8]};"
        title = "Tafí del Valle" if i % 4 == 0 else f"{words[(i + 1) % 8]} {i % 2 + 2}"
        captions[(folder, image)] = (title, description)
        if i != 8:
            release[f"iaprtc12/annotations_complete_eng/{folder:02d}/{image}.eng"] = iapr_caption(folder, image, title,
                                                                                              description)
        if i != 6:
            regions[(folder, image)] = [used[i % 6], used[(i * 5) % 6]]
    for folder in range(3):
        rows = [f"{image} {r + 1} {label}" for (f, image), labels in sorted(regions.items()) if f == folder
                for r, label in enumerate(labels)]
        segments[f"saiaprtc12ok/benchmark/saiapr_tc-12/{folder:02d}/labels.txt"] = "\n".join(rows) + "\n"
    segments["saiaprtc12ok/benchmark/wlist.txt"] = "".join(f"{k}\t{v}\n" for k, v in label_names.items()) + "3\tbear\n"
    return release, segments, {"captions": captions, "regions": regions, "label_ids": used,
                               "label_names": [label_names[k] for k in used], "no_label": (0, 1006),
                               "no_caption": (2, 1008)}


# --------------------------------------------------------------------------------------------
# MS-COCO 2014: train2014.zip, val2014.zip, annotations_trainval2014.zip


def coco_release(n_train: int = 14, n_val: int = 10):
    """(train images, val images, annotation files, facts). Categories have ids 1, 3, 90 (not
    contiguous); image ids interleave between train and val; image 21 has no object."""
    categories = [{"id": 90, "name": "toothbrush", "supercategory": "indoor"},
                  {"id": 1, "name": "person", "supercategory": "person"},
                  {"id": 3, "name": "car", "supercategory": "vehicle"}]
    sentences = ["A man riding a bike down the street.", "Two cars parked near a red building.",
                 "A toothbrush on a white sink.", "People walking along the beach at sunset."]
    parts = {"train2014": {}, "val2014": {}}
    instances = {p: {"images": [], "annotations": [], "categories": categories, "info": {}, "licenses": []}
                 for p in parts}
    captions = {p: {"images": [], "annotations": [], "info": {}, "licenses": []} for p in parts}
    labels, texts = {}, {}
    for k in range(n_train + n_val):
        part = "train2014" if k < n_train else "val2014"
        image_id = 9 + 2 * k if part == "train2014" else 10 + 2 * (k - n_train)
        name = f"COCO_{part}_{image_id:012d}.jpg"
        parts[part][f"{part}/{name}"] = jpeg_bytes(500 + k, size=(64, 48))
        record = {"id": image_id, "file_name": name, "width": 64, "height": 48, "license": 1}
        instances[part]["images"].append(record)
        captions[part]["images"].append(record)
        cats = [] if image_id == 21 else sorted({[1, 3, 90][k % 3], [1, 3, 90][(k * 2) % 3]})
        labels[image_id] = cats
        for c in cats:
            instances[part]["annotations"].append({"id": 1000 + k * 10 + c, "image_id": image_id, "category_id": c,
                                                   "bbox": [0, 0, 1, 1], "area": 1.0, "iscrowd": 0})
        texts[image_id] = [sentences[k % 4], sentences[(k + 1) % 4]]
        for j, sentence in enumerate(texts[image_id]):
            captions[part]["annotations"].append({"id": 50000 + 10 * k + j, "image_id": image_id, "caption": sentence})
    annotation_files = {f"annotations/instances_{p}.json": json.dumps(instances[p]) for p in parts}
    annotation_files.update({f"annotations/captions_{p}.json": json.dumps(captions[p]) for p in parts})
    return parts["train2014"], parts["val2014"], annotation_files, {"labels": labels, "texts": texts}
