"""Templates compiled into pre-rendered sentence pools, once per language.

Speed matters (the ingest benchmark writes 200,000 articles), so all template text whose
content does not depend on the article is expanded once into pools of pre-rendered
sentences; per article only a few ``str.format`` calls and list joins remain
(``newsops.samplegen``). The pools come from a fixed seed: they are part of the template
set, independent of article seeds.
"""

from __future__ import annotations

import itertools
import random
import re
import sys
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from newsops.sampletemplates import category_descriptions, companies, language_text

# ---------------------------------------------------------------------------------------
# Number slots. Each returns text, so that pools can be pre-rendered and titles can carry
# enough distinct figures to stay unique across hundreds of thousands of articles.
# ---------------------------------------------------------------------------------------

Slot = tuple[str, ...]  # every value a slot can take, drawn uniformly


def _steps(lo: float, hi: float, step: float, fmt: str) -> Slot:
    return tuple(format(lo + k * step, fmt) for k in range(round((hi - lo) / step) + 1))


def _slots(quarters: Slot) -> dict[str, Slot]:
    return {**_number_slots(), "q": quarters}


@cache
def _number_slots() -> dict[str, Slot]:
    # Tables rather than formatting per article: a lookup is several times cheaper than
    # float formatting, and the benchmark draws a few of these for every article.
    slots = {
        "pct": _steps(0.6, 29.0, 0.1, ".1f"),
        "pct2": _steps(4.0, 32.0, 0.1, ".1f"),
        "pcts": _steps(0.3, 6.9, 0.1, ".1f"),
        "bn": _steps(0.4, 48.0, 0.1, ".1f"),
        "bn2": _steps(0.4, 48.0, 0.1, ".1f"),
        "mn": _steps(12, 980, 1, "d"),
        "mn2": _steps(12, 980, 1, "d"),
        "n": _steps(150, 12000, 10, ",d"),
        "k": _steps(2, 9, 1, "d"),
        "k2": _steps(20, 30, 1, "d"),
        "px": _steps(8.5, 240.0, 0.05, ".2f"),
        "eps": _steps(0.12, 4.8, 0.01, ".2f"),
        "div": _steps(0.1, 1.85, 0.01, ".2f"),
        "bp": _steps(5, 85, 1, "d"),
        "yld": _steps(3.1, 4.9, 0.01, ".2f"),
        "mult": _steps(8.5, 32.0, 0.1, ".1f"),
        "ratio": _steps(0.25, 1.8, 0.01, ".2f"),
        "oil": _steps(58.0, 96.0, 0.01, ".2f"),
        "gw": _steps(0.4, 3.6, 0.1, ".1f"),
        "nm": ("3", "4", "5", "7"),
        "wage": _steps(17.5, 26.0, 0.25, ".2f"),
        "wage2": _steps(350, 640, 10, "d"),
        "oku": _steps(12, 9800, 1, ",d"),
        "oku2": _steps(5, 500, 1, ",d"),
        "yen": _steps(380, 12800, 5, ",d"),
        "yen2": _steps(2, 60, 1, "d"),
        "man": _steps(24.0, 32.0, 0.1, ".1f"),
        "mt": _steps(40, 300, 1, "d"),
        "mw": _steps(10, 150, 1, "d"),
        "yr": ("2027", "2028"),
    }
    return slots


_PLACEHOLDERS = frozenset({"A", "B", "X", "a", "b", "day", "dom"})
_FIELD_RE = re.compile(r"\{(\w+)\}")
_ALT_RE = re.compile(r"\[([^\[\]]*)\]")
_SLUG_RE = re.compile(r"[^a-z0-9]+")


def words(s: str) -> int:
    """English length unit of the length budget."""
    return s.count(" ") + 1


def chars(s: str) -> int:
    """Japanese length unit of the length budget."""
    return len(s)


def _fields(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for f in _FIELD_RE.findall(template) if f not in _PLACEHOLDERS))


