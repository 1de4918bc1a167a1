"""Executors: what runs a plan's stages, each by its runner (runtime/stages/). local (this process), cluster (Ray),
sample (the estimate's timed run on a sample of each source)."""
