"""Decoding a release's image files into the DCMH files' stored images.

The DCMH-style files hold every image resized to 224 × 224, aspect ratio not kept, as uint8
RGB (docs/data-preparation.md, "Images"). We decode with Pillow (a dependency of matplotlib,
listed in setup.py because we call it), convert every mode (greyscale, palette, CMYK, 16-bit)
to 8-bit RGB, ignore the EXIF orientation tag as MATLAB's ``imread`` does, and resize with
Pillow's antialiased bicubic filter, the counterpart of MATLAB's ``imresize`` default.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

STORED_SIZE = 224  # the DCMH files' image side (docs/reproduction.md §2)


class UnreadableImage(Exception):
    """An image file that cannot be decoded completely; ``str(e)`` says why (for the report)."""


def decode_image(data: bytes, size: int | tuple[int, int] = STORED_SIZE) -> np.ndarray:
    """The image file ``data`` as (H, W, 3) uint8 RGB, ``size`` = (H, W) or one side for both.

    Raises:
        UnreadableImage: not an image, truncated, or otherwise undecodable.
    """
    if not data:
        raise UnreadableImage("empty file")
    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning is Pillow's guess about untrusted input; a dataset's
            # large photographs are not one.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # decodes everything: a truncated file raises here, not later
                rgb = image.convert("RGB")
    except UnidentifiedImageError:
        raise UnreadableImage("not an image file Pillow recognises") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise UnreadableImage(f"cannot decode: {e}") from None
    height, width = (size, size) if isinstance(size, int) else size
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.BICUBIC)
    return np.asarray(rgb, dtype=np.uint8)
