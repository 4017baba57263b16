"""Spanwise's prompt templates (Jinja2), shipped inside the package.

Templates are read through ``importlib.resources``, so they are found the same way from a
source checkout, an editable install and a wheel. Every environment is strict: a variable a
template names but the caller did not pass is an error, never an empty string.

Span data is untrusted. It enters a prompt only inside the ``untrusted`` macro of
``_untrusted_data.j2``, which fences it between markers the data cannot forge: the
``defang`` filter rewrites any marker found inside the data itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import jinja2

FENCE_OPEN = "<untrusted-data>"
FENCE_CLOSE = "</untrusted-data>"
_FENCE_WORD = "untrusted-data"


def defang(text: object) -> str:
    """Make ``text`` safe to place between the fence markers: it can no longer close them."""
    return str(text).replace(_FENCE_WORD, "untrusted_data")


def prompt_environment(
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> jinja2.Environment:
    """A strict Jinja2 environment over the shipped templates, with extra ``filters``."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("prompts", ""),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["defang"] = defang
    environment.globals["FENCE_OPEN"] = FENCE_OPEN
    environment.globals["FENCE_CLOSE"] = FENCE_CLOSE
    if filters:
        environment.filters.update(filters)
    return environment


def template_names() -> list[str]:
    """The templates shipped in this package, partials included."""
    return sorted(
        entry.name for entry in resources.files(__name__).iterdir() if entry.name.endswith(".j2")
    )


def template_version(name: str) -> str:
    """A short hash of a template and the partials it includes, stored with its output.

    A cached answer is reused only for the same template text: editing a prompt or one of
    its partials changes the version.
    """
    digest = hashlib.sha256()
    for part in sorted({name, *(n for n in template_names() if n.startswith("_"))}):
        digest.update(part.encode())
        digest.update(resources.files(__name__).joinpath(part).read_bytes())
    return digest.hexdigest()[:12]
