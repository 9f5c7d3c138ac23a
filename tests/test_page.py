"""The search page in a real browser: headless Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import served

from hfsearch.service import ServiceConfig, create_app

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright cannot download its own here
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="needs Debian's chromium (apt-get install chromium); CI installs it",
)


@pytest.fixture(scope="module")
def base_url(search_db_url: str, minilm: str) -> Iterator[str]:
    config = ServiceConfig(database_url=search_db_url, embedding_model=minilm)
    with served(create_app(config)) as url:
        yield url


def test_typing_a_query_shows_ranked_highlighted_results(base_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.goto(base_url)
        page.fill("input[name=q]", "gaussian splatting rasterization")
        page.select_option("select[name=mode]", "hybrid")
        page.click("button[type=submit]")
        results = page.locator("#results li")
        expect(results).to_have_count(10)
        first = results.first
        expect(first.locator("a")).to_have_text("Introduction to 3D Gaussian Splatting")
        expect(first.locator("mark").first).to_be_visible()
        assert "gaussian" in first.locator("mark").first.inner_text().lower()
        expect(page.locator("#status")).to_have_text("10 results")

        # A filter narrows the results; an error shows as a message, not a blank page.
        page.fill("input[name=tag]", "case-studies")
        page.click("button[type=submit]")
        expect(results.first.locator("a")).to_contain_text("Rocket Money")
        page.fill("input[name=tag]", "")
        page.fill("input[name=q]", "x" * 1001)
        page.click("button[type=submit]")
        expect(page.locator("#status")).to_contain_text("Error")
        page.screenshot(path=str(tmp_path / "page.png"))
        browser.close()
