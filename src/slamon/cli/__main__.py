"""`python -m slamon.cli ...`: the same CLI as the `slamon` script."""

from slamon.cli import run

if __name__ == "__main__":
    run()
