"""`python -m shared.stack ...` runs the `productops` command."""

import sys

from shared.stack.cli import main

if __name__ == "__main__":
    sys.exit(main())
