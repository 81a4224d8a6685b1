"""`python -m crawler.cli`: what the service starts for each crawl (see scheduler.CRAWL_COMMAND)."""

import sys

from crawler.cli.app import main

sys.exit(main())
