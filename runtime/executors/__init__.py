"""Executors: what runs a plan's stages. local (this process), cluster (Ray), sample (the estimate's sample run)."""
