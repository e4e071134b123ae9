"""Throughput of ``python -m sdch_tf.prepare``'s image stage, against a plain serial loop.

    python benchmarks/bench_prepare.py [--images 400] [--workers 1 2]

Writes ``--images`` photograph-sized JPEGs (500 × 375, the typical Flickr medium size of
MIRFlickr and NUS-WIDE, smooth content so that they compress as photographs do) into a zip in
the MIRFlickr layout, then times ``writer.write_prepared`` with each worker count, against the
simplest correct alternative in the same run: decode, resize and write one image at a time with
no thread pool. Prints the CPU, images per second, the ratio, the peak resident memory, and the
time the result implies for NUS-WIDE's 269,648 images. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from sdch_tf.machine import cpu_line  # noqa: E402
from sdch_tf.prepare import images as prepare_images  # noqa: E402
from sdch_tf.prepare import mirflickr, writer  # noqa: E402
from sdch_tf.prepare.release import open_release  # noqa: E402

NUS_WIDE_IMAGES = 269_648


def photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((500, 375), Image.BICUBIC)  # smooth, like a photograph
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=400)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    print(cpu_line())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(root / "mirflickr25k.zip", "w") as z:
            for k in range(1, args.images + 1):
                z.writestr(f"mirflickr/im{k}.jpg", photo(k))
                z.writestr(f"mirflickr/meta/tags/tags{k}.txt", "sky\n")
            z.writestr("mirflickr/doc/common_tags.txt", "sky 20\n")
        with zipfile.ZipFile(root / "ann.zip", "w") as z:
            for concept in mirflickr.CONCEPTS:
                z.writestr(f"{concept}.txt", "".join(f"{k}\n" for k in range(1, args.images + 1)))
        plan_args = argparse.Namespace(images=str(root / "mirflickr25k.zip"), annotations=str(root / "ann.zip"),
                                       min_tag_images=None)

        plan = mirflickr.plan(plan_args)
        start = time.perf_counter()
        release = open_release(plan_args.images, "images")
        with h5py.File(root / "serial.h5", "w") as f:
            out = f.create_dataset("IAll", (len(plan.image_members), 3, 224, 224), np.uint8)
            for row, name in enumerate(plan.image_members):
                out[row] = prepare_images.decode_image(release.read_bytes(name)).transpose(2, 1, 0)
        serial = len(plan.image_members) / (time.perf_counter() - start)
        print(f"serial loop (decode, resize, write one at a time): {serial:.0f} images/s")

        for workers in args.workers:
            plan = mirflickr.plan(plan_args)
            start = time.perf_counter()
            writer.write_prepared(plan, root / f"out{workers}", workers=workers, verbose=False)
            rate = len(plan.image_members) / (time.perf_counter() - start)
            hours = NUS_WIDE_IMAGES / rate / 3600
            print(f"write_prepared, {workers} worker(s): {rate:.0f} images/s ({rate / serial:.2f}× the serial loop); "
                  f"NUS-WIDE's {NUS_WIDE_IMAGES:,} images would take ≈ {hours:.1f} h")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory of this process: {peak:.2f} GB")


if __name__ == "__main__":
    main()
