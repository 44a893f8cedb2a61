"""Draw the figures of docs/benchmarks.md from the tables recorded there.

The tables are the record: a figure never has numbers of its own. ``benchmarks``
draws the Dask and in-process tables (``docs/_static/benchmarks.png``), ``real_data``
the real-data table (``docs/_static/real_data.png``)::

    python benchmarks/plot_figures.py                 # both
    python benchmarks/plot_figures.py real_data --out /tmp
"""

import argparse
import re

import common

DOCS = common.ROOT / "docs" / "benchmarks.md"


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
    """The number in a table cell ('186,743' -> 186743.0, '1.85x' -> 1.85)."""
    return float(re.sub(r"[^0-9.]", "", cell))


def benchmarks(text, plt):
    """Samples/s of every contender on Dask data; dasknn's in-process speed-up."""
    dist = table_after(text, "## Data-parallel fit on Dask")
    local = table_after(text, "## In-process fit on numpy")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.barh([f"{r[0].split(' `')[0]}\n{r[1]}" for r in dist],
             [number(r[4]) / 1000 for r in dist], color="tab:blue")
    ax1.set_xlabel("thousand samples / s, first fit (higher is better)")
    ax1.set_title("Dask data, 2-core machine, MLP 256-128")
    ax1.invert_yaxis()
    ax2.barh([f"{r[0]} {r[1]}" for r in local], [number(r[4]) for r in local],
             color="tab:green")
    ax2.axvline(1.0, color="grey", linestyle="--")
    ax2.set_xlabel("speed-up over scikit-learn, in-process")
    ax2.set_title("numpy data, same model")
    ax2.invert_yaxis()
    return fig, 90


def real_data(text, plt):
    """Test scores and fit times of every contender on each real table."""
    rows = table_after(text, "## Real data: flights and diamonds")
    tasks = list(dict.fromkeys(r[0] for r in rows))
    contenders = list(dict.fromkeys(r[2] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    width = 0.8 / len(contenders)
    for k, name in enumerate(contenders):
        mine = {r[0]: r for r in rows if r[2] == name}
        xs = [i + (k - (len(contenders) - 1) / 2) * width for i in range(len(tasks))]
        axes[0].bar(xs, [float(mine[t][3].split()[-1]) for t in tasks], width, label=name)
        axes[1].bar(xs, [float(mine[t][5]) for t in tasks], width, label=name)
    for ax, title in zip(axes, ("test score (accuracy or R^2)", "fit seconds, 2 cores")):
        ax.set_xticks(range(len(tasks)), tasks)
        ax.set_title(title)
    axes[0].set_ylim(0.5, 1.0)
    axes[1].legend(fontsize=8)
    return fig, 80


FIGURES = {"benchmarks": benchmarks, "real_data": real_data}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("figures", nargs="*", metavar="FIGURE",
                   help=f"any of {', '.join(FIGURES)} (default: all)")
    p.add_argument("--out", default=str(common.ROOT / "docs" / "_static"),
                   help="folder of the PNG files (default docs/_static)")
    args = p.parse_args(argv)
    unknown = sorted(set(args.figures) - set(FIGURES))
    if unknown:
        p.error(f"unknown figure(s) {unknown}; pick from {list(FIGURES)}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = DOCS.read_text()
    for name in args.figures or FIGURES:
        fig, dpi = FIGURES[name](text, plt)
        fig.tight_layout()
        path = f"{args.out}/{name}.png"
        fig.savefig(path, dpi=dpi)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
