"""`NAME = zipfit(target: SOURCE)`: ZIP-FIT alignment with a target source by gzip compression distance. Fitted and
applied by fitted.py."""

from __future__ import annotations

from datarecipe.operators.base import REQUIRED, Operator, Param, register

register(Operator("zipfit", "scorer", (
    Param("target", "source", REQUIRED, "the source to align with"),
    Param("max_target", "int", 100, "target documents compared with (a seeded sample of the target)",
          min=1, max=100_000),
    Param("max_chars", "int", 4_000, "characters of each document and of each target compared (a prefix, "
          "which keeps a pair inside deflate's 32 KiB window); the cost grows with it", min=1, max=1_000_000)),
    "ZIP-FIT alignment (Obbad et al. 2024): the mean over target documents of 1 - NCD, the normalized "
    "compression distance NCD(x, t) = (C(xt) - min(C(x), C(t))) / max(C(x), C(t)), C the gzip size at level 9. "
    "Higher is closer to the target. Cost grows with `max_target` x `max_chars` (about 100 documents/s per "
    "core at the defaults).", returns="number", scorer="fitted"))
