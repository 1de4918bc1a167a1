"""Transforms: the `apply` steps that rewrite documents (or screen them against a list) rather than score them,
one module each: `redact_pii` (an Arrow kernel), `strip_lines` and `url_blocklist` (lowered to SQL steps of the
filter stage)."""
