"""The recipe language: grammar, parser (lark tree to AST), errors with spans, and the checker that turns an AST
into the checked recipe (spec). Pure: no file, model or network access."""
