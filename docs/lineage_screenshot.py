"""Screenshot of the kedro-viz lineage of the ``method`` pipeline, for the README.

Needs Debian's Chromium (``apt-get install chromium``) and Playwright's Python package
(``pip install playwright``; it drives /usr/bin/chromium, no browser download):

    kedro viz build
    (cd build && python -m http.server 4141 --bind 127.0.0.1 &)
    python docs/lineage_screenshot.py http://127.0.0.1:4141 docs/images/lineage_method.png

The clicks close kedro-viz 12.5's first-visit tour and collapse the sidebar; other
kedro-viz versions may place them elsewhere.
"""

import sys

from playwright.sync_api import sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def main(url: str, out: str, pipeline: str = "method") -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1000, "height": 1300}, device_scale_factor=1.5)
        page.goto(f"{url}/?pid={pipeline}")
        page.wait_for_timeout(4000)
        page.mouse.click(927, 929)  # the tour's close button
        page.wait_for_timeout(500)
        page.mouse.click(452, 36)  # collapse the sidebar; the graph refits
        page.wait_for_timeout(6000)  # let the "hints" toast fade
        page.mouse.move(990, 1290)  # away from the graph: no hover tooltip in the picture
        page.wait_for_timeout(500)
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
