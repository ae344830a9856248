"""Keeping a database in shape: schema upgrades, rebuilding the derived statistics, backups.

Above both analytics packages, since an upgrade or a rebuild touches each of them.
"""
