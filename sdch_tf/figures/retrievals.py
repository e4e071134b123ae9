"""SDCH Figure 3: the top-5 retrievals of a few queries, SDCH's row above DCMH's, from recorded runs.

SDCH Fig. 3: "Examples on MIR-FLICKR dataset of the top-5 retrieval results of our SDCH and
DCMH whose performance is next to ours. The correct result is shown with a green box." Here
each panel is one query: Image→Text panels show the query image and the top-5 retrieved
texts (as a few of their words), Text→Image panels the query text and the top-5 retrieved
images; one row per method, SDCH above DCMH; a retrieved item is framed green when it shares
at least one label with the query (SDCH §4.1's relevance), red otherwise.

Nothing is trained: the retrievals are those recorded in ``result["retrievals"]`` by
``sdch_tf.retrieval.evaluation`` (first 8 queries of the split, top 5 each); the pictures and words
come from the dataset itself, rebuilt from ``result["config"]["data"]``. A text shows its
six words that say most about the labels (``label_information``; ``--words idf`` ranks by
rarity instead, which on the synthetic set shows mostly one-off noise words).

    python -m sdch_tf.figures.retrievals --results results/cpu-synthetic [--bits 32] [--data-dir data]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap

import numpy as np
from matplotlib.figure import Figure

from sdch_tf.cli import run_main
from sdch_tf.configs import DataConfig
from sdch_tf.data.dataset import CrossModalData
from sdch_tf.data.synthetic import SyntheticConfig
from sdch_tf.figures import collect, staging, style
from sdch_tf.figures.plotting import TEXT_WIDTH_IN, paper_style, save_figure
from sdch_tf.figures.style import DATASET_ORDER, DIRECTION_NAMES, dataset_name, method_colour, method_name
from sdch_tf.input_errors import InputError

# SDCH Fig. 3 compares SDCH with DCMH, SDCH's row first.
METHODS = ("sdch", "dcmh")
# SDCH Fig. 3 is on MIR-FLICKR: prefer it when a result set holds several datasets.
PREFERRED_DATASETS = ("mirflickr",) + tuple(d for d in DATASET_ORDER if d != "mirflickr")
MAX_WORDS = 6
RELEVANT_COLOUR = "#1A9641"    # green box: a correct result (SDCH Fig. 3)
IRRELEVANT_COLOUR = "#D7191C"
QUERY_COLOUR = "#404040"
ROW_HEIGHT = 1.02              # inches per method row
HEADER_HEIGHT = 0.3            # inches per panel for its titles
LABEL_HEIGHT = 0.4             # inches: the query's labels when a panel has a single method row
RETRIEVED_NOUN = {"i2t": "texts", "t2i": "images"}


class NoRetrievals(ValueError):
    """The result set holds no run that recorded retrievals for the requested cell."""


@dataclasses.dataclass(frozen=True)
class Selection:
    """The runs drawn: one per method, all of ``dataset``, ``bits`` and ``seed`` (hence one split)."""

    dataset: str
    bits: int
    seed: int
    runs: dict           # method → result dict, in row order
    missing: tuple[str, ...]   # methods of METHODS without a usable run
    notes: tuple[str, ...]     # substitutions made (other bit length, dropped runs)


@dataclasses.dataclass(frozen=True)
class Item:
    """One picture or text of a panel.

    ``words`` (text items): the text's words, best ranked first (``top_words``), at most MAX_WORDS, with
    ``more_words`` further words not shown. ``distance`` and ``relevant`` are those recorded
    for a retrieved item (None for the query); ``relevant`` decides the green/red frame.
    """

    index: int
    modality: str                     # "image" | "text"
    words: tuple[str, ...] = ()
    more_words: int = 0
    distance: int | None = None
    relevant: bool | None = None


@dataclasses.dataclass(frozen=True)
class Panel:
    """One query and each method's top retrievals; ``rows`` is ((method, items), ...), SDCH first.

    ``items`` is empty when that method's run did not record this query.
    """

    direction: str                    # "i2t" | "t2i"
    position: int                     # position of the query in the recorded list
    query: Item
    query_labels: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Item, ...]], ...]


# --- choosing the runs ----------------------------------------------------------------------

def _data_key(run: dict) -> str:
    """The run's data config without ``data_dir`` (where the files are does not change the split)."""
    data = dict(run.get("config", {}).get("data", {}))
    data.pop("data_dir", None)
    return json.dumps(data, sort_keys=True)


