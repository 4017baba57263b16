"""@mention resolution at scale: an index of 10,000 pattern names, 10,000 questions.

Names are the sample system's classified names made into 10,000 by putting other services
in each name's service slot (``http_server_<service>_get_healthz``, as a large system has
the same operation in many services), each with an alias, its provisional discovery name
(which classification keeps as an old name). Questions mention patterns by exact name, by
alias, with one or two typos, or by a name that does not exist, among text that holds an
address, a Slack user mention and a code span. Prints the index build time, the time per
question (``find_mentions`` and ``resolve`` of each mention, p50/p99) and how typos were
resolved.

    python benchmarks/mentions.py [--names 10000] [--questions 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter, defaultdict

from app.chat.mentions import MentionIndex, find_mentions
from app.classify.offline import classify_all_offline
from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.run import sample_batches

SERVICES = (
    "billing ledger shipping catalog pricing reviews accounts auth search cart checkout "
    "payment inventory notification frontend gateway orders returns loyalty coupons fraud "
    "risk tax invoices wallet users profile sessions media images recommend ads analytics "
    "reports exports imports warehouse fulfilment tracking carrier support tickets chat email "
    "sms push webhooks partners vendors suppliers procurement budget forecast ml features etl "
    "scheduler cron audit compliance kyc identity sso admin cms blog seo sitemap i18n currency "
    "fx geo maps stores pos kiosk mobile bff graphql edge cdn cache queue stream events "
    "metrics logs traces alerts oncall"
).split()

UNKNOWN = (
    "checkout_latency",
    "slow_payments",
    "the_database",
    "errors_last_hour",
    "zzqx_unknown_thing",
    "payments_p99",
    "kafka_lag_orders",
    "auth",
)

TEMPLATES = (
    "why is {a} slow since yesterday?",
    "what calls {a}, and is it noisy?",
    "compare {a} with {b} over the last day",
    "<@U024BE7LH> says {a} errors started after the deploy, mail ana@example.com",
    "is `@not_a_mention` in {a} the same as {b}?",
    "({a}) p99 went up, see https://grafana.example.com/@dashboards",
)

_LETTERS = "abcdefghijklmnopqrstuvwxyz_"


def sample_names() -> list[tuple[str, str]]:
    """(classified name, provisional name) of each pattern of the sample system."""
    clusterer = PatternClusterer(normalize)
    for batch in sample_batches(42, 1500):
        clusterer.accept(batch)
    classified = classify_all_offline(clusterer.patterns)
    return [(classified[p.id].name, p.name) for p in clusterer.patterns]


def synthetic(count: int, bases: list[tuple[str, str]]) -> tuple[list[str], dict[str, int]]:
    """``count`` names made from ``bases``, and an alias for each where it is unique."""
    names: list[str] = []
    aliases: dict[str, int] = {}
    seen: set[str] = set()
    for suffix in ("", "_v2", "_v3", "_legacy"):
        for service in SERVICES:
            for name, provisional in bases:
                words = name.split("_")
                if len(words) > 3:
                    words[2] = service
                else:
                    words.append(service)
                made = "_".join(words) + suffix
                if made in seen:
                    continue
                seen.add(made)
                names.append(made)
                old = service + "_" + provisional.split("_", 1)[1] + suffix
                if old not in seen:
                    seen.add(old)
                    aliases[old] = len(names) - 1
                if len(names) == count:
                    return names, aliases
    return names, aliases


def typo(name: str, edits: int, rng: random.Random) -> str:
    chars = list(name)
    for _ in range(edits):
        position = rng.randrange(len(chars) - 1)
        edit = rng.choice("sidt")
        if edit == "s":
            chars[position] = rng.choice(_LETTERS.replace(chars[position], ""))
        elif edit == "i":
            chars.insert(position, rng.choice(_LETTERS))
        elif edit == "d":
            del chars[position]
        else:
            chars[position], chars[position + 1] = chars[position + 1], chars[position]
    return "".join(chars)


def mention(names: list[str], alias_names: list[str], rng: random.Random) -> tuple[str, str, str]:
    """(kind, text mentioned, the name meant) for one mention."""
    roll = rng.random()
    name = rng.choice(names)
    if roll < 0.40:
        return "exact", name, name
    if roll < 0.55:
        return "alias", rng.choice(alias_names), ""
    if roll < 0.75:
        return "typo1", typo(name, 1, rng), name
    if roll < 0.85:
        return "typo2", typo(name, 2, rng), name
    return "unknown", rng.choice(UNKNOWN), ""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = random.Random(options.seed)

    names, aliases = synthetic(options.names, sample_names())
    pairs = list(enumerate(names))
    builds = {"names": [], "names and aliases": []}
    for _ in range(5):
        for label, alias_map in (("names", {}), ("names and aliases", aliases)):
            started = time.perf_counter()
            MentionIndex(pairs, alias_map)
            builds[label].append((time.perf_counter() - started) * 1000)
    index = MentionIndex(pairs, aliases)
    print(f"index: {len(names):,} names, {len(aliases):,} aliases")
    for label, times in builds.items():
        print(
            f"  build, {label}: median {statistics.median(times):.0f} ms, best {min(times):.0f} ms"
        )

    alias_names = list(aliases)
    per_question: list[float] = []
    per_kind: defaultdict[str, list[float]] = defaultdict(list)
    outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for _ in range(options.questions):
        meant = [mention(names, alias_names, rng) for _ in range(2)]
        text = rng.choice(TEMPLATES).format(a="@" + meant[0][1], b="@" + meant[1][1])
        started = time.perf_counter()
        found = find_mentions(text)
        resolutions = []
        for each in found:
            began = time.perf_counter()
            resolutions.append(index.resolve(each.name))
            per_kind[_kind_of(each.name, meant)].append(time.perf_counter() - began)
        per_question.append(time.perf_counter() - started)
        for resolution in resolutions:
            for kind, written, name in meant:
                if written == resolution.name and kind.startswith("typo"):
                    if resolution.pattern_id is None:
                        outcomes[kind][resolution.kind] += 1
                    elif names[resolution.pattern_id] == name:
                        outcomes[kind]["the name meant"] += 1
                    else:
                        outcomes[kind]["another pattern (closer to the typo)"] += 1

    micro = 1e6
    print(f"questions: {len(per_question):,}, each with two mentions (find + resolve)")
    print(
        f"  per question: p50 {percentile(per_question, 0.5) * micro:.0f} us, "
        f"p99 {percentile(per_question, 0.99) * micro:.0f} us, "
        f"mean {statistics.fmean(per_question) * micro:.0f} us"
    )
    for kind in ("exact", "alias", "typo1", "typo2", "unknown"):
        times = per_kind[kind]
        print(
            f"  resolve {kind:8} x{len(times):5,}: p50 {percentile(times, 0.5) * micro:6.0f} us,"
            f" p99 {percentile(times, 0.99) * micro:6.0f} us"
        )
    for kind in ("typo1", "typo2"):
        total = sum(outcomes[kind].values())
        shares = ", ".join(f"{n / total:.1%} {what}" for what, n in outcomes[kind].most_common())
        print(f"  {kind} resolved to: {shares}")


def _kind_of(written: str, meant: list[tuple[str, str, str]]) -> str:
    for kind, text, _ in meant:
        if text.lower() == written:
            return kind
    return "unknown"


if __name__ == "__main__":
    main()
