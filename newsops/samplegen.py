"""Fictional business-news articles with ground truth, drawn from the compiled pools.

The same ``(n, seed)`` always yields the same articles, so the demo batch, the ingest
benchmark and the evaluation sets can be regenerated instead of stored. Every company
name is fictional; the ground truth lists each surface form that really occurs in the
text, so precision/recall of an extractor can be scored by exact string match.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from newsops.samplepools import ORDERS, VARIANTS, Lang, chars, compiled_language, words
from newsops.sampletemplates import SourceSite, category_descriptions, outlets

# Share of eligible articles where one company is named only in the final paragraph:
# evaluation of long texts needs mentions that sit beyond a 256-token window.
_TAIL_ONLY_SHARE = 0.4
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class SampleArticle:
    url: str
    title: str
    body: str
    published: str
    source: str
    language: str
    category: str
    companies: tuple[str, ...]

    def record(self) -> dict[str, str]:
        """The public input-line shape; deliberately free of ground truth."""
        return {
            "url": self.url,
            "title": self.title,
            "body": self.body,
            "published": self.published,
            "source": self.source,
            "language": self.language,
        }

    def truth(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "category": self.category,
            "companies": list(self.companies),
            "language": self.language,
        }


# Publication times between 06:00 and 22:00 local time, one table lookup per article.
_CLOCK = tuple(
    f"T{h:02d}:{m:02d}:{s:02d}" for h in range(6, 22) for m in range(60) for s in range(60)
)


def generate(
    n: int,
    *,
    seed: int = 0,
    ja_share: float = 0.25,
    start: date = date(2026, 11, 1),
    days: int = 14,
) -> Iterator[SampleArticle]:
    """Yield ``n`` articles, deterministically for ``(n, seed)`` and the other arguments.

    Articles come from one random stream and nothing depends on ``n``, so ``generate(k)``
    is a prefix of ``generate(n)`` for ``k <= n``. Memory stays flat apart from the set of
    titles already used, which keeps every title unique.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= ja_share <= 1.0:
        raise ValueError("ja_share must be within [0, 1]")
    if days < 1:
        raise ValueError("days must be >= 1")
    rng = random.Random(seed)
    r = rng.random
    langs = {"en": compiled_language("en"), "ja": compiled_language("ja")}
    by_lang = {code: tuple(s for s in outlets() if s.language == code) for code in langs}
    cal = []
    for k in range(days):
        d = start + timedelta(days=k)
        cal.append((d.strftime("%Y/%m/%d"), d.isoformat(), _WEEKDAYS[d.weekday()], str(d.day)))
    seen_titles: set[str] = set()
    categories = tuple(category_descriptions())
    ncat = len(categories)
    nclock = len(_CLOCK)
    for i in range(n):
        code = "ja" if r() < ja_share else "en"
        site_pool = by_lang[code]
        site = site_pool[int(r() * len(site_pool))]
        cat = categories[int(r() * ncat)]
        ymd, iso, weekday, dom = cal[int(r() * days)]
        published = f"{iso}{_CLOCK[int(r() * nclock)]}{site.utc_offset}"
        yield _article(i, rng, langs[code], cat, site, ymd, published, weekday, dom, seen_titles)


