"""The Python implementations the native core (native/) replaced: the tests check it against them."""
