"""Source formats, `source NAME = FORMAT(path, ...)`: the readers that normalize files to the canonical schema
(runtime/stages/ingest.py, templates/ingest.sql.j2)."""

from __future__ import annotations

from datarecipe.operators.base import REQUIRED, Operator, Param, register

_ON_ERROR = Param("on_error", "choice", "fail",
                  "what a bad row or file does: `fail` the run, or go to `quarantine` with a count",
                  choices=("fail", "quarantine"))
_PATH = Param("path", "path", REQUIRED, "an fsspec URL or local path; globs (`*`, `**`) allowed")
_ID = Param("id", "str", "", "column holding a stable document id; without it, the file and row are the id")

register(
    Operator("parquet", "source",
             (_PATH, Param("text", "str", "text", "column holding the document text"), _ID, _ON_ERROR),
             "Parquet files. Columns other than text and id are kept in `meta`."),
    Operator("jsonl", "source",
             (_PATH, Param("text", "str", "text", "field holding the document text"), _ID, _ON_ERROR),
             "JSON Lines, plain or compressed (`.gz`, `.zst`, by extension). Other fields go to `meta`."),
    Operator("text", "source", (_PATH, _ON_ERROR),
             "Plain UTF-8 text files, one document per file; the file path relative to the glob's base is the id."),
)
