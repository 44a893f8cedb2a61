"""Plot the recorded benchmark tables of docs/benchmarks.md as bar charts.

Reads the figures as recorded (the tables are the record; the plot never has numbers
of its own) and writes ``docs/_static/benchmarks.png``::

    python benchmarks/plot_figures.py
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def table_after(text, heading):
    """Rows (lists of cells) of the first Markdown table after ``heading``."""
    rows = []
    for line in text[text.index(heading):].splitlines():
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]


def number(cell):
    return float(re.sub(r"[^0-9.]", "", cell))


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = (ROOT / "docs" / "benchmarks.md").read_text()
    dist = table_after(text, "## Data-parallel fit on Dask")
    local = table_after(text, "## In-process fit on numpy")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"{r[0].split(' `')[0]}\n{r[1]}" for r in dist]
    ax1.barh(labels, [number(r[3]) / 1000 for r in dist], color="tab:blue")
    ax1.set_xlabel("thousand samples / s (higher is better)")
    ax1.set_title("Dask data, 2-core machine, MLP 256-128")
    ax1.invert_yaxis()
    labels = [f"{r[0]} {r[1]}" for r in local]
    ax2.barh(labels, [number(r[4]) for r in local], color="tab:green")
    ax2.axvline(1.0, color="grey", linestyle="--")
    ax2.set_xlabel("speed-up over scikit-learn, in-process")
    ax2.set_title("numpy data, same model")
    ax2.invert_yaxis()
    fig.tight_layout()
    out = ROOT / "docs" / "_static" / "benchmarks.png"
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