def pick_runs(runs: list[dict], dataset: str | None = None, bits: int = 32, seed: int | None = None,
              methods: tuple[str, ...] = METHODS) -> Selection:
    """The runs of ``methods`` to draw: same dataset, code length and seed, each with retrievals.

    ``dataset`` None: MIR-FLICKR if present (the paper's Fig. 3), else the first of DATASET_ORDER.
    ``bits`` absent: the closest recorded length (noted). ``seed`` None: the smallest seed with
    the most methods. Raises NoRetrievals when nothing fits.
    """
    names = " or ".join(method_name(m) for m in methods)
    pool = [r for r in runs if r.get("retrievals") and r["method"] in methods]
    if not pool:
        raise NoRetrievals(f"no {names} run recorded retrievals (result['retrievals'], written by the "
                           f"evaluator since Figure 3 was added): rerun or finish a run to draw Figure 3")
    datasets = {r["dataset"] for r in pool}
    if dataset is None:
        dataset = next((d for d in PREFERRED_DATASETS if d in datasets), sorted(datasets)[0])
    pool = [r for r in pool if r["dataset"] == dataset]
    if not pool:
        raise NoRetrievals(f"no {names} run on {dataset!r} recorded retrievals (datasets with some: "
                           f"{', '.join(sorted(datasets))})")
    notes = []
    present = sorted({int(r["bits"]) for r in pool})
    if bits not in present:
        chosen = min(present, key=lambda b: (abs(b - bits), b))
        notes.append(f"no {bits}-bit run with retrievals; drawing {chosen} bits")
        bits = chosen
    pool = [r for r in pool if int(r["bits"]) == bits]
    seeds = {}
    for r in pool:
        seeds.setdefault(int(r["seed"]), set()).add(r["method"])
    if seed is None:
        seed = min(seeds, key=lambda s: (-len(seeds[s]), s))
    elif seed not in seeds:
        raise NoRetrievals(f"no {names} {bits}-bit run on {dataset!r} with seed {seed} recorded retrievals "
                           f"(seeds with some: {', '.join(map(str, sorted(seeds)))})")
    chosen_runs = {}
    for method in methods:
        # Several configurations of one cell: the latest run, as a rerun supersedes.
        candidates = [r for r in pool if r["method"] == method and int(r["seed"]) == seed]
        if candidates:
            chosen_runs[method] = max(candidates, key=lambda r: (r.get("created", ""), r["run_id"]))
    first = next(iter(chosen_runs.values()))
    for method, run in list(chosen_runs.items()):
        if _data_key(run) != _data_key(first):
            notes.append(f"{method_name(method)} run {run['run_id']} used other data than {first['run_id']}; "
                         f"left out")
            del chosen_runs[method]
    missing = tuple(m for m in methods if m not in chosen_runs)
    return Selection(dataset, bits, seed, chosen_runs, missing, tuple(notes))


def data_config(run: dict, data_dir: str | None = None) -> DataConfig:
    """The DataConfig a run recorded (``result["config"]["data"]``), ``data_dir`` overriding its own."""
    recorded = dict(run["config"]["data"])
    synthetic_fields = {f.name for f in dataclasses.fields(SyntheticConfig)}
    synthetic = SyntheticConfig(**{k: v for k, v in recorded.pop("synthetic", {}).items() if k in synthetic_fields})
    fields = {f.name for f in dataclasses.fields(DataConfig)} - {"synthetic"}
    config = DataConfig(**{k: v for k, v in recorded.items() if k in fields}, synthetic=synthetic)
    return dataclasses.replace(config, data_dir=data_dir) if data_dir is not None else config


