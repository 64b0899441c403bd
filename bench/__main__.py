"""Run every benchmark: `python -m bench` (make bench).

bench.ingest          points a second in, store cost, write-to-viewer latency
bench.viewer_render   the live page's frame rate and heap at 10,000 points, 20 updates a second
"""

from bench import ingest, viewer_render

ingest.main()
viewer_render.main(["--minutes", "1", "--baseline"])
