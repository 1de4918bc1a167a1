"""The recipe compiler: parse, check, plan and lower. Pure functions, no I/O."""
