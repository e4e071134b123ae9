"""``python -m sdch_tf.prepare`` on fabricated releases in their exact layouts (tests/prepare/releases.py):
what each preparation keeps and drops, the stored values, resuming, the error lines, and the
files training through ``--dataset`` end to end."""
import json

import numpy as np
import pytest

from sdch_tf.data.datasets import load_dataset
from sdch_tf.prepare import writer
from sdch_tf.prepare.__main__ import main as prepare_main
from sdch_tf.cli import run_main
from tests.prepare import releases as fab


def prepare(*argv) -> int:
    return run_main(prepare_main, list(argv))


def lines(path):
    return path.read_text(encoding="utf-8").splitlines()


# --------------------------------------------------------------------------------------------
# MIRFlickr-25K


@pytest.fixture(scope="module")
def mirflickr(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirflickr")
    files, annotations, facts = fab.mirflickr_release()
    images_zip = fab.write_zip(root / "mirflickr25k.zip", files)
    annotations_zip = fab.write_zip(root / "mirflickr25k_annotations_v080.zip", annotations)
    out = root / "out"
    assert prepare("mirflickr", "--images", str(images_zip), "--annotations", str(annotations_zip),
                   "--out", str(out), "--quiet") == 0
    return root, files, facts, out


def test_mirflickr_keeps_labelled_tagged_readable_items_in_image_order(mirflickr):
    _, files, facts, out = mirflickr
    kept = [k for k in range(1, 31) if k not in (4, 5, 9)]  # no label, no vocabulary tag, truncated JPEG
    assert lines(out / "images.txt") == [f"mirflickr/im{k}.jpg" for k in kept]
    assert lines(out / "vocabulary.txt") == ["sky", "clouds", "dog", "beach"]  # common_tags.txt's order
    assert lines(out / "concepts.txt") == list(fab.MIRFLICKR_CONCEPTS)
    data = load_dataset("mirflickr", out)
    assert data.num_samples == 27 and data.texts.shape == (27, 4) and data.labels.shape == (27, 24)
    for row, k in enumerate(kept):
        expected_tags = {facts["common"][k % 4], facts["common"][(k + 1) % 4]}
        assert {w for w, v in zip(facts["common"], data.texts[row]) if v} == expected_tags
        assert set(np.flatnonzero(data.labels[row])) == {k % 24, (3 * k) % 24}  # the _r1 files add nothing
    picked = [0, 2, 20]  # rows of im1, im3, im23
    stored = data.images.read(np.array(picked))
    for row, image in zip(picked, stored):
        np.testing.assert_array_equal(image, fab.expected_image(files[f"mirflickr/im{kept[row]}.jpg"]))
    grey = stored[1]  # im3 is greyscale
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()


def test_mirflickr_summary_reports_every_drop(mirflickr):
    _, _, _, out = mirflickr
    summary = json.loads((out / "prepare.json").read_text())
    assert summary["pairs"] == 27 and summary["text_dim"] == 4 and summary["labels"] == 24
    assert summary["dropped"]["no label"] == {"count": 1, "first": ["im4"]}
    assert summary["dropped"]["no vocabulary tag"] == {"count": 1, "first": ["im5"]}
    (unreadable,) = summary["dropped"]["unreadable image"]["first"]
    assert unreadable.startswith("mirflickr/im9.jpg: cannot decode")


def test_mirflickr_without_common_tags_computes_the_vocabulary(tmp_path, capsys):
    files, annotations, _ = fab.mirflickr_release(n=12)
    del files["mirflickr/doc/common_tags.txt"]
    images = fab.write_tree(tmp_path / "images", files)  # extracted folders this time
    ann = fab.write_tree(tmp_path / "ann", annotations)
    assert prepare("mirflickr", "--images", str(images), "--annotations", str(ann), "--out", str(tmp_path / "o"),
                   "--min-tag-images", "4") == 0
    # nikon is on all 11 tagged images; each of the four common tags on about half of them.
    assert lines(tmp_path / "o" / "vocabulary.txt") == ["beach", "clouds", "dog", "nikon", "sky"]
    out = capsys.readouterr()
    assert "warning:" in out.err and "im9.jpg" in out.err and "item dropped" in out.err
    assert "mirflickr: wrote 9 pairs" in out.out


def test_interrupted_preparation_resumes_to_the_same_files(tmp_path, monkeypatch, capsys):
    files, annotations, _ = fab.mirflickr_release(n=12)
    images = fab.write_zip(tmp_path / "mirflickr25k.zip", files)
    ann = fab.write_zip(tmp_path / "ann.zip", annotations)
    args = ["mirflickr", "--images", str(images), "--annotations", str(ann), "--workers", "1"]
    assert prepare(*args, "--out", str(tmp_path / "whole")) == 0

    monkeypatch.setattr(writer, "_BLOCK", 2)
    real, calls = writer.decode_image, []

    def interrupted(data, size):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(data, size)

    monkeypatch.setattr(writer, "decode_image", interrupted)
    assert prepare(*args, "--out", str(tmp_path / "cut")) == 130
    assert not (tmp_path / "cut" / "prepare.json").exists()
    assert np.load(tmp_path / "cut" / ".prepare-mirflickr" / "done.npy").sum() == 4  # two whole blocks
    monkeypatch.setattr(writer, "decode_image", real)
    capsys.readouterr()
    assert prepare(*args, "--out", str(tmp_path / "cut")) == 0
    assert "resuming: 4 of" in capsys.readouterr().err
    assert not (tmp_path / "cut" / ".prepare-mirflickr").exists()
    whole, cut = load_dataset("mirflickr", tmp_path / "whole"), load_dataset("mirflickr", tmp_path / "cut")
    rows = np.arange(whole.num_samples)
    np.testing.assert_array_equal(whole.images.read(rows), cut.images.read(rows))
    np.testing.assert_array_equal(whole.texts, cut.texts)
    np.testing.assert_array_equal(whole.labels, cut.labels)
    assert prepare(*args, "--out", str(tmp_path / "cut")) == 0
    assert "already holds this preparation" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# NUS-WIDE


@pytest.fixture(scope="module")
def nuswide(tmp_path_factory):
    root = tmp_path_factory.mktemp("nuswide")
    images, list_files, truth_files, tag_files, facts = fab.nuswide_release()
    # The images in another layout than the list's: an extra top folder, as unpacked from a mirror.
    fab.write_tree(root / "mirror" / "NUS-WIDE-images", images)
    args = ["--images", str(root / "mirror"),
            "--image-list", str(fab.write_zip(root / "ImageList.zip", list_files)),
            "--groundtruth", str(fab.write_zip(root / "Groundtruth.zip", truth_files)),
            "--tags", str(fab.write_tree(root / "tags", tag_files))]
    return root, args, images, facts


@pytest.mark.parametrize("concepts", [21, 10])
def test_nuswide_keeps_the_most_frequent_concepts_in_alphabetical_order(nuswide, concepts):
    root, args, images, facts = nuswide
    out = root / f"out{concepts}"
    assert prepare("nuswide", *args, "--concepts", str(concepts), "--out", str(out), "--quiet") == 0
    truth = facts["truth"]
    counts = truth.sum(axis=0)
    top = sorted(np.argsort(-counts, kind="stable")[:concepts])  # ties: the earlier (alphabetical) concept
    expected_concepts = [facts["concepts"][j] for j in top]
    kept = [i for i in range(len(truth)) if truth[i, top].any() and i != facts["missing"]]
    assert 13 not in kept and 7 in kept  # no concept at all; the C:\ImageData\Flickr\ line resolves
    dataset = "nuswide" if concepts == 21 else "nuswide-tc10"
    data = load_dataset(dataset, out)
    assert lines(out / "concepts.txt") == expected_concepts
    np.testing.assert_array_equal(data.labels, truth[kept][:, top])
    np.testing.assert_array_equal(data.texts, facts["tags"][kept])  # empty tag rows (17) kept
    assert lines(out / "vocabulary.txt") == [f"tag{j}" for j in range(12)]
    sources = lines(out / "images.txt")
    assert sources[kept.index(7)] == "NUS-WIDE-images/Flickr/" + facts["entries"][7].split("Flickr\\")[1].replace("\\", "/")
    row = kept.index(20)
    np.testing.assert_array_equal(data.images.read(np.array([row]))[0], fab.expected_image(images[sources[row][len("NUS-WIDE-images/"):]]))
    summary = json.loads((out / "prepare.json").read_text())
    assert summary["dropped"]["image file not found"]["first"] == [facts["entries"][11].replace("\\", "/")]


def test_nuswide_label_file_of_another_length_is_an_error(tmp_path, capsys):
    images, list_files, truth_files, tag_files, _ = fab.nuswide_release(n=20)
    truth_files["Groundtruth/AllLabels/Labels_sky.txt"] = "0\n1\n"
    code = prepare("nuswide", "--images", str(fab.write_tree(tmp_path / "Flickr", images)),
                   "--image-list", str(fab.write_tree(tmp_path / "l", list_files)),
                   "--groundtruth", str(fab.write_tree(tmp_path / "g", truth_files)),
                   "--tags", str(fab.write_tree(tmp_path / "t", tag_files)), "--out", str(tmp_path / "o"))
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Labels_sky.txt has 2 lines but" in err and "lists 20 images" in err


# --------------------------------------------------------------------------------------------
# IAPR TC-12


@pytest.fixture(scope="module")
def iapr(tmp_path_factory):
    root = tmp_path_factory.mktemp("iapr")
    release, segments, facts = fab.iapr_release()
    # A tar in an order other than the rows': images are read front to back, written at their rows.
    order = sorted(release, reverse=True)
    tgz = fab.write_tgz(root / "iaprtc12.tgz", release, order)
    saiapr = fab.write_tree(root / "saiaprtc12ok-extracted", segments)
    out = root / "out"
    assert prepare("iapr", "--release", str(tgz), "--segments", str(saiapr), "--vocabulary-size", "6",
                   "--out", str(out), "--quiet") == 0
    return root, release, facts, out


def test_iapr_labels_come_from_the_segments_and_texts_from_the_captions(iapr):
    _, release, facts, out = iapr
    keys = sorted((i % 3, 1000 + i) for i in range(30))
    kept = [k for k in keys if k not in (facts["no_label"], facts["no_caption"])]
    assert lines(out / "images.txt") == [f"iaprtc12/images/{f:02d}/{i}.jpg" for f, i in kept]
    assert lines(out / "concepts.txt") == facts["label_names"]  # only the label ids in use, ascending
    data = load_dataset("iapr", out)
    for row, key in enumerate(kept):
        expected = {facts["label_ids"].index(label) for label in facts["regions"][key]}
        assert set(np.flatnonzero(data.labels[row])) == expected
    vocab = lines(out / "vocabulary.txt")
    assert len(vocab) == 6 and vocab == sorted(vocab)
    assert not {"a", "and", "the", "with"} & set(vocab)  # English stop words
    for row, key in enumerate(kept[:6]):
        title, description = facts["captions"][key]
        from sdch_tf.prepare.text import english_stop_words, words
        counted = words(f"{title} {description}", english_stop_words())
        np.testing.assert_array_equal(data.texts[row], [counted.count(w) for w in vocab])
    stored = data.images.read(np.array([3]))[0]
    np.testing.assert_array_equal(stored, fab.expected_image(release[f"iaprtc12/images/{kept[3][0]:02d}/{kept[3][1]}.jpg"]))
    summary = json.loads((out / "prepare.json").read_text())
    assert summary["dropped"]["no SAIAPR label"]["first"] == ["00/1006"]
    assert summary["dropped"]["no English caption"]["first"] == ["02/1008"]
    assert summary["settings"]["min_document_frequency_kept"] >= 1


# --------------------------------------------------------------------------------------------
# MS-COCO 2014


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    train, val, annotations, facts = fab.coco_release()
    out = root / "out"
    assert prepare("coco", "--images", str(fab.write_zip(root / "train2014.zip", train)),
                   str(fab.write_tree(root / "val", val)),
                   "--annotations", str(fab.write_zip(root / "annotations_trainval2014.zip", annotations)),
                   "--vocabulary-size", "8", "--out", str(out), "--quiet") == 0
    return root, {**train, **val}, facts, out


def test_coco_pools_train_and_val_by_image_id_with_categories_by_id(coco):
    _, images, facts, out = coco
    ids = sorted(i for i, cats in facts["labels"].items() if cats)
    assert 21 not in ids
    sources = lines(out / "images.txt")
    assert [int(s.rsplit("_", 1)[1][:-4]) for s in sources] == ids
    assert lines(out / "concepts.txt") == ["person", "car", "toothbrush"]  # ids 1, 3, 90
    data = load_dataset("coco", out)
    column = {1: 0, 3: 1, 90: 2}
    for row, image_id in enumerate(ids):
        assert set(np.flatnonzero(data.labels[row])) == {column[c] for c in facts["labels"][image_id]}
    vocab = lines(out / "vocabulary.txt")
    assert len(vocab) == 8 and "a" not in vocab and "the" not in vocab
    from sdch_tf.prepare.text import english_stop_words, words
    for row, image_id in enumerate(ids[:5]):
        present = set(words(" ".join(facts["texts"][image_id]), english_stop_words()))
        np.testing.assert_array_equal(data.texts[row], [w in present for w in vocab])  # binary
    np.testing.assert_array_equal(data.images.read(np.array([0]))[0], fab.expected_image(images[sources[0]]))


# --------------------------------------------------------------------------------------------
# Bad inputs: one error line naming the file


def test_missing_release_is_an_error_line(tmp_path, capsys):
    code = prepare("mirflickr", "--images", str(tmp_path / "nowhere.zip"), "--annotations", str(tmp_path),
                   "--out", str(tmp_path / "o"))
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nowhere.zip: not found" in err and "\n" not in err


def test_swapped_archives_are_named(tmp_path, capsys):
    files, annotations, _ = fab.mirflickr_release(n=5)
    images = fab.write_zip(tmp_path / "mirflickr25k.zip", files)
    ann = fab.write_zip(tmp_path / "ann.zip", annotations)
    assert prepare("mirflickr", "--images", str(ann), "--annotations", str(images), "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert f"{ann}: no image mirflickr/im<k>.jpg" in err and "swapped" in err


def test_truncated_archive_and_non_archive_are_named(tmp_path, capsys):
    files, annotations, _ = fab.mirflickr_release(n=5)
    whole = fab.write_zip(tmp_path / "full.zip", files).read_bytes()
    (tmp_path / "mirflickr25k.zip").write_bytes(whole[: len(whole) // 2])
    ann = fab.write_tree(tmp_path / "ann", annotations)
    assert prepare("mirflickr", "--images", str(tmp_path / "mirflickr25k.zip"), "--annotations", str(ann),
                   "--out", str(tmp_path / "o")) == 2
    assert "incomplete zip archive" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello")
    assert prepare("iapr", "--release", str(tmp_path / "notes.txt"), "--segments", str(ann),
                   "--out", str(tmp_path / "o")) == 2
    assert "notes.txt: neither a folder nor a zip or tar archive" in capsys.readouterr().err


def test_a_non_image_file_is_reported_and_skipped(tmp_path, capsys):
    files, annotations, _ = fab.mirflickr_release(n=8)
    files["mirflickr/im2.jpg"] = b"<html>404 Not Found</html>"
    assert prepare("mirflickr", "--images", str(fab.write_tree(tmp_path / "i", files)),
                   "--annotations", str(fab.write_tree(tmp_path / "a", annotations)), "--out", str(tmp_path / "o")) == 0
    captured = capsys.readouterr()
    assert "mirflickr/im2.jpg: not an image file" in captured.err
    assert "mirflickr/im2.jpg" not in lines(tmp_path / "o" / "images.txt")


# --------------------------------------------------------------------------------------------
# End to end: each prepared dataset trains through --dataset


@pytest.mark.parametrize("name, dataset, extra", [
    ("mirflickr", "mirflickr", []), ("nuswide", "nuswide", []), ("iapr", "iapr", ["--num-labels", "4"]),
    ("coco", "coco", []),
])
def test_prepared_files_train_through_dataset_and_search_names_them(request, tmp_path, capsys, name, dataset, extra):
    from sdch_tf import train
    from sdch_tf.search import __main__ as search

    out = request.getfixturevalue(name)[-1]
    if name == "nuswide":
        root, args, _, _ = request.getfixturevalue("nuswide")
        out = root / "out21"
        if not (out / "prepare.json").exists():
            assert prepare("nuswide", *args, "--out", str(out), "--quiet") == 0
    code = train.main(["--dataset", dataset, "--data-dir", str(out), "--preset", "smoke", "--epochs", "1",
                       "--bits", "16", "--num-query", "5", "--num-train", "10", "--out", str(tmp_path), "--quiet",
                       *extra])
    assert code == 0
    (result_file,) = (tmp_path / "runs").glob("*/result.json")
    result = json.loads(result_file.read_text())
    assert result["dataset"] == dataset and 0 <= result["map_i2t"] <= 1 and 0 <= result["map_t2i"] <= 1

    # The prepared names reach search: a text query through vocabulary.txt, images found by
    # images.txt, concepts by concepts.txt (for IAPR, of the columns --num-labels kept).
    word = lines(out / "vocabulary.txt")[0]
    capsys.readouterr()
    assert search.main(["query", "--run", str(result_file.parent), "--text", word, "--k", "3", "--json", "--quiet"]) == 0
    (answer,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    sources, concepts = lines(out / "images.txt"), lines(out / "concepts.txt")
    data = load_dataset(dataset, out, num_labels=int(extra[1]) if extra else None)
    assert len(answer["results"]) == 3
    for hit in answer["results"]:
        row = hit["row"]
        assert hit["source"] == sources[data.report.rows[row]]
        kept = data.report.label_columns[np.flatnonzero(data.labels[row])]
        assert hit["labels"] == [concepts[c] for c in kept]


def test_release_reads_windows_zip_names_and_tar_members_in_archive_order(tmp_path):
    from sdch_tf.prepare.release import open_release

    zipped = fab.write_zip(tmp_path / "w.zip", {"top\\ImageList\\Imagelist.txt": "a\r\n", "top/b.txt": "b"})
    release = open_release(zipped, "a test release")
    assert release.names() == ["top/ImageList/Imagelist.txt", "top/b.txt"]
    assert release.find("ImageList/Imagelist.txt") == "top/ImageList/Imagelist.txt"
    assert release.read_text(release.find("Imagelist.txt")) == "a\r\n"
    files = {f"x/{k}.txt": str(k) for k in range(5)}
    tgz = fab.write_tgz(tmp_path / "t.tgz", files, order=["x/3.txt", "x/0.txt", "x/4.txt", "x/1.txt", "x/2.txt"])
    read = list(open_release(tgz, "a test release").members_in_read_order(["x/0.txt", "x/1.txt", "x/3.txt", "x/9.txt"]))
    assert read == [("x/9.txt", None), ("x/3.txt", b"3"), ("x/0.txt", b"0"), ("x/1.txt", b"1")]
