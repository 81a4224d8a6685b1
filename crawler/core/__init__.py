"""The pure tier: functions of their arguments, no database, no network, no Scrapy.

Everything above (storage aside, which stands alone) may import it; it imports nothing of
veille outside itself. pyproject.toml's import-linter contracts check it.
"""
