"""InfluxDB line protocol over HTTP: a door for Telegraf and InfluxDB's clients (docs/ingest.md).

`/api/v2/write` (InfluxDB 2) and `/write` (InfluxDB 1) take line protocol for one plot; each
series becomes a trace of it with a stream token of its own, and its points enter the one
ingest core (streaming/) as lines of that token's stream.
"""