def _article(
    i: int,
    rng: random.Random,
    lang: Lang,
    cat: str,
    site: SourceSite,
    ymd: str,
    published: str,
    weekday: str,
    dom: str,
    seen_titles: set[str],
) -> SampleArticle:
    r = rng.random
    lc = lang.cats[cat]
    ja = lang.ja
    companies = lang.companies
    ncomp = len(companies)

    # How many companies, and whether the last one is kept for the final paragraph only.
    u = r()
    m = 1 if u < 0.3 else 2 if u < 0.65 else 3 if u < 0.87 else 4
    need = 2 if cat == "mergers" else 1
    if m < need:
        m = need
    fitting = lc.primary
    picked = [fitting[int(r() * len(fitting))]] if fitting and r() < 0.75 else []
    while len(picked) < m:
        c = int(r() * ncomp)
        if c not in picked:
            picked.append(c)
    tail_only = m > need and r() < _TAIL_ONLY_SHARE
    visible = m - 1 if tail_only else m

    # Surface forms in order of first use; the ground truth is exactly this list.
    used: dict[str, None] = {}
    mentions = [0] * m

    def name(role: int) -> str:
        full, short = companies[picked[role]]
        if mentions[role]:
            form = short if r() < 0.7 else full
        else:
            form = full if r() < 0.85 else short
        mentions[role] += 1
        used[form] = None
        return form

    # Titles use short names; the set of earlier titles keeps every title distinct.
    stories = lc.stories_all if visible >= 2 else lc.stories_one
    shorts = [companies[c][1] for c in picked[:2]]
    for attempt in range(64):
        story = stories[int(r() * len(stories))]
        choices = story.numbered if attempt else story.titles
        tt = choices[int(r() * len(choices))]
        values = {f: tab[int(r() * len(tab))] for f, tab in tt.slots}
        title = tt.text.format(*[shorts[ro] for ro in tt.roles], **values)
        if attempt > 2:
            # After repeated collisions add a market-reaction tail, as wire headlines
            # often do; it multiplies the title space by a few hundred.
            title += lang.title_tails[int(r() * len(lang.title_tails))]
        if title not in seen_titles:
            break
    else:
        # Only reachable after millions of articles: number the follow-up story.
        k, base = 2, title
        while title in seen_titles:
            title = f"{base}(続報{k})" if ja else f"{base} (update {k})"
            k += 1
    seen_titles.add(title)
    for ro in tt.roles:
        used[shorts[ro]] = None

    lt = story.leads[int(r() * len(story.leads))]
    for f, tab in lt.slots:
        if f not in values:
            values[f] = tab[int(r() * len(tab))]
    lead = lt.text.format(*[name(ro) for ro in lt.roles], day=weekday, dom=dom, **values)

    # Sentences that must appear in the body: more about the primary company, and a
    # mention of every other visible company that the lead did not name.
    specials: list[tuple[str, int]] = []
    reserved = 0
    pa, px = lc.about_a, lc.about_x
    t0 = int(r() * pa.templates)
    for k in range(1 + int(r() * 2)):
        j = (t0 + k) % pa.templates * VARIANTS + int(r() * VARIANTS)
        specials.append((pa.text[j], 0))
        reserved += pa.size[j]
    t0 = int(r() * px.templates)
    for role in range(1, visible):
        if mentions[role] == 0 or r() < 0.3:
            j = (t0 + role) % px.templates * VARIANTS + int(r() * VARIANTS)
            specials.append((px.text[j], role))
            reserved += px.size[j]

    # Length target: words for English, characters for Japanese. About a third are short
    # items and the rest spread towards the long end; every text exceeds a 256-token
    # window, many by far. The mean stays near 2.5 KB of UTF-8, which keeps gzip (the
    # benchmark's bottleneck) busy without wasting bytes.
    short = r() < 0.35
    if ja:
        target = 625 + int(150 * r()) if short else 680 + int(720 * (r() + r()) / 2)
        sep, unit = "", chars
    else:
        target = 268 + int(72 * r()) if short else 300 + int(265 * (r() + r()) / 2)
        sep, unit = " ", words
    # The final paragraph ends with the last-only company mention or a closing line.
    ending = lang.tail if tail_only else lang.closing
    j = int(r() * len(ending.text))
    ending_text = ending.text[j]
    reserved += ending.size[j]
    budget = target - unit(lead) - reserved - lang.mean_sentence

    # Walk a precomputed order; one more sentence is kept for the final paragraph.
    body = lc.body
    o = int(r() * ORDERS)
    cum = body.cum[o]
    off = int(r() * body.cycle)
    k = bisect.bisect_left(cum, (cum[off - 1] if off else 0) + budget, off) - off + 1
    k = max(1, min(k, body.cycle - 1))
    sents = list(body.orders[o][off : off + k])
    last_neutral = body.orders[o][off + k].rstrip()

    # Company sentences go anywhere after the lead; render them in text order so that
    # the first mention of each company is the one that gets the full name.
    span = len(sents) + 1
    placed = [(int(r() * span), j) for j in range(len(specials))]
    placed.sort()
    for shift, (pos, j) in enumerate(placed):
        s, role = specials[j]
        s = s.replace("{A}", name(0)) if role == 0 else s.replace("{X}", name(role))
        sents.insert(pos + shift, (s.replace("..", ".") if ".." in s else s) + sep)

    if tail_only:
        named = ending_text.format(X=name(m - 1), day=weekday, dom=dom)
        if ".." in named:
            named = named.replace("..", ".")
        last = f"{last_neutral}{sep}{named}" if r() < 0.5 else f"{named}{sep}{last_neutral}"
    else:
        last = f"{last_neutral}{sep}{ending_text}"
    # The lead paragraph runs up to the first paragraph break baked into the order.
    text = f"{lead}{sep}{''.join(sents).rstrip()}\n\n{last}"

    ident = f"{rng.getrandbits(16):04x}{i:x}"
    if ja:
        slug = f"news-{ident}"
    else:
        cslugs = lang.company_slugs
        slug = tt.slug.format(*[cslugs[picked[ro]] for ro in tt.roles]) + "-" + ident
    return SampleArticle(
        f"https://{site.host}/{ymd}/{slug}",
        title,
        text,
        published,
        site.name,
        site.language,
        cat,
        tuple(used),
    )


# ---------------------------------------------------------------------------------------
# Writing. Compression runs on a second thread: zlib releases the GIL, so on a two-core
# machine generation and gzip overlap instead of adding up.
# ---------------------------------------------------------------------------------------
