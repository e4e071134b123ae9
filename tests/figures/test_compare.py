"""The variant comparison (sdch_tf/figures/compare.py) on hand-made result sets."""
import json

import pytest

from sdch_tf.figures import compare


def write_set(root, name, values, hamming, bits=16):
    for seed, value in enumerate(values):
        run_id = f"sdch-synthetic-cpu-{bits}bits-seed{seed}-{name[:8]:0<8}"
        path = root / name / "runs" / run_id
        path.mkdir(parents=True)
        epochs = [{"epoch": e, "seconds": 2.0, "pair_hamming": hamming + e} for e in (1, 2, 3)]
        path.joinpath("result.json").write_text(json.dumps({
            "method": "sdch", "dataset": "synthetic", "preset": "cpu", "bits": bits, "seed": seed, "run_id": run_id,
            "top_k": 500, "map_i2t": value, "map_t2i": 0.5, "map_all_i2t": value / 2, "map_all_t2i": 0.25,
            "epochs": epochs}))
    return str(root / name)


def test_paired_difference_and_p_over_common_seeds():
    # Differences 0.02, 0.03, 0.01, 0.02, 0.02 (seed 5 only in one set): t = 6.32, p = 0.0032.
    reference = {0: 0.60, 1: 0.60, 2: 0.60, 3: 0.60, 4: 0.60}
    other = {0: 0.62, 1: 0.63, 2: 0.61, 3: 0.62, 4: 0.62, 5: 0.9}
    delta, p, n = compare.paired(reference, other)
    assert (delta, n) == (pytest.approx(0.02), 5) and p == pytest.approx(0.0031982, rel=1e-4)
    assert compare.paired(reference, {0: 0.7})[1:] == (None, 1)
    assert compare.paired(reference, {s: v + 0.1 for s, v in reference.items()})[1] is None  # no spread


def test_report_rows_deltas_and_epoch_values(tmp_path, capsys):
    a = write_set(tmp_path, "forward", [0.60] * 5, hamming=10)
    b = write_set(tmp_path, "recorded", [0.62, 0.63, 0.61, 0.62, 0.62], hamming=20)
    assert compare.main([f"fwd={a}", f"rec={b}", "--epoch-log", "pair_hamming", "--at-epochs", "2",
                         "--out", str(tmp_path / "r.md")]) == 0
    report = (tmp_path / "r.md").read_text()
    assert "| fwd | 5 | 0.6000 ± 0.0000 | 0.5000 ± 0.0000 | — | — | 12.00 | 2.00 |" in report
    assert "| rec | 5 | 0.6200 ± 0.0063 | 0.5000 ± 0.0000 | +0.0200 (0.003, n=5) | +0.0000 (n/a, n=5) | 22.00 | 2.00 |" in report
    assert compare.main([f"fwd={a}", f"rec={b}", "--top-k", "all"]) == 0
    assert "| rec | 5 | 0.3100 ± 0.0032 | 0.2500 ± 0.0000 | +0.0100 (0.003, n=5)" in capsys.readouterr().out
    assert compare.main([f"fwd={a}", "--method", "dcmh"]) == 2
    assert "error: no run of --method dcmh" in capsys.readouterr().err
