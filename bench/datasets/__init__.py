"""What the generated data sets (``bench.stats_data``, ``bench.conversations_data``) share.

- ``targets``: where a cache lives (``.bench-cache/`` on SQLite, a database of its own on
  PostgreSQL) and its marker (a JSON file beside it, the database's comment);
- ``cache``: ``ensure(target, recipe)``, one builder at a time (a lock file), building,
  migrating and rolling up the cache as its marker says is needed;
- ``rows``: writing the generated rows fast (timestamp text, bulk connections);
- ``cli``: the command line both packages' ``__main__`` run.

Each data set package has the same modules: ``parameters`` (version, seed, sizes, the
collector files that write its rollups), its generators, ``loaders`` (bulk rows),
``database`` (the rows besides the bulk: people, settings), ``build`` (``generate`` the
rows into a loader, ``load`` a migrated database) and ``cache`` (``target``, ``recipe``,
``ensure_dataset``, ``describe``).
"""
