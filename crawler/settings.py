"""Scrapy settings: polite by default, every byte through Scrapy's middlewares."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("veille")
except PackageNotFoundError:  # running from a checkout that was not installed
    VERSION = "0"

BOT_NAME = "veille"
PROJECT_URL = "https://github.com/veille-news/veille"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = f"veille/{VERSION} (+{PROJECT_URL})"
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "veille"

CONCURRENT_REQUESTS = 16
# Scrapy starts this many asyncio tasks for *every* callback result, however few outputs it
# has; the pipelines are synchronous, so 100 (the default) only costs time (10,000 robots-
# refused items of one feed took 2.4x as long).
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
DOWNLOADER = "crawler.downloader.SharedTickDownloader"  # sites' delay timers woken together
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
HTTPERROR_ALLOW_ALL = True  # the spiders look at every status and record it
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
MEMUSAGE_ENABLED = False  # a timer a minute for a figure veille never reads
# Scrapy reads and parses the source of a generator callback to warn of a `return value` in
# it, again for most responses (its cache holds the bound method, made anew for each request)
WARN_ON_GENERATOR_RETURN_VALUE = False
HTTPCACHE_ENABLED = False
DNS_TIMEOUT = 15
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.CanonicalFingerprinter"
DUPEFILTER_CLASS = "crawler.fingerprint.ClaimedDupeFilter"
# articles are asked in the order their listing gave (newest first), as spiders/backlog.py
# hands them over; Scrapy's default queue is LIFO (depth first)
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # before robots.txt: an internal address is not even asked for its robots.txt
    "crawler.middlewares.PrivateAddressMiddleware": 50,
    # Scrapy's, but applied to every request that waited for robots.txt (see the class)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.ConcurrentRobotsTxtMiddleware": 100,
    # its process_response sees a 503/429 before RetryMiddleware (550) retries it
    "crawler.middlewares.RetryAfterMiddleware": 560,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.redirects.SamePageRedirectMiddleware": 600,
}
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    # Scrapy's remote control is left out of its own list (crawler/scrapy_setup.py)
    "crawler.throttle.PoliteThrottle": 0,
    "crawler.progress.Progress": 10,
    "crawler.memory.ReleaseFreeMemory": 20,
}
ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 100,
    "crawler.pipelines.DetectPipeline": 200,
    "crawler.pipelines.StorePipeline": 900,
}

# veille's own settings
VEILLE_DB = None  # database URL; None = storage.db.default_url()
VEILLE_SOURCES = None  # sources file; None = crawler.core.sources.default_path()
VEILLE_SOURCE_NAMES: list[str] = []  # restrict the crawl to these sources
VEILLE_SITEMAP_MAX_AGE_DAYS = 3
VEILLE_STORE_BATCH = 50
VEILLE_PROGRESS = False  # a progress line on stderr (veille crawl sets it on a terminal)
VEILLE_RETRY_FAILED_RUNS = 5  # a failed article URL is retried on this many later runs
