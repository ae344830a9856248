"""The request side of the agent downloads: the configured folder, one sum cache per app,
and the collector's public address for the install commands."""

from __future__ import annotations

from flask import current_app, request

from collector.devices import downloads

_CACHE = "chattertrack.download_sums"


def sum_cache() -> downloads.Sha256Cache:
    """The app's one sum cache; its directory is AGENT_DOWNLOADS_CACHE (tests), else one
    per user in the temporary directory, which the workers of one service share."""
    cache: downloads.Sha256Cache | None = current_app.extensions.get(_CACHE)
    if cache is None:
        configured = current_app.config.get("AGENT_DOWNLOADS_CACHE")
        cache = downloads.Sha256Cache(downloads.cache_directory(configured))
        current_app.extensions[_CACHE] = cache
    return cache


def configured_folder() -> str | None:
    value = current_app.config.get("AGENT_DOWNLOADS")
    return str(value) if value else None


def agent_folder() -> downloads.Folder:
    """What the configured folder serves, with the sums (the page and SHA256SUMS)."""
    return downloads.folder(configured_folder(), sum_cache())


def public_url() -> str:
    """The collector's address as chatters' computers reach it: CHATTER_PUBLIC_URL, else
    the address this request came to (right when IT browses the name chatters use)."""
    configured = str(current_app.config.get("PUBLIC_URL") or "")
    return configured or request.url_root.rstrip("/")