# --- the layout -----------------------------------------------------------------------------

def inverse_document_frequency(texts: np.ndarray) -> np.ndarray:
    """float64 (d,): log(N / df) of every word over the N texts (N, d); unused words get log N."""
    df = (np.asarray(texts) > 0).sum(axis=0)
    return np.log(len(texts) / np.maximum(df, 1))


def label_information(texts: np.ndarray, labels: np.ndarray, chunk: int = 20000) -> np.ndarray:
    """float64 (d,): max over the C labels of the mutual information (nats) between "word present"
    and "label present", over the N samples of texts (N, d) and labels (N, C).

    The default word ranking: by idf alone, the rarest words of a text are mostly one-off noise
    (on the synthetic set, Zipf-tail noise words such as "w417" fill all six places and the
    concept words never show); information ranks the words that say something about the labels
    first, whether right or wrong for this sample, and a word seen a handful of times gets little.
    """
    n = len(texts)
    both = np.zeros((texts.shape[1], labels.shape[1]))
    for start in range(0, n, chunk):   # NUS-WIDE's texts are ~190,000 × 1,000: no float64 copy
        t = (np.asarray(texts[start:start + chunk]) > 0).astype(np.float32)
        both += t.T @ np.asarray(labels[start:start + chunk], dtype=np.float32)
    word = (np.asarray(texts) > 0).sum(axis=0).astype(np.float64)[:, None]
    label = np.asarray(labels, dtype=np.float64).sum(axis=0)[None, :]
    cells = ((both, word, label), (word - both, word, n - label),
             (label - both, n - word, label), (n - word - label + both, n - word, n - label))
    info = np.zeros_like(both)
    for joint, a, b in cells:
        with np.errstate(divide="ignore", invalid="ignore"):
            info += np.nan_to_num(joint / n * np.log(joint * n / (a * b)))   # 0 log 0 = 0
    return info.max(axis=1)


def word_scores(data: CrossModalData, rank: str = "information") -> np.ndarray:
    """float64 (d,): the score that orders a text's words, "information" or "idf"."""
    if rank == "information":
        return label_information(data.texts, data.labels)
    if rank == "idf":
        return inverse_document_frequency(data.texts)
    raise InputError(f"unknown word ranking {rank!r}; choose 'information' or 'idf'")


def top_words(text: np.ndarray, score: np.ndarray, vocabulary=None, max_words: int = MAX_WORDS):
    """The words of one bag-of-words (d,), highest ``score`` (d,) first (ties: lower index first).

    Returns (names of at most ``max_words`` words, number of present words left out); a word is
    named by ``vocabulary`` when given, else "w<index>".
    """
    present = np.flatnonzero(np.asarray(text) > 0)
    ranked = present[np.lexsort((present, -score[present]))]
    shown = ranked[:max_words]
    names = tuple(vocabulary[i] if vocabulary is not None else f"w{i}" for i in shown)
    return names, len(ranked) - len(shown)


def _item(index: int, modality: str, data: CrossModalData, score, max_words, **extra) -> Item:
    if modality == "text":
        words, more = top_words(data.texts[index], score, data.vocabulary, max_words)
        return Item(index, modality, words, more, **extra)
    return Item(index, modality, **extra)


def _row_order(methods) -> list[str]:
    rank = {m: i for i, m in enumerate(METHODS)}
    return sorted(methods, key=lambda m: (rank.get(m, len(rank)), m))


