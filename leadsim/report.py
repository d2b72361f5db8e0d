"""A self-contained HTML report: headings, text, tables and embedded figures.

The demo (``leadsim demo``) and any analyst script build one the same way:

>>> import pandas as pd, tempfile, pathlib
>>> rep = Report("Example")
>>> rep.section("Scores", "Two leads, scored.")
>>> rep.table("scores", pd.DataFrame({"lead_id": ["L1", "L2"], "score": [120, 40]}))
>>> out = pathlib.Path(tempfile.mkdtemp()) / "report"
>>> rep.write(out)
PosixPath('.../report/index.html')
>>> sorted(p.name for p in out.iterdir())
['index.html', 'scores.csv']

Every figure is saved as PNG beside ``index.html`` *and* embedded in it as a
base64 ``data:`` URI, so the page opens anywhere without its folder.  Tables are
written as CSV, other results as JSON.  :meth:`Report.write` writes into a new
temporary folder first and renames it into place, so a crash never leaves half
a report, and an existing folder is only replaced with ``force=True``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from leadsim.display import for_people, number_text
from leadsim.errors import InputFileError
from leadsim.files import write_atomic, write_folder_atomic

__all__ = ["Report", "check_replaceable"]


def check_replaceable(out: str | os.PathLike[str], *, force: bool,
                      protect: list[str | os.PathLike[str] | None] | None = None) -> None:
    """Refuse to write a report into ``out`` unless that loses nothing.

    A missing or empty folder is fine.  A non-empty one needs ``force``, and
    even then only an earlier report (a folder with ``index.html``) is
    replaced: never the current folder or one above it, and never a folder
    holding one of the ``protect`` paths (the run's input files).
    """
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise InputFileError("exists and is not a folder; choose another output folder", where=str(out))
    if not any(out.iterdir()):
        return
    if not force:
        raise InputFileError("the report folder exists already; choose another or pass --force to replace it",
                             where=str(out))
    root, cwd = out.resolve(), Path.cwd().resolve()
    for p in protect or []:
        if p is not None and root in Path(p).resolve().parents:
            raise InputFileError(f"holds the input file {p}, which --force would delete; choose another --out",
                                 where=str(out))
    if root == cwd or root in cwd.parents:
        raise InputFileError("is the current folder or above it; --force would delete it; choose another --out",
                             where=str(out))
    if not (out / "index.html").is_file():
        raise InputFileError("is not a leadsim report (no index.html); --force only replaces an earlier report; "
                             "choose another --out", where=str(out))

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:3px solid #2b6cb0;padding-bottom:.2em}h2{color:#2b6cb0;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#edf2f7}td:first-child,th:first-child{text-align:left}figure{margin:1em 0}img{max-width:100%}
.note{background:#f7fafc;border-left:4px solid #2b6cb0;padding:.5em 1em}pre{background:#f7fafc;padding:1em;overflow:auto}
nav a{margin-right:1em}
"""


@dataclass
class _Block:
    kind: str
    payload: Any
    title: str = ""


@dataclass
class Report:
    """Collects sections, tables, figures and data, then writes one folder."""

    title: str
    blocks: list[_Block] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)

    def section(self, heading: str, text: str = "") -> None:
        """Start a new section with an optional paragraph of text."""
        self.blocks.append(_Block("h2", heading))
        if text:
            self.text(text)

    def text(self, text: str, *, note: bool = False) -> None:
        self.blocks.append(_Block("note" if note else "p", text))

    def code(self, text: str, title: str = "") -> None:
        """A preformatted block (a YAML diff, a definition excerpt)."""
        self.blocks.append(_Block("pre", text, title))

    def table(self, name: str, df: pd.DataFrame | pd.Series, *, title: str = "", max_rows: int = 30,
              index: bool = False, save: bool = True, show: pd.DataFrame | None = None) -> None:
        """Show a table (first ``max_rows`` rows, or ``show``) and save it whole as ``name.csv``.

        Both are for people: numbers are rounded with :func:`leadsim.display.for_people`.
        """
        if isinstance(df, pd.Series):
            df = df.to_frame()
        if save:
            self.files[f"{name}.csv"] = for_people(df).to_csv(index=index).encode()
        shown = for_people((show if show is not None else df).head(max_rows))
        self.blocks.append(_Block("table", (shown, index, len(df)), title))

    def figure(self, name: str, fig: Any, *, title: str = "", caption: str = "") -> None:
        """Embed a matplotlib figure and save it as ``name.png``; the figure is closed."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        png = buf.getvalue()
        self.files[f"{name}.png"] = png
        self.blocks.append(_Block("figure", (png, caption), title))

    def data(self, name: str, obj: Any) -> None:
        """Save a JSON-able result as ``name.json`` (not shown on the page), numbers rounded for people."""
        from leadsim.cli._common import json_ready

        self.files[f"{name}.json"] = json.dumps(for_people(json_ready(obj)), indent=2, default=str,
                                                ensure_ascii=False).encode()

    def attach(self, name: str, content: str | bytes) -> None:
        """Save any other file (a revised definition YAML ...) in the report folder."""
        self.files[name] = content.encode() if isinstance(content, str) else content

    # ------------------------------------------------------------------ output

    def html(self) -> str:
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
                 f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"]
        heads = [b.payload for b in self.blocks if b.kind == "h2"]
        if heads:
            parts.append("<nav>" + "".join(f"<a href='#s{i}'>{html.escape(h)}</a>" for i, h in enumerate(heads)) + "</nav>")
        n_head = 0
        for b in self.blocks:
            if b.kind == "h2":
                parts.append(f"<h2 id='s{n_head}'>{html.escape(b.payload)}</h2>")
                n_head += 1
                continue
            if b.title:
                parts.append(f"<h3>{html.escape(b.title)}</h3>")
            if b.kind == "p":
                parts.append(f"<p>{html.escape(b.payload)}</p>")
            elif b.kind == "note":
                parts.append(f"<p class='note'>{html.escape(b.payload)}</p>")
            elif b.kind == "pre":
                parts.append(f"<pre>{html.escape(b.payload)}</pre>")
            elif b.kind == "table":
                df, index, total = b.payload
                parts.append(df.to_html(index=index, border=0, na_rep="", float_format=number_text))
                if total > len(df):
                    parts.append(f"<p><em>First {len(df)} of {total:,} rows; all rows in the CSV beside this page.</em></p>")
            elif b.kind == "figure":
                png, caption = b.payload
                uri = "data:image/png;base64," + base64.b64encode(png).decode()
                cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
                parts.append(f"<figure><img src='{uri}' alt='{html.escape(b.title)}'>{cap}</figure>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, out: str | os.PathLike[str], *, force: bool = False,
              protect: list[str | os.PathLike[str] | None] | None = None) -> Path:
        """Write ``index.html`` and every file into the folder ``out``; return the page's path.

        See :func:`check_replaceable` for when an existing folder is replaced.
        """
        out = Path(out)
        check_replaceable(out, force=force, protect=protect)

        def fill(tmp: Path) -> None:
            for name, content in self.files.items():
                write_atomic(tmp / name, content, overwrite=True)
            write_atomic(tmp / "index.html", self.html(), overwrite=True)

        write_folder_atomic(out, fill, overwrite=True)  # check_replaceable decided that replacing loses nothing
        return out / "index.html"