class _KeepMissing(dict):
    """Leaves name placeholders intact while numbers are filled in."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Renderings per sentence template: numbers and "[a|b]" choices differ between them.
VARIANTS = 6
# Precomputed random sentence orders per (language, category), each with a rendering
# chosen for every position. An article slices one of them at a random offset: no
# template repeats within an article, and the body costs one slice instead of a Python
# loop per sentence (the benchmark needs ~20k articles/s from one core).
ORDERS = 1024
# Share of generic (category-free) sentences in the body, diluting the category signal
# the way real wire copy does.
_FILLER_SHARE = 0.22


@dataclass(frozen=True)
class Pool:
    """Pre-rendered sentences, ``VARIANTS`` consecutive entries per template."""

    text: tuple[str, ...]
    templates: int
    # Words (en) or characters (ja) of each rendering, names counted as slightly longer
    # than their placeholder; used for the length budget.
    size: tuple[int, ...]


@dataclass(frozen=True)
class Body:
    """Category sentences plus filler sentences, and random walks over them."""

    # Each order is one cycle over all category templates and a share of the filler
    # templates, each as one of its renderings; stored twice so that a walk from any
    # offset can run a full cycle. Sharing the strings costs one pointer per entry.
    orders: tuple[tuple[str, ...], ...]
    # Cumulative size (words or characters) along each doubled order.
    cum: tuple[tuple[int, ...], ...]
    cycle: int


@dataclass(frozen=True)
class Template:
    # Positional fields {0}, {1}, ... stand for company mentions, in text order, so a
    # name can be chosen per mention (full legal name first, short form later).
    text: str
    roles: tuple[int, ...]
    slots: tuple[tuple[str, Slot], ...]
    # URL slug with the same positional fields for company slugs (titles only).
    slug: str


@dataclass(frozen=True)
class CompiledStory:
    two: bool
    titles: tuple[Template, ...]
    leads: tuple[Template, ...]
    # Titles with figures in them: after a collision these find a free title quickly.
    numbered: tuple[Template, ...]


@dataclass(frozen=True)
class LangCat:
    stories_one: tuple[CompiledStory, ...]
    stories_all: tuple[CompiledStory, ...]
    body: Body
    about_a: Pool
    about_x: Pool
    # Companies whose names fit the topic (an energy story about a utility rather than a
    # bank); the primary company usually comes from here.
    primary: tuple[int, ...]


@dataclass(frozen=True)
class Lang:
    cats: dict[str, LangCat]
    closing: Pool
    tail: Pool
    companies: tuple[tuple[str, str], ...]
    company_slugs: tuple[str, ...]
    title_tails: tuple[str, ...]
    ja: bool
    mean_sentence: int


_ROLE_OF = {"A": 0, "B": 1, "a": 0, "b": 1}
_ROLE_RE = re.compile(r"\{([ABab])\}")


def _template(text: str, slots: dict[str, Slot]) -> Template:
    roles: list[int] = []

    def positional(m: re.Match[str]) -> str:
        roles.append(_ROLE_OF[m.group(1)])
        return f"{{{len(roles) - 1}}}"

    words: list[str] = []
    for k, piece in enumerate(_ROLE_RE.split(text)):
        if k % 2:  # a captured role letter
            words.append(f"{{{k // 2}}}")
        else:
            words += _slugify(_FIELD_RE.sub(" ", piece))
    return Template(
        _ROLE_RE.sub(positional, text),
        tuple(roles),
        tuple((f, slots[f]) for f in _fields(text)),
        "-".join(words[:9]),
    )


def _slugify(text: str) -> list[str]:
    return _SLUG_RE.sub(" ", text.lower()).split()


def _render(templates: Iterable[str], rng: random.Random, slots: dict[str, Slot]) -> list[str]:
    r = rng.random
    out: list[str] = []
    for tpl in templates:
        for _ in range(VARIANTS):
            s = _ALT_RE.sub(lambda m: (o := m.group(1).split("|"))[int(r() * len(o))], tpl)
            values = {f: (v := slots[f])[int(r() * len(v))] for f in _fields(s)}
            out.append(s.format_map(_KeepMissing(values)))
    return out


def _pool(
    templates: tuple[str, ...],
    rng: random.Random,
    slots: dict[str, Slot],
    unit: Callable[[str], int],
) -> Pool:
    text = _render(templates, rng, slots)
    extra = 5 if unit is chars else 1
    size = tuple(unit(s) + extra * ("{A}" in s or "{X}" in s) for s in text)
    return Pool(tuple(text), len(templates), size)


def _random_u16(rng: random.Random, n: int) -> list[int]:
    keys = array("H", rng.randbytes(2 * n))
    if sys.byteorder == "big":  # same values, hence same output, on every platform
        keys.byteswap()
    return keys.tolist()


def _body(
    neutral: tuple[str, ...],
    filler: tuple[str, ...],
    rng: random.Random,
    slots: dict[str, Slot],
    unit: Callable[[str], int],
    sep: str,
) -> Body:
    text = _render(neutral + filler, rng, slots)
    sizes = [unit(s) for s in text]
    # Every rendering once followed by the sentence separator and once by a paragraph
    # break: an article body is then a single join over a slice of an order.
    joined = [s + sep for s in text]
    broken = [s + "\n\n" for s in text]
    nf = min(len(filler), round(len(neutral) * _FILLER_SHARE / (1 - _FILLER_SHARE)))
    orders: list[tuple[str, ...]] = []
    cums: list[tuple[int, ...]] = []
    nn, nfill = len(neutral), len(filler)
    r = rng.random
    for _ in range(ORDERS):
        # Random permutations by sorting random keys: C-level work, several times cheaper
        # than random.shuffle (this runs 12,000 times at first use).
        keys = _random_u16(rng, nn + nfill)
        fill = sorted(range(nn, nn + nfill), key=keys.__getitem__)
        keys = _random_u16(rng, nn + nfill)
        cyc = sorted([*range(nn), *fill[:nf]], key=keys.__getitem__)
        picks = [t * VARIANTS + int(r() * VARIANTS) for t in cyc]
        picks += picks
        order = []
        left = 2 + int(r() * 3)
        for j in picks:
            left -= 1
            if left:
                order.append(joined[j])
            else:
                order.append(broken[j])
                left = 2 + int(r() * 3)  # sentences per paragraph
        orders.append(tuple(order))
        cums.append(tuple(itertools.accumulate(map(sizes.__getitem__, picks))))
    return Body(tuple(orders), tuple(cums), len(neutral) + nf)


@cache
def compiled_language(code: str) -> Lang:
    """The pools of one language (``"en"`` or ``"ja"``), built at first use (~1 s)."""
    ja = code == "ja"
    text = language_text(code)
    slots = _slots(text.quarters)
    unit = chars if ja else words
    # A fixed seed: the pools are part of the template set, independent of article seeds.
    rng = random.Random(0x5EED_0000 + ja)
    names = companies()
    pairs = names.ja if ja else names.en
    cats: dict[str, LangCat] = {}
    for cat in category_descriptions():
        ct = text.categories[cat]
        hints = names.sector_hints.get(cat, ())
        fitting = tuple(k for k, (full, _) in enumerate(pairs) if any(h in full for h in hints))
        stories = tuple(
            CompiledStory(
                st.two,
                titles := tuple(_template(t, slots) for t in st.titles),
                tuple(_template(t, slots) for t in st.leads),
                tuple(t for t in titles if t.slots) or titles,
            )
            for st in ct.stories
        )
        cats[cat] = LangCat(
            stories_one=tuple(s for s in stories if not s.two),
            stories_all=stories,
            body=_body(ct.neutral, text.filler, rng, slots, unit, "" if ja else " "),
            about_a=_pool(ct.about_a, rng, slots, unit),
            about_x=_pool(ct.about_x, rng, slots, unit),
            primary=fitting,
        )
    sample = [s.rstrip() for c in cats.values() for s in c.body.orders[0][: c.body.cycle]]
    return Lang(
        cats=cats,
        closing=_pool(text.closing, rng, slots, unit),
        tail=_pool(text.tail, rng, slots, unit),
        companies=pairs,
        company_slugs=tuple("-".join(_slugify(short)) for _, short in pairs),
        title_tails=tuple(t.format(pcts=v) for t in text.title_tails for v in slots["pcts"]),
        ja=ja,
        mean_sentence=round(sum(map(unit, sample)) / len(sample)),
    )
