"""``python -m rnalm.packaging``: see :mod:`rnalm.packaging.cli`."""

import sys

from rnalm.packaging.cli import main

sys.exit(main())