def retrieval_panels(runs_by_method: dict, data: CrossModalData, image_queries: int = 2, text_queries: int = 2,
                     queries=None, max_words: int = MAX_WORDS, rank: str = "information") -> list[Panel]:
    """The panels of Figure 3, without drawing: which query, which items, which frames are green.

    ``runs_by_method``: method → result dict with ``retrievals``, all of one split. Queries are
    positions in the recorded query list of the first method in row order (SDCH): by default
    the image queries are positions 0..image_queries−1 and the text queries continue after
    them, so that every panel shows a different item; ``queries`` (positions) replaces both
    (a direction with 0 queries is left out). Other methods' rows are matched by dataset index.
    Words: ``top_words`` ranked by ``word_scores(data, rank)`` over the whole dataset; labels:
    ``data.label_names`` (else "c<k>") of the query's labels.
    """
    order = _row_order(runs_by_method)
    if not order:
        return []
    score = word_scores(data, rank)
    lead = runs_by_method[order[0]]["retrievals"]
    positions = {
        "i2t": list(range(image_queries)) if queries is None else list(queries),
        "t2i": list(range(image_queries, image_queries + text_queries)) if queries is None else list(queries),
    }
    counts = {"i2t": image_queries, "t2i": text_queries}
    panels = []
    for direction, (query_mod, item_mod) in (("i2t", ("image", "text")), ("t2i", ("text", "image"))):
        if counts[direction] == 0:
            continue
        recorded = lead[direction]["query"]
        for position in positions[direction]:
            if not 0 <= position < len(recorded):
                raise InputError(f"query position {position} not recorded ({len(recorded)} queries per direction)")
            q = int(recorded[position])
            rows = []
            for method in order:
                r = runs_by_method[method]["retrievals"][direction]
                if q not in r["query"]:
                    rows.append((method, ()))
                    continue
                at = r["query"].index(q)
                rows.append((method, tuple(
                    _item(int(i), item_mod, data, score, max_words, distance=int(d), relevant=bool(ok))
                    for i, d, ok in zip(r["retrieved"][at], r["distance"][at], r["relevant"][at]))))
            labels = np.flatnonzero(data.labels[q])
            names = tuple(data.label_names[c] if data.label_names is not None else f"c{c}" for c in labels)
            panels.append(Panel(direction, position, _item(q, query_mod, data, score, max_words), names, tuple(rows)))
    return panels


def relevance_mismatches(panels: list[Panel], labels: np.ndarray) -> int:
    """How many recorded green/red flags disagree with ``labels`` (N, C): nonzero means the
    dataset rebuilt for the figure is not the one the runs were evaluated on."""
    bad = 0
    for panel in panels:
        for _, items in panel.rows:
            for item in items:
                bad += bool((labels[panel.query.index] & labels[item.index]).any()) != item.relevant
    return bad


# --- drawing --------------------------------------------------------------------------------

def _frame(ax, colour: str, width: float):
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(width)


def _draw_item(ax, item: Item, picture, colour: str, width: float):
    if item.modality == "image":
        ax.imshow(picture, interpolation="nearest")
    else:
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        lines = list(item.words) + ([f"+{item.more_words} more"] if item.more_words else [])
        step = min(0.135, 0.9 / max(len(lines), 1))
        for k, line in enumerate(lines):
            extra = k >= len(item.words)
            ax.text(0.06, 0.94 - k * step, line, va="top", ha="left", fontsize=6.2, clip_on=True,
                    color="#666666" if extra else "black", style="italic" if extra else "normal")
    _frame(ax, colour, width)


def _labels_text(labels: tuple[str, ...], width: int = 24) -> str:
    if not labels:
        return "labels: none"
    return "\n".join(textwrap.wrap("labels: " + ", ".join(labels), width, break_on_hyphens=False))


