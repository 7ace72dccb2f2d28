import sys

from cortexbench.cli import main

sys.exit(main())
