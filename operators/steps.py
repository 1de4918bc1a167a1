"""Order steps (`length_buckets`, `prefix_metadata`: written in `order { ... }` or in a phase, besides `shuffle` and
`sort`) and mix settings (`on_short`). The mix and order stages (runtime/stages/mix.py) carry them out."""

from __future__ import annotations

from datarecipe.operators.base import REQUIRED, Operator, Param, register

register(
    Operator("length_buckets", "step", (
        Param("block", "int", 1_000_000, "the size of a block, in tokens with the recipe's tokenizer, else in "
              "bytes of text: a block holds the documents that start within one such stretch of its bucket, so "
              "it is this size give or take one document", min=1),
        Param("order", "choice", "shuffle", "the order of the blocks: `shuffle` (seeded), `asc` (short "
              "documents first: a length curriculum) or `desc` (long first); blocks of one bucket are shuffled "
              "among themselves", choices=("shuffle", "asc", "desc")),
    ), "A length curriculum (Dataset Decomposition, Pouransari et al. 2024): documents go into power-of-two "
       "length buckets (bucket k holds lengths 2^k to 2^(k+1) - 1), each bucket is shuffled with the seed and "
       "cut into blocks of about `block` tokens, and the phase emits whole blocks, so each stretch of training "
       "reads documents of one length class. An ordering step of its own: it does not combine with `shuffle` "
       "or `sort` in the same phase."),
    Operator("prefix_metadata", "step", (
        Param("value", "text", REQUIRED, "the metadata to prepend, any string expression, e.g. `meta.url` or "
              "`url_host(meta.url)`; a document where it is null or empty is left as it is"),
        Param("until", "share", 0.9, "where in the training order to stop prefixing, as a share of the output "
              "in the mix's unit (MeCo prefixes the first 90% and cools down on plain text for the last 10%)"),
        Param("label", "str", "", "written before the value, e.g. `\"URL: \"`"),
        Param("separator", "str", "\n\n", "written between the value and the document"),
    ), "Metadata conditioning then cool-down (MeCo, Gao et al. 2025): at emit time, documents in the first "
       "`until` of the training order are written as `label + value + separator + text`; the rest as they are. "
       "The `text` column of the output carries the prefix; `content_hash` and `n_tokens` stay those of the "
       "document, so budgets count the document's own tokens. Written at the top level of `order`, once."),
)

register(
    Operator("on_short", "mix_setting", (Param("value", "choice", "fail", "`fail` or `renormalize`",
                                               choices=("fail", "renormalize")),),
             "What happens when a source cannot fill its share, even repeated `max_epochs` times: `fail` stops the "
             "build with the source, what it has, what the mix asks and the largest budget that fits; "
             "`renormalize` takes all the short source has and gives the rest of its share to the other sources "
             "of the mix (or phase) in proportion to their weights. The manifest records every such change, and the "
             "build warns of each source left under its target (in the terminal, the card and `recipe report`); a "
             "source left with no documents at all is an error with `recipe run --strict`."),
)
