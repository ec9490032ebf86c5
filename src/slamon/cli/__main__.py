"""`python -m slamon.cli ...`: the same CLI as the `slamon` script."""

from slamon.cli import main

if __name__ == "__main__":
    main(prog_name="slamon")
