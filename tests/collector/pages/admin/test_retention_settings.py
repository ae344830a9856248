"""The retention settings on the admin settings page: checked, saved, audited."""

from __future__ import annotations

from tests.collector.pages.admin.test_admin import ADMIN, Site, refused, site  # noqa: F401


def _form(**changes: str) -> dict[str, str]:
    return {
        "idle_threshold_seconds": "180",
        "slice_seconds": "60",
        "outbox_max_days": "30",
        "currency": "USD",
        "agency_timezone": "UTC",
        "attribution_window_days": "7",
        "retention_slice_days": "14",
        "retention_event_days": "400",
        **changes,
    }


def test_retention_settings_on_the_page(site: Site) -> None:  # noqa: F811
    page = site.admin.get("/admin/settings").text
    assert "Days raw activity slices are kept" in page and 'value="14"' in page
    refused(
        site,
        "/admin/settings",
        400,
        "Days raw activity slices are kept: 0 is outside 1..366",
        **_form(retention_slice_days="0"),
    )
    refused(
        site,
        "/admin/settings",
        400,
        "Days raw chatter events are kept: 29 is outside 30..3650",
        **_form(retention_event_days="29"),
    )
    saved = site.admin.follow(site.admin.post("/admin/settings", **_form(retention_slice_days="7")))
    assert "Saved: days raw activity slices are kept." in saved
    assert "retention_slice_days = 7" in site.collector.cli("settings", "list").output
    entries = [a for a in site.audits() if a[1] == "set_setting"]
    assert [(a[0], a[2]) for a in entries] == [(ADMIN, "retention_slice_days")]
