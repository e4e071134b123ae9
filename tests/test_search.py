"""``python -m sdch_tf.search``: on a one-epoch smoke run of SDCH, the answers are the evaluator's
ranking, file queries give the codes the evaluator gives the same item, the index and the export
reload to the same codes, and bad input is one ``error:`` line."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sdch_tf import train
from sdch_tf.retrieval import metrics
from sdch_tf.run import experiment
from sdch_tf.search import __main__ as search
from sdch_tf.search import index, runs, scan


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(run directory, OpenedRun, codes.npz codes) of a one-epoch smoke run."""
    out = tmp_path_factory.mktemp("out")
    assert train.main(["--preset", "smoke", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    (run_dir,) = out.glob("runs/*")
    opened = runs.OpenedRun(str(run_dir))
    return str(run_dir), opened, experiment.load_codes(str(run_dir / experiment.CODES_FILE))


def answers(capsys, *argv) -> list[dict]:
    """The JSON answers of ``query --json`` (one object a line)."""
    capsys.readouterr()
    assert search.main(["query", "--json", "--quiet", *argv]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def error_line(capsys, *argv) -> str:
    """The one error line of a command that must fail with exit status 2."""
    capsys.readouterr()
    assert search.main(list(argv)) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


def evaluator_ranking(query_codes, db_codes, k):
    """The evaluator's ranking of each query: a stable argsort of the Hamming distances."""
    return metrics.top_retrievals(query_codes, db_codes, k)


def test_item_queries_rank_exactly_as_the_evaluator(run, capsys, tmp_path):
    run_dir, opened, codes = run
    split = opened.split
    size = len(split.database)
    batch = tmp_path / "queries.txt"
    items = [int(r) for r in split.query[:4]]
    batch.write_text("# four image queries, two text queries (one against the texts), a database item\n"
                     + "".join(f"item:{r}\n" for r in items)
                     + f"item:{items[0]}:text\n\nitem:{items[1]}:text\nitem:{int(split.database[3])}\n")
    got = answers(capsys, "--run", run_dir, "--queries", str(batch), "--k", str(size))
    got_same = answers(capsys, "--run", run_dir, "--item", str(items[1]), "--modality", "text", "--target", "text",
                       "--k", "7")
    assert len(got) == 7
    expected_rows, expected_dist = evaluator_ranking(codes["query_image"][:4], codes["db_text"], size)
    for i in range(4):
        assert [r["row"] for r in got[i]["results"]] == split.database[expected_rows[i]].tolist()
        assert [r["distance"] for r in got[i]["results"]] == expected_dist[i].tolist()
        assert got[i]["target"] == "text" and got[i]["query"]["code_from"] == "the run's query codes"
    text_rows, text_dist = evaluator_ranking(codes["query_text"][:2], codes["db_image"], size)
    for i in range(2):
        assert [r["row"] for r in got[4 + i]["results"]] == split.database[text_rows[i]].tolist()
        assert [r["distance"] for r in got[4 + i]["results"]] == text_dist[i].tolist()
    # The ranking has ties (16 bits, 200 items): the database order must decide them.
    assert len(set(expected_dist[0].tolist())) < size
    # A database item's own image code (the database codes), against the texts.
    db_rows, _ = evaluator_ranking(codes["db_image"][3:4], codes["db_text"], size)
    assert got[6]["query"]["code_from"] == "the run's database codes"
    assert [r["row"] for r in got[6]["results"]] == split.database[db_rows[0]].tolist()
    # --target text: a text query against the text database, top 7.
    same_rows, same_dist = evaluator_ranking(codes["query_text"][1:2], codes["db_text"], 7)
    assert [r["row"] for r in got_same[0]["results"]] == split.database[same_rows[0]].tolist()
    assert [r["distance"] for r in got_same[0]["results"]] == same_dist[0].tolist()
    # Names: the synthetic set's concepts and words.
    first = got[0]["results"][0]
    assert first["labels"] == opened.concept_names(opened.data.labels[first["row"]]) and "-" in first["labels"][0]
    assert first["words"] and first["source"] is None


def test_the_scan_equals_a_stable_argsort():
    rng = np.random.default_rng(0)
    for bits in (16, 32, 64, 72):
        db = rng.choice(np.array([-1, 1], np.int8), size=(500, bits))
        db[250:] = db[:250]  # exact duplicates: ties at every distance
        queries = rng.choice(np.array([-1, 1], np.int8), size=(9, bits))
        distances = (bits - queries.astype(np.int64) @ db.T) // 2
        for k in (1, 10, 500, 800):
            rows, found = scan.make_scan(scan.pack_codes(db), bits).search(scan.pack_codes(queries), k)
            order = np.argsort(distances, axis=1, kind="stable")[:, :k]
            assert np.array_equal(rows, order) and np.array_equal(found, np.take_along_axis(distances, order, 1))


def test_an_image_file_query_has_the_items_own_code(run, capsys, tmp_path):
    run_dir, opened, codes = run
    row = int(opened.split.query[2])
    path = tmp_path / "item.png"
    Image.fromarray(opened.data.images.read(np.array([row]))[0]).save(path)
    (got,) = answers(capsys, "--run", run_dir, "--image", str(path), "--k", "5")
    expected = "".join("1" if b > 0 else "0" for b in codes["query_image"][2])
    assert got["query"]["code"] == expected and got["query"]["code_from"] == "encoded"
    rows, _ = evaluator_ranking(codes["query_image"][2:3], codes["db_text"], 5)
    assert [r["row"] for r in got["results"]] == opened.split.database[rows[0]].tolist()
    # Any size and mode is accepted: resized to the dataset's stored size, converted to RGB.
    big = tmp_path / "big.jpg"
    Image.fromarray(opened.data.images.read(np.array([row]))[0]).resize((96, 96)).convert("L").save(big)
    (resized,) = answers(capsys, "--run", run_dir, "--image", str(big), "--k", "3")
    assert len(resized["results"]) == 3


def test_a_text_query_through_a_vocabulary_file_has_the_items_own_code(run, capsys, tmp_path):
    run_dir, opened, codes = run
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    vocabulary = [f"wörd{i}" for i in range(opened.data.text_dim)]
    (data_dir / "vocabulary.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    (data_dir / "concepts.txt").write_text("".join(f"concept {j}\n" for j in range(opened.data.num_labels)))
    row = int(opened.split.query[1])
    columns = np.flatnonzero(opened.data.texts[row] > 0)
    words = " ".join(vocabulary[c] for c in columns)
    expected = "".join("1" if b > 0 else "0" for b in codes["query_text"][1])
    (got,) = answers(capsys, "--run", run_dir, "--data-dir", str(data_dir), "--text", words, "--k", "4")
    assert got["query"]["code"] == expected and got["target"] == "image"
    assert got["results"][0]["labels"][0].startswith("concept ")
    rows, _ = evaluator_ranking(codes["query_text"][1:2], codes["db_image"], 4)
    assert [r["row"] for r in got["results"]] == opened.split.database[rows[0]].tolist()
    # Text columns written #N need no vocabulary.
    (by_column,) = answers(capsys, "--run", run_dir, "--text", " ".join(f"#{c}" for c in columns), "--k", "4")
    assert by_column["query"]["code"] == expected


def test_the_index_on_disk_reloads_identically(run, capsys, tmp_path):
    run_dir, opened, codes = run
    capsys.readouterr()
    assert search.main(["index", "--run", run_dir, "--quiet"]) == 0
    assert "Wrote" in capsys.readouterr().out
    default = os.path.join(run_dir, index.INDEX_DIR)
    assert search.main(["index", "--run", run_dir, "--out", str(tmp_path / "encoded"), "--encode", "--quiet"]) == 0
    for directory, source in ((default, "codes.npz"), (str(tmp_path / "encoded"), "encoded")):
        loaded = index.load_index(directory)
        assert loaded.manifest["source"] == source and loaded.manifest["run_id"] == opened.run_id
        assert loaded.bits == 16 and set(loaded.databases) == {"image", "text"}
        for modality in ("image", "text"):
            db = loaded.databases[modality]
            assert db.codes.dtype == np.uint8 and db.codes.shape == (len(opened.split.database), 2)
            assert np.array_equal(db.codes, np.packbits(codes[f"db_{modality}"] > 0, axis=1))
            assert np.array_equal(scan.unpack_codes(db.codes, 16), codes[f"db_{modality}"])
            assert np.array_equal(db.rows, opened.split.database) and np.array_equal(db.file_rows, db.rows)
    # Written again in place (atomically): the same index, no staging directory left.
    assert search.main(["index", "--run", run_dir, "--quiet"]) == 0
    assert sorted(os.listdir(default)) == ["image-00000.npz", "index.json", "text-00000.npz"]
    assert not [n for n in os.listdir(run_dir) if n.startswith(".")]
    # Queries read the index: the same answers as from codes.npz.
    item = str(int(opened.split.query[0]))
    from_index = answers(capsys, "--run", run_dir, "--item", item, "--index", str(tmp_path / "encoded"))
    from_codes = answers(capsys, "--run", run_dir, "--item", item)
    assert from_index[0]["results"] == from_codes[0]["results"]


def test_the_exported_encoders_load_with_keras_alone(run, capsys, tmp_path):
    run_dir, opened, codes = run
    out = tmp_path / "export"
    capsys.readouterr()
    assert search.main(["export", "--run", run_dir, "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "export.json").read_text())
    assert set(manifest["encoders"]) == {"image", "text"} and manifest["not_exported"] == {}
    rows = opened.split.database
    np.save(tmp_path / "images.npy", opened.data.images.read(rows))
    np.save(tmp_path / "texts.npy", opened.data.texts[rows].astype(np.float32))
    # A fresh interpreter that imports keras and numpy only: no sdch_tf module is loaded.
    code = ("import sys, numpy as np, keras\n"
            "out, work = sys.argv[1], sys.argv[2]\n"
            "for name, inputs in (('image_encoder', 'images.npy'), ('text_encoder', 'texts.npy')):\n"
            "    layer = keras.layers.TFSMLayer(f'{out}/{name}', call_endpoint='serve')\n"
            "    np.save(f'{work}/{name}.npy', np.asarray(layer(np.load(f'{work}/{inputs}'))))\n"
            "assert not [m for m in sys.modules if m.startswith('sdch_tf')]\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", code, str(out), str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    image_codes, text_codes = np.load(tmp_path / "image_encoder.npy"), np.load(tmp_path / "text_encoder.npy")
    assert image_codes.dtype == np.int8
    assert np.array_equal(image_codes, codes["db_image"]) and np.array_equal(text_codes, codes["db_text"])
    assert np.array_equal(image_codes, opened.encode_images(opened.data.images.read(rows)))


def test_bad_input_is_one_error_line(run, capsys, tmp_path):
    run_dir, opened, _ = run
    missing = str(tmp_path / "no-such-run")
    assert missing in error_line(capsys, "query", "--run", missing, "--item", "1")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "run.json").write_text("{}")
    assert "has not finished" in error_line(capsys, "index", "--run", str(unfinished))
    garbage = tmp_path / "broken.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    line = error_line(capsys, "query", "--run", run_dir, "--image", str(garbage))
    assert str(garbage) in line and "cannot be read as an image" in line
    line = error_line(capsys, "query", "--run", run_dir, "--image", str(tmp_path / "absent.jpg"))
    assert "absent.jpg" in line and "does not exist" in line
    assert "none of the words" in error_line(capsys, "query", "--run", run_dir, "--text", "qwerty zzz")
    batch = tmp_path / "bad.txt"
    batch.write_text("item:1\nsound:beep\n")
    assert f"{batch}:2" in error_line(capsys, "query", "--run", run_dir, "--queries", str(batch))
    assert "rows 0 … 239" in error_line(capsys, "query", "--run", run_dir, "--item", "100000")
