"""Ids of shapes that shape rules do not recognise, and the pools they are drawn from.

An id here is told apart from a literal only by how many values it takes: lower-case words
(``gtmcbtxbxu``), prefixed base-36 where most values hold no digit (``c_kqzmwbtrea``), slugs
of words (``blue-mountain-coffee``), numbered shards, tenants and cells (``shard-07``,
``tenant-acme``, ``eu-west-cell-12``), nanoids and user names (``j.smith``). Each variable
position draws from an ``IdPool`` of hundreds to thousands of distinct values, made once per
system from a seed, so that every value is rare and the position varies a lot.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

WORDS = tuple(
    """
    amber anchor apple arrow aspen atlas autumn badger bamboo basil beacon birch bison blue
    bold border breeze brick bright brook cactus canyon cedar chalk cherry cinder citrus clay
    cliff cloud clover cobalt coffee comet copper coral cosmic cotton crane creek crimson
    crystal cypress dawn delta desert dove dune dusk eagle ember falcon fern field fjord flint
    forest fox frost garden garnet ginger glacier golden granite grove harbor hazel heron
    hollow honey indigo iris island ivory jade jasper juniper kettle lagoon lantern lark lava
    lemon lilac linen lotus lunar maple marble meadow mesa mint mist moss mountain nectar
    noble north oak ocean olive onyx orchid otter pebble pepper pine plum polar poppy prairie
    quartz quiet rain raven reed ridge river robin rocky rose ruby rust saffron sage salt sand
    sapphire shadow silver slate snow solar sparrow spruce steel stone storm summit sunny
    swift tangerine thistle thunder tide timber topaz tulip tundra twilight valley velvet
    violet walnut willow winter wren zephyr
    """.split()
)
"""Plain words: the stuff of slugs and tenant names."""

FIRST_NAMES = tuple(
    """
    alice bob carol dave erin frank grace heidi ivan judy karl lena mallory nadia oscar peggy
    quinn rupert sybil trent ursula victor wendy xavier yara zane amir bianca chen dmitri elif
    farah goran hana ines jonas kenji leila marco nina
    """.split()
)
LAST_NAMES = tuple(
    """
    smith jones garcia muller rossi tanaka kowalski novak silva dubois jensen okafor haddad
    ivanova larsen moreau nguyen park quispe reyes schmidt torres vogel weber yilmaz zhang
    """.split()
)
CELL_REGIONS = tuple(
    """
    eu-west eu-central eu-north us-east us-west ap-south ap-northeast sa-east
    """.split()
)

_LOWER = string.ascii_lowercase
_NANOID = string.ascii_letters + string.digits + "_-"


@dataclass(frozen=True)
class IdShape:
    """How the values of one kind of id look, and how to make one.

    ``capacity`` bounds how many distinct values ``make`` can produce, so that a pool never
    asks for more than the shape holds.
    """

    name: str
    description: str
    example: str
    capacity: int
    make: Callable[[random.Random], str]


def lowercase(length: int = 10) -> IdShape:
    """Lower-case letters only, such as ``gtmcbtxbxu``: no digit or capital to give it away."""
    return IdShape(
        f"lowercase{length}",
        f"{length} lower-case letters, no digit",
        "gtmcbtxbxu"[:length].ljust(length, "q"),
        26**length,
        lambda rng: "".join(rng.choices(_LOWER, k=length)),
    )


def prefixed_base36(prefix: str) -> IdShape:
    """Such as ``c_kqzmwbtrea``: a type prefix, then base 36 with digits rare, so that only
    about a third of the values hold a digit."""

    def make(rng: random.Random) -> str:
        return prefix + "".join(
            rng.choice(string.digits) if rng.random() < 0.04 else rng.choice(_LOWER)
            for _ in range(10)
        )

    return IdShape(
        f"prefixed:{prefix}",
        f"{prefix!r} + 10 base-36 characters, most without a digit",
        f"{prefix}kqzmwbtrea",
        26**10,
        make,
    )


def _slug(rng: random.Random) -> str:
    return "-".join(rng.choices(WORDS, k=rng.choice((2, 2, 3, 3, 4))))


SLUG = IdShape(
    "slug", "2 to 4 words joined by dashes", "blue-mountain-coffee", len(WORDS) ** 2, _slug
)


def _shard(rng: random.Random) -> str:
    return f"shard-{rng.randrange(10_000):02d}"


SHARD = IdShape("shard", "'shard-' and a number, two digits or more", "shard-07", 10_000, _shard)


def _tenant(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "tenant-" + rng.choice(WORDS)
    return "tenant-" + rng.choice(WORDS) + rng.choice(WORDS)


TENANT = IdShape(
    "tenant", "'tenant-' and one or two words", "tenant-acme", len(WORDS) ** 2, _tenant
)


def _cell(rng: random.Random) -> str:
    return f"{rng.choice(CELL_REGIONS)}-cell-{rng.randrange(1, 1000)}"


CELL = IdShape(
    "cell", "a region, '-cell-' and a number", "eu-west-cell-12", len(CELL_REGIONS) * 999, _cell
)


def _nanoid(rng: random.Random) -> str:
    return "".join(rng.choices(_NANOID, k=21))


NANOID = IdShape("nanoid", "21 characters of A-Za-z0-9_-", "V1StGXR8_Z5jdHi6B-myT", 64**21, _nanoid)


def _username(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    form = rng.randrange(5)
    if form == 0:
        return first
    if form == 1:
        return f"{first[0]}.{last}"
    if form == 2:
        return f"{first}_{rng.randrange(1, 1000)}"
    if form == 3:
        return f"{first}.{last}"
    return f"{first}{last[:3]}"


USERNAME = IdShape(
    "username",
    "a user name: 'alice', 'j.smith', 'bob_88', 'maria.garcia'",
    "j.smith",
    len(FIRST_NAMES) * (999 + 3 * len(LAST_NAMES)),
    _username,
)


@dataclass(frozen=True)
class IdPool:
    """The distinct values one kind of id takes in a system, and how they are drawn.

    A draw picks ``values[int(n * u ** skew)]`` for a uniform ``u``: a ``skew`` of 1 is
    uniform, a little more makes the first values somewhat more popular without letting any
    of them become common enough to pass for a literal.
    """

    name: str
    shape: IdShape
    values: tuple[str, ...]
    skew: float

    def draw(self, rng: random.Random) -> str:
        return self.values[int(len(self.values) * rng.random() ** self.skew)]

    def describe(self) -> str:
        return (
            f"{self.shape.description} ({len(self.values)} values, skew {self.skew:.2f}, "
            f"e.g. {self.values[0]!r}, {self.values[1]!r})"
        )


def make_pool(rng: random.Random, name: str, shape: IdShape, size: int, skew: float) -> IdPool:
    """A pool of ``size`` distinct values of ``shape``; fails if the shape holds fewer."""
    if size > shape.capacity // 2:
        raise ValueError(f"{shape.name} ids hold about {shape.capacity} values, not {size}")
    seen: dict[str, None] = {}
    while len(seen) < size:
        seen[shape.make(rng)] = None
    return IdPool(name, shape, tuple(seen), skew)
