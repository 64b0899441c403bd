"""The flags headless Chromium runs with in tests and benchmarks: no sandbox (containers), no GPU, off the network."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
