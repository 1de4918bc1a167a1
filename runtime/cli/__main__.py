"""`python -m datarecipe.runtime.cli`: the `recipe` command."""

import sys

from datarecipe.runtime.cli import main

sys.exit(main())
