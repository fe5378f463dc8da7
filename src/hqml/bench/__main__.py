"""``python -m hqml.bench [OPTIONS]``: the same as ``hqml bench``."""

import typer

from hqml.cli.bench import bench

if __name__ == "__main__":
    typer.run(bench)
