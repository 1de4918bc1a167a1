"""What a build leaves: shards, manifest, dataset card and plots, and the reports read back from them."""
