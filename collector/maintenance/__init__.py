"""Keeping a database in shape: schema upgrades and rebuilding the derived statistics.

Above both analytics packages, since an upgrade or a rebuild touches each of them.
"""
