import sys

from leadsim.cli import main

sys.exit(main())
