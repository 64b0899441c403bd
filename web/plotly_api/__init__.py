"""Plotly's own REST APIs, so that its clients work unchanged against plotserver.

- Chart Studio's v2 API, as `chart_studio` 1.1.0 (Python) calls it: users/current,
  files/lookup, folders, grids, plots and a plot's content.
- The older `/clientresp` form API of the Node client and of plotly.py before version 4,
  and `/apigetfile/<owner>/<id>`, the Node client's `getFigure`.

Both map Plotly's files onto plotserver's models: a plot's filename is its title, its parent
path is `Plot.folder`, and its fid is `owner:<plot id>`. chart_studio uploads a figure's arrays
as a grid and sends the plot with `xsrc`-style references; those are resolved into inline data
when the plot is saved, so every page, socket and REST endpoint shows plain traces.

Routes have no trailing slash, take no CSRF token, and answer errors as
`{"errors": [{"message": ...}]}` (chart_studio reads that; see research/plotly-clients.md).
They never answer 5xx on purpose: chart_studio retries a 5xx for three minutes.

The modules: `urls` (the routes) and `views` (the requests and answers); `files` (Plotly's
file names, paths and ids, and what the API answers about a file); `grids` (uploaded columns,
and the `xsrc` references into them); `figures` (how /clientresp's `fileopt` merges new traces
into a figure: pure functions); `clientresp_form` (reading the form bodies of the old clients).
"""

from __future__ import annotations
