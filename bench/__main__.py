"""`python -m bench`: the benchmark's one command."""

import sys

from bench.run import main

sys.exit(main())
