"""A built result table (:class:`Table`) and its writing as Markdown, CSV and LaTeX (booktabs).

:mod:`bau.report.tables` builds a :class:`Table` from the metrics; this module only renders
it, so it depends on nothing else of the report package. Markdown and CSV get one header row
("M+MS+CS→C3 mAP"); LaTeX keeps the two header levels of the paper (target over mAP / R-1)
through pandas' Styler.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bau.io import write_text

#: Column of the rows' sources (reported rows only), last in a table.
SOURCE_COLUMN = ("Source", "")


@dataclass(frozen=True)
class Table:
    """A built table: ``frame`` holds the display strings, rows indexed by label, columns by
    (group, metric) where group is a target label, ``Average``, "" for ablation switches, or
    :data:`SOURCE_COLUMN` (where each reported row was read)."""

    name: str
    title: str
    caption: str
    frame: pd.DataFrame


# Characters LaTeX treats specially, then the Unicode symbols the tables use.
_LATEX_ESCAPES = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "±": r"$\pm$",
        "→": r"$\to$",
        "—": "---",
        "−": "$-$",
        "Δ": r"$\Delta$",
        "≈": r"$\approx$",
        "✓": r"\checkmark",
        "✗": r"$\times$",
    }
)
# Whole labels with a proper LaTeX form.
_LATEX_LABELS = {
    "L_align": r"$\mathcal{L}_\mathrm{align}$",
    "L_uniform": r"$\mathcal{L}_\mathrm{uniform}$",
    "L_domain": r"$\mathcal{L}_\mathrm{domain}$",
    "L_ce (aug.)": r"$\mathcal{L}_\mathrm{ce}$ (aug.)",
}


def latex_text(text: object) -> str:
    """``text`` as LaTeX source: special characters escaped, symbols as LaTeX commands."""
    text = str(text)
    return _LATEX_LABELS.get(text, text.translate(_LATEX_ESCAPES))


def flat_frame(table: Table) -> pd.DataFrame:
    """The table with one header row: "group metric" (the group alone where it is empty)."""
    frame = table.frame.copy()
    frame.columns = [" ".join(part for part in column if part) for column in frame.columns]
    return frame


def to_markdown(table: Table) -> str:
    frame = flat_frame(table)
    align = ("left",) + ("center",) * frame.shape[1]
    body = frame.to_markdown(colalign=align, disable_numparse=True)
    return f"# {table.title}\n\n{body}\n\n{table.caption}\n"


def to_csv(table: Table) -> str:
    return flat_frame(table).to_csv()


def to_latex(table: Table) -> str:
    frame = table.frame.copy()
    frame.index.name = None  # the row labels need no header of their own
    styler = frame.style.format(latex_text).format_index(latex_text, axis=0).format_index(latex_text, axis=1)
    # The sources are sentences: a wrapping column keeps the table printable.
    columns = "".join(r"p{6cm}" if column == SOURCE_COLUMN else "c" for column in frame.columns)
    body = styler.to_latex(
        caption=latex_text(table.caption),
        label=f"tab:{table.name}",
        position_float="centering",
        hrules=True,
        column_format="l" + columns,
        multicol_align="c",
        environment="table",
    )
    return "% needs \\usepackage{booktabs} and \\usepackage{amssymb}\n" + body


def write_table(table: Table, out_dir: str | Path) -> list[Path]:
    """Write NAME.md, NAME.csv and NAME.tex into ``out_dir`` (each atomically)."""
    out_dir = Path(out_dir)
    written = []
    for suffix, render in ((".md", to_markdown), (".csv", to_csv), (".tex", to_latex)):
        path = out_dir / f"{table.name}{suffix}"
        write_text(path, render(table))
        written.append(path)
    return written
