"""The stage runners: ingest (read sources into the canonical schema), mix (select by budget and weight)."""
