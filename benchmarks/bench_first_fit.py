"""The first fit on a freshly started cluster against the warm fits after it, on small
data: the fixed cost a user of small and medium data feels.

``--rows`` rows of the benchmark data (float32, 90% of them trained on) in ``--blocks``
row blocks of numpy chunks, the benchmark MLP for ``--epochs`` epochs, on a fresh
``LocalCluster`` of ``--workers`` one-thread worker processes: the first fit, then
``--warm`` fits on the same cluster; ``--repeat`` fresh clusters, one after another.
It also prints the modules each worker loaded that a fit on numpy chunks does not need
(scipy, scikit-learn, pandas, Bokeh, dask.array)::

    python benchmarks/bench_first_fit.py
    python benchmarks/bench_first_fit.py --rows 600000 --repeat 1
"""

import argparse
import statistics
import warnings

import common

NOT_NEEDED = ("scipy", "sklearn", "pandas", "bokeh", "dask.array")


def loaded_not_needed():
    """The packages of ``NOT_NEEDED`` loaded in this process
    (run on a worker: this module imports only numpy and ``common`` there)."""
    import sys

    return sorted({"dask.array" if m.startswith("dask.array") else m.split(".")[0]
                   for m in sys.modules if m.startswith(NOT_NEEDED)})


def one_cluster(data, args):
    """The first fit's seconds, the warm fits', and each worker's unneeded modules."""
    from distributed import Client, LocalCluster

    from dasknn import MLPClassifier

    X, _, y, _ = data
    dX, dy = common.to_dask(X, y, args.blocks)
    params = common.mlp_params(args.epochs)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        common.quiet_workers(client)
        fits = [common.timed(lambda: MLPClassifier(**params).fit(dX, dy))[1]
                for _ in range(1 + args.warm)]
        loaded = client.run(loaded_not_needed)
    return fits[0], fits[1:], sorted({m for mods in loaded.values() for m in mods})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=common.positive, default=66_667,
                        help="rows generated, 90%% trained on (default: 60,000 trained)")
    parser.add_argument("--blocks", type=common.positive, default=10)
    parser.add_argument("--epochs", type=common.positive, default=2)
    parser.add_argument("--workers", type=common.positive, default=2)
    parser.add_argument("--warm", type=common.positive, default=2)
    parser.add_argument("--repeat", type=common.positive, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    info = common.print_header(**vars(args))
    common.quiet()
    warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")  # X travels in the graph
    warnings.filterwarnings("ignore", message="dasknn: the .* shards hold")  # --rows small
    data = common.make_data(args.rows)
    runs = []
    for i in range(args.repeat):
        first, warm, loaded = one_cluster(data, args)
        ratio = first / statistics.median(warm)
        runs.append(dict(first=first, warm=warm, ratio=ratio, loaded=loaded))
        print(f"cluster {i + 1}: first fit {first:.2f} s, warm fits "
              f"{', '.join(f'{w:.2f}' for w in warm)} s: {ratio:.2f}x the median warm fit; "
              f"workers loaded {', '.join(loaded) or 'none'} of {', '.join(NOT_NEEDED)}",
              flush=True)
    if args.json:
        common.write_json(args.json, {"machine": info, "runs": runs})


if __name__ == "__main__":
    main()
