"""Waiting for htmx: an element swapped in is visible at once, but htmx attaches its
triggers only when the swap has settled (20 ms later). A test that types into a
freshly swapped field must wait for that, as a person always does."""

from playwright.sync_api import Page, expect

BUSY = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"


def settled(page: Page) -> None:
    """Waits until no htmx request, swap or settle is in progress on the page (by a
    locator: the page's CSP forbids the eval that a wait_for_function string needs)."""
    expect(page.locator(BUSY)).to_have_count(0)
