"""The runtime: engines, readers, writers and the `recipe` CLI. All the I/O lives here."""
