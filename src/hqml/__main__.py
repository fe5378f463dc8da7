"""``python -m hqml ...``: the ``hqml`` command line, for environments without its script."""

from hqml.cli.main import app

if __name__ == "__main__":
    app(prog_name="hqml")
