"""Names, order and colours shared by every table and figure, so a method looks the same everywhere."""
from __future__ import annotations

# Row order of Tables 2–3 and legend order: SDCH Tables 2–3's rows (IMH … DVSH), the baselines of
# the other papers, then DCMH and the proposed method last, as in SDCH Tables 2–3.
METHOD_ORDER = ("imh", "corrae", "scm", "cmnn", "qch", "seph", "prdh", "dbrc", "ndch", "dvsh",
                "cmhn", "dspah", "rdcmh", "dcmh", "sdch")
METHOD_NAMES = {"sdch": "SDCH", "dcmh": "DCMH", "cmhn": "CMHN", "dspah": "DSPAH", "rdcmh": "RDCMH",
                "imh": "IMH", "corrae": "CorrAE", "scm": "SCM", "cmnn": "CM-NN", "qch": "QCH", "seph": "SePH",
                "prdh": "PRDH", "dbrc": "DBRC", "ndch": "NDCH", "dvsh": "DVSH"}
# Fifteen methods: colour-blind-safe palettes (Okabe–Ito for the deep methods, SDCH in the
# strongest colour; Paul Tol's "muted" for the others), and a marker of its own per method, so
# that no two methods share both and print in grey stays readable.
METHOD_COLOURS = {"sdch": "#D55E00", "dcmh": "#0072B2", "cmhn": "#009E73", "dspah": "#CC79A7",
                  "rdcmh": "#E69F00", "imh": "#332288", "corrae": "#88CCEE", "scm": "#117733",
                  "cmnn": "#999933", "qch": "#882255", "seph": "#44AA99", "prdh": "#AA4499",
                  "dbrc": "#DDCC77", "ndch": "#000000", "dvsh": "#999999"}
METHOD_MARKERS = {"sdch": "o", "dcmh": "s", "cmhn": "^", "dspah": "D", "rdcmh": "v", "imh": "<",
                  "corrae": ">", "scm": "p", "cmnn": "h", "qch": "*", "seph": "X", "prdh": "P",
                  "dbrc": "d", "ndch": "8", "dvsh": "H"}
FALLBACK_COLOURS = ("#56B4E9", "#F0E442", "#BBBBBB", "#555555")

# Column order of SDCH Tables 2–3: NUS-WIDE, MIR-FLICKR, IAPR-TC12; then anything else.
DATASET_ORDER = ("nuswide", "mirflickr", "iapr", "nuswide-tc10", "coco", "synthetic")
DATASET_NAMES = {"nuswide": "NUS-WIDE", "mirflickr": "MIR-FLICKR", "iapr": "IAPR-TC12",
                 "nuswide-tc10": "NUS-WIDE (10 concepts)", "coco": "MS-COCO", "synthetic": "Synthetic"}
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