def draw_panels(panels: list[Panel], images, title: str):
    """A matplotlib Figure (no pyplot) of ``panels``, 7 in wide; ``images`` is the dataset's ImageSource."""
    wanted = sorted({it.index for p in panels for it in [p.query] + [i for _, row in p.rows for i in row]
                     if it.modality == "image"})
    pictures = dict(zip(wanted, images.read(np.array(wanted, dtype=np.int64)))) if wanted else {}
    # A panel drawn with one method gets a short extra row for the query's labels.
    shapes = [[ROW_HEIGHT] * len(p.rows) + ([LABEL_HEIGHT] if len(p.rows) == 1 else []) for p in panels]
    heights = [sum(rows) for rows in shapes]
    gap = HEADER_HEIGHT + 0.12           # a panel's titles, and the distance line of the one above
    top = 0.2 + 0.15 * title.count("\n") + HEADER_HEIGHT
    bottom = 0.18
    total = sum(heights) + gap * (len(panels) - 1) + top + bottom
    fig = Figure(figsize=(TEXT_WIDTH_IN, total))
    outer = fig.add_gridspec(len(panels), 1, height_ratios=heights, hspace=gap / np.mean(heights),
                             left=0.015, right=0.99, top=1 - top / total, bottom=bottom / total)
    for panel, rows, cell in zip(panels, shapes, outer):
        inner = cell.subgridspec(len(rows), 7, height_ratios=rows, width_ratios=[1.15, 0.22, 1, 1, 1, 1, 1],
                                 wspace=0.1, hspace=0.3)
        # The query's picture sits level with the first method row, its labels below it.
        q_ax = fig.add_subplot(inner[0, 0])
        _draw_item(q_ax, panel.query, pictures.get(panel.query.index), QUERY_COLOUR, 1.0)
        noun = "Image" if panel.query.modality == "image" else "Text"
        q_ax.set_title(f"{noun} query #{panel.query.index}", fontsize=7.5, fontweight="bold", loc="left", pad=3)
        l_ax = fig.add_subplot(inner[1:, 0])
        l_ax.axis("off")
        l_ax.text(0.0, 1.0, _labels_text(panel.query_labels), va="top", ha="left", fontsize=6.5,
                  transform=l_ax.transAxes)
        for r_idx, (method, items) in enumerate(panel.rows):
            name_ax = fig.add_subplot(inner[r_idx, 1])
            name_ax.axis("off")
            name_ax.text(0.5, 0.5, method_name(method), rotation=90, ha="center", va="center", fontsize=8,
                         fontweight="bold", color=method_colour(method), transform=name_ax.transAxes)
            if not items:
                ax = fig.add_subplot(inner[r_idx, 2:])
                ax.axis("off")
                ax.text(0.5, 0.5, "this query was not recorded for this run", ha="center", va="center", fontsize=7)
                continue
            for rank, item in enumerate(items):
                ax = fig.add_subplot(inner[r_idx, 2 + rank])
                _draw_item(ax, item, pictures.get(item.index), RELEVANT_COLOUR if item.relevant else IRRELEVANT_COLOUR,
                           2.4)
                # A tick or cross besides the frame colour, for readers who cannot tell red from green.
                ax.set_xlabel(f"{'✓' if item.relevant else '✗'} #{item.index}  d={item.distance}", fontsize=6,
                              labelpad=1.5)
                if r_idx == 0 and rank == 0:
                    ax.set_title(f"{DIRECTION_NAMES[panel.direction]}: top-5 retrieved "
                                 f"{RETRIEVED_NOUN[panel.direction]}", fontsize=7.5, loc="left", pad=3)
    fig.suptitle(title, fontsize=8, y=1 - 0.06 / total, va="top")
    return fig


def figure_title(selection: Selection) -> str:
    shown = " vs ".join(method_name(m) for m in selection.runs)
    title = (f"Top-5 retrievals, {shown} — {dataset_name(selection.dataset)}, {selection.bits} bits, "
             f"seed {selection.seed} (green: shares a label with the query; d: Hamming distance)")
    if selection.missing:
        title += f"\n{' and '.join(method_name(m) for m in selection.missing)}: no run with retrievals, " \
                 f"{shown} drawn alone"
    return title


