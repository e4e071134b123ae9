"""Render a ``tables.Table`` (SDCH Tables 2–4 as data) to Markdown, LaTeX (booktabs) or plain aligned text.

Every renderer prints a value cell the same way: our ``mean ± std`` (bold when best, ``†`` when that lead passes the paired test), then ``n=k`` when
the cell's number of runs is not the table's usual one, then the paper's value in parentheses
(``—`` when the paper has a column there but no value). Only the bold, ``±`` and escaping differ.
"""
from __future__ import annotations

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "<": r"$<$", ">": r"$>$", "|": r"\textbar{}", "±": r"$\pm$", "—": "---", "–": "--",
                 "→": r"$\to$", "§": r"\S{}", "×": r"$\times$", "†": r"\textsuperscript{\dag}"}


def ours_text(entry, pm: str = "±") -> str:
    """Our part of a cell: "no run", a text, ``mean`` or ``mean ± std``, unbolded."""
    if entry.text is not None:
        return entry.text
    if entry.mean is None:
        return "no run"
    d = entry.digits
    return f"{entry.mean:.{d}f}" if entry.std is None else f"{entry.mean:.{d}f} {pm} {entry.std:.{d}f}"


def _same(text: str) -> str:
    return text


def paper_text(entry, dash: str = "—", escape=_same) -> str:
    """The paper's part of a cell: `` (0.866)``, `` (—)`` or nothing when the paper has no such column."""
    if not entry.paper_shown:
        return ""
    if entry.paper is None:
        return f" ({dash})"
    value = escape(entry.paper) if isinstance(entry.paper, str) else f"{entry.paper:.{entry.paper_digits}f}"
    return f" ({value})"


def _cell(entry, bold, mark, pm="±", dash="—", escape=_same) -> str:
    ours = ours_text(entry, pm) if entry.text is None else escape(entry.text)
    if entry.best:
        ours = bold(ours)
    if entry.significant:
        ours += escape("†")
    if entry.mark_n:
        ours += mark(entry.n)
    return ours + paper_text(entry, dash, escape)


def _headers(table) -> list[str]:
    """One-level column headers: "<group> <column>" when value columns are grouped (Markdown has no spans)."""
    spans = [g for g, span in table.groups for _ in range(span)] or [""] * len(table.columns)
    return list(table.stub) + [f"{g} {c}".strip() for g, c in zip(spans, table.columns)]


def markdown(table) -> str:
    """A GitHub table: bold title, the table, then the caption notes as a list."""
    def esc(s):
        return s.replace("|", r"\|")

    lines = [f"**{esc(table.title)}**", "", "| " + " | ".join(map(esc, _headers(table))) + " |",
             "| " + " | ".join([":---"] * len(table.stub) + ["---:"] * len(table.columns)) + " |"]
    for row in table.rows:
        cells = [esc(x) for x in row.labels] + [
            _cell(e, lambda s: f"**{s}**", lambda n: f"<sup>n={n}</sup>", escape=esc) for e in row.entries]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"- {esc(note)}" for note in table.notes]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex(table) -> str:
    """A booktabs ``table`` float: caption (title and notes) above, \\multicolumn group headers."""
    esc = latex_escape
    k = len(table.stub)
    lines = [r"\begin{table}[t]", r"  \centering",
             "  \\caption{" + " ".join(esc(x) for x in (table.title + ".", *table.notes)) + "}",
             f"  \\label{{tab:{table.name}}}",
             f"  \\begin{{tabular}}{{{'l' * k}{'r' * len(table.columns)}}}", r"    \toprule"]
    if table.groups:
        spans, rules, start = [], [], k + 1
        for name, span in table.groups:
            spans.append(f"\\multicolumn{{{span}}}{{c}}{{{esc(name)}}}")
            rules.append(f"\\cmidrule(lr){{{start}-{start + span - 1}}}")
            start += span
        lines += ["    " + " & ".join([""] * k + spans) + r" \\", "    " + " ".join(rules)]
    lines += ["    " + " & ".join(esc(h) for h in (*table.stub, *table.columns)) + r" \\", r"    \midrule"]
    for row in table.rows:
        cells = [esc(x) for x in row.labels] + [
            _cell(e, lambda s: f"\\textbf{{{s}}}", lambda n: f"$^{{n={n}}}$", pm=r"$\pm$", dash="---", escape=esc)
            for e in row.entries]
        lines.append("    " + " & ".join(cells) + r" \\")
    lines += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def plain(table) -> str:
    """Aligned text for a terminal: best values as ``*0.845*``, groups centred over their columns."""
    k = len(table.stub)
    body = [list(row.labels) + [_cell(e, lambda s: f"*{s}*", lambda n: f" [n={n}]") for e in row.entries]
            for row in table.rows]
    header = list(table.stub) + list(table.columns)
    widths = [max(len(r[j]) for r in [header] + body) for j in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if j < k else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [table.title, ""]
    if table.groups:
        parts, j = [" " * w for w in widths[:k]], k
        for name, span in table.groups:
            width = sum(widths[j:j + span]) + 2 * (span - 1)
            parts.append(name.center(width))
            j += span
        out.append("  ".join(parts).rstrip())
    out += [line(header), "-" * (sum(widths) + 2 * (len(widths) - 1))] + [line(r) for r in body]
    return "\n".join(out + [""] + list(table.notes))
