"""Names, order and colours shared by every table and figure, so a method looks the same everywhere."""
from __future__ import annotations

# Row order of Tables 2–3 and legend order: the proposed method last, as in SDCH Tables 2–3.
METHOD_ORDER = ("cmhn", "dspah", "rdcmh", "dcmh", "sdch")
METHOD_NAMES = {"sdch": "SDCH", "dcmh": "DCMH", "cmhn": "CMHN", "dspah": "DSPAH", "rdcmh": "RDCMH"}
# Colour-blind-safe (Okabe–Ito); SDCH in the strongest colour.
METHOD_COLOURS = {"sdch": "#D55E00", "dcmh": "#0072B2", "cmhn": "#009E73", "dspah": "#CC79A7",
                  "rdcmh": "#E69F00"}
METHOD_MARKERS = {"sdch": "o", "dcmh": "s", "cmhn": "^", "dspah": "D", "rdcmh": "v"}
FALLBACK_COLOURS = ("#56B4E9", "#F0E442", "#000000", "#999999")

# Column order of SDCH Tables 2–3: NUS-WIDE, MIR-FLICKR, IAPR-TC12; then anything else.
DATASET_ORDER = ("nuswide", "mirflickr", "iapr", "nuswide-tc10", "synthetic")
DATASET_NAMES = {"nuswide": "NUS-WIDE", "mirflickr": "MIR-FLICKR", "iapr": "IAPR-TC12",
                 "nuswide-tc10": "NUS-WIDE (10 concepts)", "synthetic": "Synthetic"}
DIRECTION_NAMES = {"i2t": "Image→Text", "t2i": "Text→Image"}


def method_name(method: str) -> str:
    return METHOD_NAMES.get(method, method.upper())


def dataset_name(dataset: str) -> str:
    return DATASET_NAMES.get(dataset, dataset)


def method_colour(method: str) -> str:
    if method in METHOD_COLOURS:
        return METHOD_COLOURS[method]
    return FALLBACK_COLOURS[sum(map(ord, method)) % len(FALLBACK_COLOURS)]


def method_marker(method: str) -> str:
    return METHOD_MARKERS.get(method, "x")


def ordered(keys, order) -> list:
    """``keys`` sorted by their place in ``order``, unknown keys last in alphabetical order."""
    rank = {k: i for i, k in enumerate(order)}
    return sorted(set(keys), key=lambda k: (rank.get(k, len(rank)), k))

# File names of the figures (without extension), per figure and code length.
FIGURE_FILES = {"pr": "fig4_precision_recall_{bits}bits", "top_r": "fig5_precision_top_r_{bits}bits",
                "sensitivity": "fig6_sensitivity_{bits}bits", "retrievals": "fig3_top5_retrievals_{bits}bits"}
