import sys

from rnalm.cli import main

sys.exit(main())
