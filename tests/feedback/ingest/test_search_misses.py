"""Search-miss clustering keys without I/O."""

from __future__ import annotations

from services.feedback.ingest.search_misses import normalize_query


def test_search_queries_normalise() -> None:
    assert normalize_query("  Blue   KETTLE!! ") == "blue kettle"
    # Full-width letters (NFKC) are the letters.
    assert normalize_query("\uff42\uff4c\uff55\uff45 kettle") == "blue kettle"
    assert normalize_query("Kettle, blue") != normalize_query("blue kettle")
    assert normalize_query("?!") == ""
