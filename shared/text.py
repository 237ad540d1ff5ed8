"""What counts as the words of a customer's text, once for every service (security issue 12,
finding 4): feedback clusters search misses by these words and the catalog keys requirements
by them, so a text one side finds words in (or none) is read the same way by the other.
"""

from __future__ import annotations

import re
import unicodedata

# A number with its decimals and unit stays one word ("1.7l"); other words split on anything
# that is not a letter or digit. Underscores are taken out before matching, so `\w` here is
# letters and digits only.
_WORD = re.compile(r"\d+(?:[.,]\d+)*\w*|\w+")
_APOSTROPHES = str.maketrans({"'": None, "\u2019": None, "_": " "})


def words(text: str) -> list[str]:
    """The text's words in order: compatibility forms folded (fullwidth letters), case
    folded, underscores splitting words ("kettle_lid"), apostrophes joining them ("don't"),
    decimal commas read as points ("1,7l" is "1.7l"). Empty when the text has no letter or
    digit, so "___" and "?!" have no words anywhere."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)
    return [word.replace(",", ".") for word in _WORD.findall(folded)]


def normalize_text(text: str) -> str:
    """The text's words joined by single spaces: `Blue  Kettle!` and `blue kettle` are one."""
    return " ".join(words(text))