def draw_retrievals(results_dir: str, out_base: str, dataset: str | None = None, bits: int = 32,
                    seed: int | None = None, image_queries: int = 2, text_queries: int = 2, data_dir: str | None = None,
                    queries=None, rank: str = "information", load=None, runs: list[dict] | None = None) -> list[str]:
    """SDCH Figure 3 from the result set ``results_dir``: writes ``out_base``.png/.pdf, returns the paths.

    Without a usable run, or when the dataset's files are missing, prints why and returns [].
    ``rank``: how a text's words are chosen (``word_scores``). ``load`` (DataConfig →
    CrossModalData) defaults to ``sdch_tf.run.experiment.load_data`` (which imports TensorFlow).
    ``runs``: the result set's runs (``collect.load_runs``) when already read.
    """
    try:
        selection = pick_runs(collect.load_runs(results_dir) if runs is None else runs, dataset, bits, seed)
    except NoRetrievals as e:
        print(f"Figure 3 not drawn: {e}", file=sys.stderr)
        return []
    for note in selection.notes:
        print(f"Figure 3: {note}", file=sys.stderr)
    if load is None:
        from sdch_tf.data.loading import load_data as load  # the dataset: only when Figure 3 is drawn
    try:
        data = load(data_config(next(iter(selection.runs.values())), data_dir))
    except FileNotFoundError as e:
        print(f"Figure 3 not drawn: the dataset's files are needed for its pictures and words: {e}", file=sys.stderr)
        return []
    panels = retrieval_panels(selection.runs, data, image_queries, text_queries, queries, rank=rank)
    if not panels:
        print("Figure 3 not drawn: no query asked for", file=sys.stderr)
        return []
    mismatches = relevance_mismatches(panels, data.labels)
    if mismatches:
        print(f"Figure 3: warning: {mismatches} recorded relevance flags disagree with the labels of the dataset "
              f"loaded; is it the one the runs used?", file=sys.stderr)
    with paper_style():
        return save_figure(draw_panels(panels, data.images, figure_title(selection)), out_base)


def main(argv=None) -> int:
    """The CLI; bad input, a file-system error or Ctrl-C end as one line and an exit status
    (``sdch_tf.cli.run_main``)."""
    return run_main(_main, argv)


def _main(argv=None) -> int:

    p = argparse.ArgumentParser(prog="python -m sdch_tf.figures.retrievals", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="a result set (holds runs/*/result.json)")
    p.add_argument("--out", default=None, help="output directory (default: <results>/figures)")
    p.add_argument("--bits", type=int, default=32, help="code length (the closest recorded one if absent)")
    p.add_argument("--dataset", default=None, help="default: mirflickr if present, else the first recorded")
    p.add_argument("--seed", type=int, default=None, help="default: the smallest seed with both SDCH and DCMH")
    p.add_argument("--image-queries", type=int, default=2)
    p.add_argument("--text-queries", type=int, default=2)
    p.add_argument("--queries", type=int, nargs="+", default=None,
                   help="positions (0-7) in the recorded query list, used for both directions")
    p.add_argument("--words", choices=("information", "idf"), default="information",
                   help="how a text's shown words are ranked (see label_information)")
    p.add_argument("--data-dir", default=None, help="where the dataset's files are (real datasets)")
    args = p.parse_args(argv)
    runs = collect.load_runs(args.results)   # before making <results>/figures: the result set must exist
    out_dir = args.out or os.path.join(args.results, "figures")
    name = style.FIGURE_FILES["retrievals"].format(bits=args.bits)

    def render(stage):
        # The PNG and the PDF change together (staging.write_set).
        return draw_retrievals(args.results, os.path.join(stage, name), args.dataset, args.bits, args.seed,
                               args.image_queries, args.text_queries, args.data_dir, args.queries, args.words,
                               runs=runs)

    written = staging.write_set(out_dir, render)
    for path in written:
        print(path)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
