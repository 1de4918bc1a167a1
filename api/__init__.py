"""datarecipe's public API: operators of your own, declared in your own package (docs/plugins.md).

    from datarecipe import Param, operator

    @operator(name="shouting", kind="function", returns="number",
              params=[Param("text", "text", "text", "the text to measure")],
              doc="Number of words written in capitals.")
    def shouting(text):
        import pyarrow.compute as pc
        return pc.count_substring_regex(text, r"\\b[A-Z]{2,}\\b")

The built-in operators with a Python kernel are declared with the same `declare` (operators/base.py), each in
the module of its family under operators/.
"""

from datarecipe.operators import REQUIRED, Operator, OperatorError, Param, declare, operator

__all__ = ["REQUIRED", "Operator", "OperatorError", "Param", "declare", "operator"]
