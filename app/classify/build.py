"""The classifier the settings ask for: a model through LangChain, or None for offline."""

from __future__ import annotations

from app.classify.examples import CorrectionExamples
from app.classify.model import ModelClassifier
from app.classify.store import ClassificationStore
from app.discovery.store import PatternStore
from app.factory import build_chat_model
from app.settings import Settings


def model_classifier(
    settings: Settings, store: PatternStore, *, model: str | None = None
) -> ModelClassifier | None:
    """None when no model is configured: classification then runs offline and says so."""
    if not settings.model_configured:
        return None
    return ModelClassifier(
        build_chat_model(settings, model=model),
        model=model or settings.model_name,
        batch_size=settings.classify_batch_size,
        examples=CorrectionExamples(ClassificationStore(store), store.load(sketches=False)),
        redact_names=settings.redact_attribute_names,
        prices=settings.model_prices,
        endpoint=settings.model_base_url or "https://api.openai.com/v1",
    )
