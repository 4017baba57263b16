"""Classification of span patterns: a name, a description, a category and a verdict.

``verdict`` holds the contract every classifier fills (``Classification``); ``offline`` is
the classifier that needs no model; ``names`` keeps names unique and stable.
"""

from app.classify.names import unique_names
from app.classify.offline import classify_all_offline, classify_offline
from app.classify.verdict import Category, Classification, Source, Verdict

__all__ = [
    "Category",
    "Classification",
    "Source",
    "Verdict",
    "classify_all_offline",
    "classify_offline",
    "unique_names",
]
