"""The scorers' kernels: transformers models (models.py) and the scorers fitted inside a build (fitted.py).
Imported when a build scores, never by `recipe check`."""
