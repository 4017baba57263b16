"""What model tokens cost, to report a cost per case.

List prices in US dollars per million tokens (input, output), standard tier, as OpenAI
publishes them; a dated model name (``gpt-4o-mini-2024-07-18``) takes its family's price.
A model not listed here (a local server, another vendor) has no known price unless one is
given (``spanwise eval run --price-in --price-out``): its cost is then reported as unknown,
never as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_USD_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
}


@dataclass(frozen=True)
class Price:
    input_usd_per_million: float
    output_usd_per_million: float

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_usd_per_million
            + completion_tokens * self.output_usd_per_million
        ) / 1e6


def price_of(model: str) -> Price | None:
    """The listed price of ``model``, by the longest listed name it starts with."""
    name = model.lower().rsplit("/", 1)[-1]
    matches = [listed for listed in PRICES_USD_PER_MILLION if name.startswith(listed)]
    if not matches:
        return None
    listed = max(matches, key=len)
    return Price(*PRICES_USD_PER_MILLION[listed])
