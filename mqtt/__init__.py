"""MQTT ingest: each message published to a stream token's topic is a line of its stream,
fed to the one ingest core (docs/ingest.md, "MQTT")."""
