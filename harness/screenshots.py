"""Replace the pictures in docs/ with the ones the browser tests take: `make screenshots`.

The tests only ever write into test-artifacts/ (a test run leaves the checkout unchanged); this
command runs the two that take the docs' pictures, then copies them over:

- tests/test_browser_live_plot.py: test-artifacts/live-plot.png -> docs/screenshot-live-plot.png
- tests/test_browser_dashboard.py: test-artifacts/dashboard.png -> docs/screenshot-dashboard.png
- tests/test_pages_at_two_widths.py: test-artifacts/pages/*.png -> docs/pages/ (docs/pages.md)
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from harness.live_server import ROOT

ARTIFACTS = ROOT / "test-artifacts"
TESTS = [
    "tests/test_browser_live_plot.py::test_the_page_shows_twenty_points_streamed_over_http",
    "tests/test_browser_dashboard.py::test_several_panels_move_live_over_one_socket",
    "tests/test_pages_at_two_widths.py",
]


def main() -> int:
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS], cwd=ROOT)
    if tests.returncode != 0:
        print("the tests failed: docs/ is left as it was", file=sys.stderr)
        return tests.returncode
    copies = [
        (ARTIFACTS / "live-plot.png", ROOT / "docs" / "screenshot-live-plot.png"),
        (ARTIFACTS / "dashboard.png", ROOT / "docs" / "screenshot-dashboard.png"),
    ]
    copies += [(p, ROOT / "docs" / "pages" / p.name) for p in sorted((ARTIFACTS / "pages").glob("*.png"))]
    for source, target in copies:
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
        print(f"{source.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
