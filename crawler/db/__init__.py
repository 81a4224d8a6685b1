"""veille's decisions applied to the database: the crawl's batched store (`store`: articles,
feed state, failures, and the story each new article joins), agreement records merged across
outlets and their organisations (`agreements`), and the agreement reads that resolve a party's
name (`agreement_queries`). storage/ below holds the tables, engine and plain-row queries and
imports nothing from crawler/; the decisions (stories, agreements, organisations) come from
crawler.core.
"""
