"""Static images of plots: PNG, JPEG, SVG and PDF, drawn by plotly.js itself (the copy bundled in
the plotly package) in Debian's Chromium.

Two ways in (docs/images.md): `POST /v2/images`, as Plotly's chart_studio sends it
(`py.image.get`, `py.image.save_as`), and `/~<user>/<id>.png|.jpeg|.svg|.pdf`, a plot as it
stands now, under the plot's own sharing rule.

The modules: `options` (what a request asks for, checked, and the bounds on the figure: pure
functions), `renderer` (the pool of warm Chromium pages, off the server's event loop),
`views` and `urls`.
"""
