"""``python -m oso_core.secrets check|push``; see ``oso_core.secrets.cli``."""

import sys

from oso_core.secrets.cli import main

sys.exit(main())
