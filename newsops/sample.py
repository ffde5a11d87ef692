"""Deterministic generator of fictional business-news articles with ground truth.

The same ``(n, seed)`` always yields the same articles, so the demo batch, the ingest
benchmark and the evaluation sets can be regenerated instead of stored. Every company
name is fictional; the ground truth lists each surface form that really occurs in the
text, so precision/recall of an extractor can be scored by exact string match.

Speed matters (the ingest benchmark writes 200,000 articles), so all template text whose
content does not depend on the article is expanded once into pools of pre-rendered
sentences; per article only a few ``str.format`` calls and list joins remain.

Run ``python -m newsops.sample OUT.jsonl.gz -n 200000 --truth TRUTH.jsonl.gz`` to write a
batch from the command line.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import itertools
import json
import queue
import random
import re
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import IO, Any

__all__ = [
    "CATEGORIES",
    "CATEGORY_DESCRIPTIONS",
    "SampleArticle",
    "SourceSite",
    "company_names",
    "generate",
    "sources",
    "write_jsonl_gz",
]

CATEGORIES: tuple[str, ...] = ("earnings", "mergers", "technology", "energy", "markets", "labor")

CATEGORY_DESCRIPTIONS: dict[str, str] = {
    "earnings": (
        "Company financial results such as quarterly revenue, profit or loss, earnings per "
        "share, dividends and guidance or forecasts."
    ),
    "mergers": (
        "Mergers and acquisitions, including takeover bids, deals to buy or sell companies "
        "or business units, and shareholder or regulatory approval of deals."
    ),
    "technology": (
        "Technology products and research such as software, artificial intelligence, "
        "semiconductors, cloud computing, cybersecurity and product launches."
    ),
    "energy": (
        "The energy industry, including oil and natural gas production, refining, "
        "electricity and utilities, renewable power and emissions."
    ),
    "markets": (
        "Financial markets, including stock price moves, stock indexes, bond yields, "
        "currencies and investor sentiment."
    ),
    "labor": (
        "Labor and employment, including workers, unions, wages, strikes, hiring and job cuts."
    ),
}


@dataclass(frozen=True)
class SourceSite:
    """A fictional outlet; the crawler demo serves one site per host."""

    name: str
    host: str
    language: str
    utc_offset: str = "+00:00"


_SOURCES: tuple[SourceSite, ...] = (
    SourceSite("Harbor Ledger", "harbor-ledger.example", "en", "-05:00"),
    SourceSite("Granite Wire", "granite-wire.example", "en", "+00:00"),
    SourceSite("Copperline Daily", "copperline-daily.example", "en", "+08:00"),
    SourceSite("みなと経済新聞", "minato-keizai.example", "ja", "+09:00"),
    SourceSite("日輪ビジネスタイムズ", "nichirin-times.example", "ja", "+09:00"),
)


def sources() -> list[SourceSite]:
    """All outlets, English first; articles only ever use these hosts."""
    return list(_SOURCES)


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


# ---------------------------------------------------------------------------------------
# Companies: (full form, short form). The short form is what later mentions and titles
# use; it equals the full form when the name carries no legal suffix. No form of one
# company may occur inside a form of another, or ground truth would be ambiguous.
# ---------------------------------------------------------------------------------------

_EN_COMPANIES: tuple[tuple[str, str], ...] = tuple(
    (full, full.rsplit(" ", 1)[0] if sfx else full)
    for full, sfx in (
        ("Northwind Holdings Inc.", True),
        ("Bluefin Analytics Corp.", True),
        ("Castleton Energy", False),
        ("Meridian Bank plc", True),
        ("Ashgrove Logistics Ltd.", True),
        ("Redcliff Mining Corp.", True),
        ("Silverline Semiconductor Inc.", True),
        ("Harrowgate Retail Group", False),
        ("Pinecrest Pharmaceuticals Inc.", True),
        ("Kestrel Aerospace Corp.", True),
        ("Ironbridge Capital Partners", False),
        ("Lakemont Foods Inc.", True),
        ("Tidewater Shipping Co.", True),
        ("Brightwell Software Inc.", True),
        ("Oakhurst Insurance Group", False),
        ("Quarrystone Materials Corp.", True),
        ("Falconridge Motors Inc.", True),
        ("Willowbrook Telecom plc", True),
        ("Stonehaven Properties Inc.", True),
        ("Crescent Valley Utilities Co.", True),
        ("Halcyon Biotech Inc.", True),
        ("Ravensworth Chemicals plc", True),
        ("Summitview Networks Corp.", True),
        ("Glenmore Steel Co.", True),
        ("Copperfield Airlines Inc.", True),
        ("Evermark Payments Inc.", True),
        ("Larkspur Apparel Co.", True),
        ("Beaconfield Healthcare Corp.", True),
        ("Ambervale Beverages Ltd.", True),
        ("Westmarch Financial Corp.", True),
        ("Thornbury Rail Group", False),
        ("Saltmarsh Offshore Drilling Inc.", True),
        ("Greywater Data Systems Inc.", True),
        ("Highpoint Cloud Corp.", True),
        ("Marlowe Finch Securities Inc.", True),
        ("Orchard Lane Grocers Inc.", True),
        ("Cobalt Ridge Minerals Ltd.", True),
        ("Sunhaven Solar Corp.", True),
        ("Windmere Power plc", True),
        ("Brackenfield Construction Co.", True),
        ("Fairhaven Hotels Group", False),
        ("Norcastle Paper Corp.", True),
        ("Palisade Robotics Inc.", True),
        ("Redwater Refining Co.", True),
        ("Seabright Media Group", False),
        ("Lindqvist Engineering AB", True),
        ("Vantara Freight Corp.", True),
        ("Kingsmoor Brewing Co.", True),
        ("Alderney Asset Management plc", True),
        ("Corvane Microdevices Inc.", True),
        ("Marbleton Plastics Corp.", True),
        ("Holloway Automotive Group", False),
        ("Elmstead Pharmacy Holdings Inc.", True),
        ("Trentmoor Gas Co.", True),
        ("Caldera Geothermal Inc.", True),
        ("Roxbury Electric Co.", True),
        ("Starling Mobile plc", True),
        ("Quillon Cybersecurity Ltd.", True),
        ("Hartwell Textiles Co.", True),
        ("Brookhollow Bancorp Inc.", True),
    )
)

_JA_COMPANIES: tuple[tuple[str, str], ...] = (
    ("東和電機株式会社", "東和電機"),
    ("株式会社山城製作所", "山城製作所"),
    ("北斗化学", "北斗化学"),
    ("三峰重工業株式会社", "三峰重工業"),
    ("株式会社青葉ホールディングス", "青葉ホールディングス"),
    ("浜松精密株式会社", "浜松精密"),
    ("朝凪フィナンシャルグループ", "朝凪フィナンシャルグループ"),
    ("株式会社白鷺物流", "白鷺物流"),
    ("若葉製薬株式会社", "若葉製薬"),
    ("東雲エネルギー株式会社", "東雲エネルギー"),
    ("株式会社銀嶺システムズ", "銀嶺システムズ"),
    ("千歳食品株式会社", "千歳食品"),
    ("日向電力株式会社", "日向電力"),
    ("株式会社翠星半導体", "翠星半導体"),
    ("鳴海商事株式会社", "鳴海商事"),
    ("株式会社菱川建設", "菱川建設"),
    ("桜ヶ丘銀行", "桜ヶ丘銀行"),
    ("晴海自動車株式会社", "晴海自動車"),
    ("株式会社大峰鉄鋼", "大峰鉄鋼"),
    ("紅葉通信株式会社", "紅葉通信"),
    ("株式会社蒼海海運", "蒼海海運"),
    ("暁ソフトウェア株式会社", "暁ソフトウェア"),
    ("株式会社宝山化成", "宝山化成"),
    ("湊川ガス株式会社", "湊川ガス"),
    ("星見リテイル株式会社", "星見リテイル"),
    ("株式会社玉川ロボティクス", "玉川ロボティクス"),
    ("富岳航空株式会社", "富岳航空"),
    ("株式会社藤代製紙", "藤代製紙"),
    ("新緑ヘルスケア株式会社", "新緑ヘルスケア"),
    ("陽光ソーラー株式会社", "陽光ソーラー"),
    ("八雲証券株式会社", "八雲証券"),
)


def company_names(language: str) -> list[tuple[str, str]]:
    """(full, short) name pairs of one language, e.g. for gazetteers or tests."""
    return list(_JA_COMPANIES if language == "ja" else _EN_COMPANIES)


# ---------------------------------------------------------------------------------------
# Templates. Slots in braces are numbers or names; "[a|b]" picks one alternative when the
# pools are built, which multiplies surface variety so that two long articles of the same
# category do not look like near-duplicates to a shingle-based deduplicator.
#   {A} primary company, {B} second company (leads only), {X} any other company,
#   {a}/{b} short forms in titles, {day} weekday (en), {dom} day of month (ja).
# A story couples title and lead templates so that their direction and numbers agree.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Story:
    titles: tuple[str, ...]
    leads: tuple[str, ...]
    # A two-company story names {B}; it is only drawn when a second company is visible
    # in the body (not reserved for a last-paragraph-only mention).
    two: bool = False


def _st(titles: list[str], leads: list[str], two: bool = False) -> _Story:
    return _Story(tuple(titles), tuple(leads), two)


@dataclass(frozen=True)
class _CatText:
    stories: tuple[_Story, ...]
    neutral: tuple[str, ...]
    about_a: tuple[str, ...]
    about_x: tuple[str, ...]


_EN: dict[str, _CatText] = {
    "earnings": _CatText(
        stories=(
            _st(
                [
                    "{a} quarterly profit rises {pct}% on strong demand",
                    "{a} net income jumps {pct}% as sales top forecasts",
                    "Shares of {a} climb after {q} results beat estimates",
                    "{a} beats profit forecasts, lifts margin to {pct2}%",
                ],
                [
                    "{A} said on {day} that net income rose {pct}% in the {q} to ${mn} "
                    "million, helped by firmer pricing and steady demand from large customers.",
                    "Quarterly earnings at {A} beat expectations, the company said on {day}, "
                    "with net income up {pct}% and earnings per share of ${eps}, ahead of the "
                    "consensus estimate.",
                ],
            ),
            _st(
                [
                    "{a} raises full-year guidance after revenue beat",
                    "{a} lifts annual forecast as {q} revenue hits ${bn} billion",
                    "{a} ups outlook on resilient orders, sees {pct}% sales growth",
                ],
                [
                    "{A} reported {q} revenue of ${bn} billion on {day}, ahead of analyst "
                    "expectations, and raised its forecast for the full fiscal year.",
                    "{A} said on {day} it now expects annual revenue growth of about {pct}%, "
                    "up from its earlier guidance, after a stronger-than-expected {q}.",
                ],
            ),
            _st(
                [
                    "{a} posts {q} loss; shares slide {pct}%",
                    "{a} misses estimates as costs weigh on margins",
                    "{a} swings to loss of ${mn} million on weaker orders",
                ],
                [
                    "{A} posted a {q} loss on {day} as higher input costs and a slowdown in "
                    "orders squeezed margins, sending its shares down {pct}% in early trading.",
                    "{A} said on {day} that operating profit fell {pct}% in the {q}, missing "
                    "analyst estimates as demand from industrial customers weakened.",
                ],
            ),
            _st(
                [
                    "{a} cuts outlook, citing softer demand",
                    "{a} trims annual profit forecast by {pct}%",
                    "{a} lowers guidance to ${bn} billion as key markets cool",
                ],
                [
                    "{A} cut its annual profit guidance on {day}, saying softer demand in its "
                    "core markets would weigh on earnings through the rest of the fiscal year.",
                    "{A} lowered its full-year revenue forecast on {day} to about ${bn} "
                    "billion, blaming weaker consumer spending and unfavourable exchange rates.",
                ],
            ),
            _st(
                [
                    "{a} raises dividend after record {q} revenue",
                    "{a} reports record sales, boosts payout by {pct}%",
                ],
                [
                    "{A} announced on {day} a {pct}% increase in its quarterly dividend after "
                    "reporting record revenue of ${bn} billion for the {q}.",
                ],
            ),
            _st(
                [
                    "{a} profit beats as orders from {b} surge",
                    "{a} revenue up {pct}% on bigger contract with {b}",
                ],
                [
                    "{A} said on {day} that quarterly revenue rose {pct}%, driven by a larger "
                    "supply contract with {B}, its biggest customer.",
                ],
                two=True,
            ),
        ),
        neutral=(
            "Revenue for the period rose {pct}% from a year earlier, while gross margin "
            "improved by {bp} basis points.",
            "Net income came to ${mn} million, or ${eps} a share, compared with ${mn2} million "
            "a year [ago|earlier].",
            "Analysts [polled before the release|surveyed by data providers] had expected "
            "earnings per share of ${eps}.",
            "The company now expects full-year revenue of between ${bn} billion and ${bn2} "
            "billion.",
            "Operating expenses grew {pct}% as the company [continued to invest|kept "
            "investing] in sales and marketing.",
            "Free cash flow for the quarter reached ${mn} million, giving management room to "
            "[buy back shares|pay down debt|raise the dividend].",
            "Management said pricing held up better than expected despite softer volumes in "
            "some regions.",
            "The earnings beat was driven mainly by higher-margin service contracts, according "
            "to the [results statement|quarterly report].",
            "Currency movements reduced reported revenue by about {pcts}%, the company said.",
            "Executives told analysts on a conference call that order backlogs remained "
            "[healthy|solid] heading into the next quarter.",
            "The board approved a quarterly dividend of ${div} per share, payable next month.",
            "Guidance for the coming quarter implies revenue growth in the [mid|low] single "
            "digits.",
            "Cost savings from last year's restructuring added roughly ${mn} million to "
            "operating profit.",
            "Inventory levels fell for a [third|fourth] straight quarter, easing pressure on "
            "working capital.",
            "Profit margins were squeezed by higher freight, labor and raw material costs.",
            "Several brokerages raised their price targets after the results, citing "
            "[stronger-than-expected|robust] cash generation.",
            "The chief financial officer said the company would remain disciplined on spending "
            "while demand stabilises.",
            "Same-store sales, a closely watched measure, increased {pcts}% in the quarter.",
            "Earnings before interest, taxes, depreciation and amortization rose to ${mn} million.",
            "The company reiterated its target of an operating margin of {pct2}% by the end "
            "of the fiscal year.",
            "Investors had been bracing for weaker numbers after a string of profit warnings "
            "across the sector.",
            "Revenue from subscription services grew faster than hardware sales for the first "
            "time in the company's history.",
            "Adjusted earnings, which exclude one-time items, came in at ${eps} per share.",
            "Sales in the company's largest division rose {pct}%, while the smaller consumer "
            "unit [shrank|was flat].",
            "The quarterly report showed net debt falling to ${bn} billion from ${bn2} billion "
            "at the end of last year.",
            "Research firms expect [profit growth|earnings growth] across the industry to slow "
            "next year as price increases fade.",
            "The fiscal year ends in March, and full-year results are due in the spring.",
            "Tax charges and restructuring costs reduced net income by about ${mn2} million.",
        ),
        about_a=(
            "{A} said it expects demand to recover gradually in the second half.",
            "Shares of {A} have gained {pct}% since the start of the year.",
            "{A} also announced a share buyback program of up to ${mn} million.",
            "A spokesperson for {A} declined to comment on the outlook beyond the published "
            "guidance.",
            "{A} has beaten consensus profit estimates in each of the past [four|three] quarters.",
            "Management at {A} has said that margins should improve as new capacity comes online.",
            "{A} will publish its full annual report [next month|in the coming weeks].",
        ),
        about_x=(
            "Rival {X} reported similar trends earlier this month, pointing to a broad "
            "slowdown in orders.",
            "{X}, one of its largest customers, has also signalled caution about spending.",
            "The results contrast with those of {X}, which lowered its forecast last week.",
            "Competitor {X} is scheduled to report quarterly earnings next week.",
            "Analysts compared the figures with those of {X}, whose margins have been under "
            "pressure.",
        ),
    ),
    "mergers": _CatText(
        stories=(
            _st(
                [
                    "{a} agrees to acquire {b} in ${bn} billion deal",
                    "{a} to buy {b} for ${px} a share in cash",
                    "{a} strikes ${bn} billion deal for rival {b}",
                ],
                [
                    "{A} said on {day} it had agreed to acquire {B} for about ${bn} billion in "
                    "cash, a premium of {pct}% to the target's last closing price.",
                    "{A} agreed on {day} to buy {B} for ${px} per share, in a deal that values "
                    "the company at about ${bn} billion including debt.",
                ],
                two=True,
            ),
            _st(
                [
                    "{a} and {b} agree to merge in all-stock transaction",
                    "{a}, {b} to combine, creating ${bn} billion group",
                ],
                [
                    "{A} and {B} announced on {day} that they would combine in an all-stock "
                    "merger, creating a company with annual revenue of roughly ${bn} billion.",
                ],
                two=True,
            ),
            _st(
                [
                    "{b} shareholders approve takeover by {a}",
                    "{b} investors back ${bn} billion sale to {a}",
                ],
                [
                    "Shareholders of {B} voted on {day} to approve the company's sale to {A}, "
                    "clearing one of the last hurdles for the ${bn} billion deal.",
                ],
                two=True,
            ),
            _st(
                [
                    "{a} raises offer for {b} to ${px} a share",
                    "{b} rejects {a} takeover approach as undervalued",
                    "{a} weighs bid for {b}, people familiar say",
                ],
                [
                    "{A} raised its takeover offer for {B} on {day} to ${px} per share, after "
                    "the target's board rejected an earlier proposal as too low.",
                    "{A} is exploring a bid for {B}, people familiar with the matter said on "
                    "{day}, in what would be one of the largest deals in the sector this year.",
                ],
                two=True,
            ),
            _st(
                [
                    "{a} completes acquisition of {b}",
                    "Regulators clear {a} purchase of {b} without conditions",
                ],
                [
                    "{A} has completed its acquisition of {B}, the companies said on {day}, "
                    "after antitrust regulators approved the transaction without conditions.",
                ],
                two=True,
            ),
            _st(
                [
                    "{a} sells unit to {b} for ${mn} million",
                    "{a} agrees to divest logistics arm to {b}",
                ],
                [
                    "{A} agreed on {day} to sell its logistics unit to {B} for ${mn} million as "
                    "it narrows its focus on core businesses.",
                ],
                two=True,
            ),
        ),
        neutral=(
            "The offer values the target at about {mult} times its expected earnings for next "
            "year.",
            "The deal is expected to close in the [first|second] half of next year, subject "
            "to regulatory approval and a shareholder vote.",
            "The boards of both companies have unanimously approved the transaction.",
            "The combined company would have more than {n} employees across {k} countries.",
            "The acquirer said it expected annual cost savings of about ${mn} million by the "
            "third year after closing.",
            "Antitrust regulators are likely to scrutinise the merger because of the "
            "companies' overlapping businesses.",
            "The transaction will be financed with a mix of cash on hand and new debt.",
            "Investment banks advising on the deal stand to earn [substantial|sizeable] fees.",
            "Some shareholders have argued that the takeover premium is too low.",
            "A break-up fee of ${mn} million would be payable if the agreement is terminated.",
            "The merger agreement includes a go-shop period during which the target may "
            "solicit rival bids.",
            "Merger arbitrage funds bought the target's shares after the announcement, "
            "narrowing the spread to the offer price.",
            "Deal activity in the sector has picked up this year as borrowing costs eased.",
            "Integration of the two businesses is expected to take about [two|three] years.",
            "The target's shareholders will receive {ratio} shares of the acquirer for each "
            "share they hold.",
            "The offer represents a premium of {pct}% to the volume-weighted average price "
            "over the past month.",
            "The buyer said the acquisition would add to earnings per share within the first "
            "full year.",
            "Proxy advisers are expected to issue recommendations on the deal before the "
            "shareholder meeting.",
            "A tender offer for the remaining shares will begin within ten business days.",
            "Both companies said they would keep their headquarters and existing brands for now.",
            "Some analysts questioned whether the price fully reflected the target's growth "
            "prospects.",
            "The acquisition would be the [largest|second-largest] in the industry this year, "
            "according to deal-tracking data.",
            "Private equity firms had also studied a bid but decided not to compete, [people "
            "close to the process said|according to people briefed on the talks].",
            "Competition authorities in [several|three] jurisdictions must sign off before the "
            "deal can close.",
            "Holders of about {pct2}% of the target's shares have already agreed to tender "
            "their stock.",
            "The takeover would create the biggest player in a fragmented market.",
            "Due diligence was completed over the past [six|eight] weeks.",
            "Unions have asked for guarantees that jobs will be protected after the merger.",
        ),
        about_a=(
            "{A} said the deal would strengthen its position in faster-growing markets.",
            "{A} has made several smaller acquisitions over the past two years.",
            "Shares of {A} fell {pcts}% as investors weighed the cost of the transaction.",
            "{A} said it would fund the purchase partly by issuing new shares.",
            "The chief executive of {A} will lead the combined group.",
        ),
        about_x=(
            "Shares of {X} jumped {pct}% to close near the offer price.",
            "{X} said its board would review the proposal with its financial advisers.",
            "{X} had been seen as a takeover target since its founding family reduced its stake.",
            "{X} last year rejected an approach from a private equity group.",
            "The board of {X} recommended that shareholders accept the offer.",
        ),
    ),
    "technology": _CatText(
        stories=(
            _st(
                [
                    "{a} unveils AI chip aimed at data centers",
                    "{a} AI chip promises {pct}% efficiency gain for data centers",
                    "{a} takes on rivals with new {nm}-nanometer processor",
                ],
                [
                    "{A} on {day} unveiled a new artificial intelligence chip designed for "
                    "data centers, claiming {pct}% better performance per watt than its "
                    "previous generation.",
                ],
            ),
            _st(
                [
                    "{a} to invest ${bn} billion in cloud capacity",
                    "{a} expands data centers as AI demand surges",
                    "{a} lifts data center spending {pct}% as AI demand surges",
                ],
                [
                    "{A} said on {day} it would spend ${bn} billion over five years to expand "
                    "its cloud computing capacity, betting that demand for AI services will "
                    "keep rising.",
                ],
            ),
            _st(
                [
                    "{a} launches software platform for enterprise AI",
                    "{a} rolls out subscription service for developers",
                    "{a} signs up {n} customers for new AI platform",
                ],
                [
                    "{A} launched a software platform on {day} that lets corporate customers "
                    "build and run machine learning models on their own data.",
                    "{A} on {day} introduced a subscription service that gives software "
                    "developers access to its AI models and cloud tools for a monthly fee.",
                ],
            ),
            _st(
                [
                    "{a} hit by cyberattack; some systems offline",
                    "{a} says hackers accessed internal network",
                    "{a} shares fall {pcts}% after cyberattack disrupts systems",
                ],
                [
                    "{A} said on {day} that a cyberattack had disrupted some of its internal "
                    "systems, and that it was working with outside security experts to "
                    "restore services.",
                ],
            ),
            _st(
                [
                    "{a} delays launch of next-generation processor",
                    "{a} pushes back smartphone release amid component shortage",
                    "{a} delays {nm}-nanometer chip, shares slip {pcts}%",
                ],
                [
                    "{A} delayed the launch of its next-generation processor on {day}, citing "
                    "manufacturing problems at its chip supplier.",
                ],
            ),
            _st(
                [
                    "{a} partners with {b} on generative AI tools",
                    "{a} and {b} team up on cloud security software",
                ],
                [
                    "{A} and {B} announced a partnership on {day} to develop generative AI "
                    "tools for enterprise software customers.",
                ],
                two=True,
            ),
        ),
        neutral=(
            "The new chips are built on a {nm}-nanometer process and promise {pct}% better "
            "energy efficiency.",
            "Demand for computing power to train large language models has strained the "
            "supply of high-end processors.",
            "The company said the software would be available to cloud customers starting "
            "[next quarter|early next year].",
            "Spending on research and development rose to ${mn} million, or {pct2}% of revenue.",
            "Engineers have been working on the platform for more than [three|two] years.",
            "The update patches a vulnerability that could let attackers gain access to "
            "customer data.",
            "Enterprise customers are increasingly moving workloads from on-premises servers "
            "to the cloud.",
            "The product will compete with offerings from larger technology companies.",
            "Developers will be able to access the tools through an application programming "
            "interface.",
            "Chipmakers have been racing to add manufacturing capacity as demand for AI "
            "hardware soars.",
            "Analysts said the launch could help the company win back market share in data "
            "center hardware.",
            "Security researchers said the attack appeared to exploit a previously unknown "
            "flaw in widely used software.",
            "The company plans to hire about {n} engineers over the next two years.",
            "Subscription revenue from software and services has become an increasingly "
            "important source of growth.",
            "The system uses machine learning to predict equipment failures before they happen.",
            "Cloud infrastructure spending across the industry is expected to grow {pct}% this "
            "year.",
            "The processor integrates memory and computing cores on a single package to "
            "reduce latency.",
            "Regulators in several countries are drafting rules on how artificial "
            "intelligence systems can be deployed.",
            "Battery life, camera quality and on-device AI features were the focus of the new "
            "product line.",
            "The company said it had filed more than {n} patents related to the technology.",
            "Open-source models have lowered the cost of building AI applications for smaller "
            "firms.",
            "The data center will use liquid cooling to handle the heat from densely packed "
            "[servers|accelerators].",
            "Customers can run the models on their own hardware or rent capacity in the cloud.",
            "The software automatically flags suspicious logins and isolates infected devices.",
            "Demand for memory chips used in AI servers has pushed prices up {pct}% this quarter.",
            "Early customers include banks, hospitals and manufacturers, the company said.",
            "The chip design team has roughly doubled in size since last year.",
            "Industry researchers expect spending on generative AI software to [triple|double] "
            "within three years.",
        ),
        about_a=(
            "{A} said the platform already has more than {n} paying customers.",
            "{A} has been shifting its business toward software and services to reduce its "
            "reliance on hardware.",
            "Shares of {A} rose {pct}% after the announcement.",
            "{A} did not disclose pricing for the new product.",
            "Engineers at {A} designed the chip in-house for the first time.",
        ),
        about_x=(
            "The chips will be manufactured by {X}, which operates advanced fabrication plants.",
            "{X} is also developing similar tools for business customers.",
            "The product will go head to head with offerings from {X}.",
            "{X}, a longtime partner, will supply memory components for the system.",
            "Earlier this year {X} announced a comparable investment in data centers.",
        ),
    ),
    "energy": _CatText(
        stories=(
            _st(
                [
                    "{a} boosts oil output as crude nears ${oil} a barrel",
                    "{a} to raise production by {n} barrels a day",
                ],
                [
                    "{A} said on {day} it would raise crude oil production by {n} barrels a "
                    "day next quarter, taking advantage of higher prices for benchmark crude.",
                ],
            ),
            _st(
                [
                    "{a} to build ${bn} billion offshore wind farm",
                    "{a} bets on wind power with {gw}-gigawatt coastal project",
                ],
                [
                    "{A} plans to invest ${bn} billion in an offshore wind farm that would "
                    "supply power to more than {n} homes, the company said on {day}.",
                ],
            ),
            _st(
                [
                    "{a} cuts refinery runs by {pct}% as fuel margins weaken",
                    "{a} idles refinery unit after diesel margins slump {pct}%",
                ],
                [
                    "{A} said on {day} it had cut processing rates at two of its refineries as "
                    "margins for diesel and gasoline fell to their lowest in a year.",
                ],
            ),
            _st(
                [
                    "{a} targets {pct}% emissions cut by 2035",
                    "{a} plans {gw} gigawatts of solar and battery capacity",
                ],
                [
                    "{A} on {day} announced plans to cut greenhouse gas emissions from its "
                    "operations by {pct}% by 2035 and to stop routine flaring of natural gas.",
                    "{A} said on {day} it would build {k} large solar parks and battery "
                    "storage sites to meet rising demand for electricity from data centers.",
                ],
            ),
            _st(
                [
                    "{a} seeks {pcts}% higher power rates as fuel costs rise",
                    "{a} asks to raise electricity prices by {pcts}%",
                ],
                [
                    "{A} said on {day} that its utility unit would ask regulators to approve "
                    "higher power rates to recover rising fuel costs.",
                ],
            ),
            _st(
                [
                    "{a} signs LNG supply deal with {b}",
                    "{a} to supply natural gas to {b} under long-term contract",
                ],
                [
                    "{A} signed a long-term agreement on {day} to supply liquefied natural gas "
                    "to {B}, with deliveries starting in 2028.",
                ],
                two=True,
            ),
        ),
        neutral=(
            "Benchmark crude futures traded near ${oil} a barrel, up {pcts}% on the week.",
            "Natural gas prices have been volatile as storage levels swing with the weather.",
            "The project will add {gw} gigawatts of generating capacity to the grid.",
            "Refining margins have narrowed as new capacity came online in [Asia|the Middle East].",
            "Utilities are under pressure to replace coal-fired plants with renewable sources.",
            "The company expects the wind farm to begin commercial operation in [2029|2030].",
            "Output from the field is expected to peak at about {n} barrels of oil equivalent "
            "per day.",
            "Battery storage helps smooth out the intermittent supply from solar and wind power.",
            "Power demand from data centers and electric vehicles is forecast to grow sharply "
            "over the next decade.",
            "Producers have been cautious about raising drilling budgets despite higher prices.",
            "The liquefied natural gas will be shipped from a new export terminal.",
            "Transmission bottlenecks have delayed the connection of many renewable projects.",
            "The company said it would capture and store about {n} tons of carbon dioxide a year.",
            "Fuel costs account for roughly {pct2}% of the utility's operating expenses.",
            "Wholesale electricity prices rose after a [heat wave|cold snap] increased demand.",
            "Exploration spending across the industry fell last year as companies prioritised "
            "returns to shareholders.",
            "Hydrogen and biofuels remain a small part of the company's portfolio.",
            "Inventories of crude oil fell by {n} barrels last week, according to industry "
            "estimates.",
            "The pipeline carries natural gas from inland fields to coastal power plants.",
            "The government has offered tax credits for clean energy projects that meet local "
            "content rules.",
            "Gasoline demand typically slows after the summer driving season.",
            "Offshore drilling rigs remain in short supply, pushing up day rates.",
            "Solar panel prices have fallen {pct}% over the past year, making new projects "
            "cheaper to build.",
            "Grid operators warned that reserve margins could be thin during peak winter demand.",
            "The nuclear plant has been offline for maintenance since [the spring|early summer].",
            "Shipping rates for tankers carrying crude and fuel have climbed this month.",
            "Electric utilities are investing heavily in transmission lines and substations.",
            "Carbon prices in emissions trading markets rose to their highest in months.",
        ),
        about_a=(
            "{A} said the investment would be funded from operating cash flow.",
            "{A} has pledged to reach net-zero emissions by 2050.",
            "Shares of {A} rose {pcts}% in line with higher oil prices.",
            "{A} operates more than {k} power plants and a network of gas pipelines.",
            "{A} expects its renewable capacity to double by the end of the decade.",
        ),
        about_x=(
            "{X}, which operates the neighbouring field, is also expanding production.",
            "Turbines for the project will be supplied by {X}.",
            "{X} will buy a portion of the electricity under a fifteen-year power purchase "
            "agreement.",
            "The plan mirrors a similar strategy announced by {X} last year.",
            "{X} holds a {pct}% stake in the project.",
        ),
    ),
    "markets": _CatText(
        stories=(
            _st(
                [
                    "Stocks slip as bond yields climb; {a} falls {pct}%",
                    "{a} among biggest decliners in broad sell-off, down {pct}%",
                    "Volatility returns to equities as {a} drops {pct}%",
                ],
                [
                    "Shares of {A} fell {pct}% on {day} as rising government bond yields "
                    "prompted investors to sell richly valued stocks, dragging the benchmark "
                    "index lower.",
                    "{A} was among the biggest decliners on {day} as a broad sell-off hit "
                    "technology and industrial stocks.",
                ],
            ),
            _st(
                [
                    "Shares of {a} lead gains as index hits record",
                    "{a} rallies {pct}% as investors bet on rate cuts",
                    "Investors pile into {a} as rally broadens",
                ],
                [
                    "Stocks rallied on {day}, with {A} leading the gains after investors "
                    "welcomed signs that inflation is cooling.",
                    "The main stock index closed at a record high on {day}, helped by a {pct}% "
                    "jump in shares of {A}.",
                ],
            ),
            _st(
                [
                    "{a} shares tumble {pct}% after downgrade to sell",
                    "{a} slides {pct}% as brokerage questions valuation",
                ],
                [
                    "{A} shares dropped {pct}% on {day} after a brokerage downgraded the stock "
                    "to sell, citing stretched valuations.",
                ],
            ),
            _st(
                [
                    "{a} rises {pct}% after analysts upgrade stock to buy",
                    "{a} stock jumps on upgrade, price target raised to ${px}",
                ],
                [
                    "Shares of {A} rose {pct}% on {day} after analysts upgraded the stock to "
                    "buy and raised their price target to ${px}.",
                ],
            ),
            _st(
                [
                    "Weaker yen lifts exporters such as {a}, up {pct}%",
                    "Strong dollar weighs on {a} and other multinationals",
                ],
                [
                    "Currency moves drove trading on {day}, and {A} swung by as much as "
                    "{pct}% as investors reassessed the value of its overseas earnings.",
                ],
            ),
            _st(
                [
                    "{a} and {b} diverge as investors rotate out of growth stocks",
                    "{a} gains, {b} slips {pcts}% in choppy trading",
                ],
                [
                    "Shares of {A} rose on {day} while {B} fell {pcts}%, as investors moved "
                    "money out of growth stocks and into cheaper, dividend-paying companies.",
                ],
                two=True,
            ),
        ),
        neutral=(
            "The benchmark index fell {pcts}%, its steepest one-day decline in a month.",
            "Trading volume was about {pct}% above the 30-day average.",
            "The yield on the ten-year government bond rose {bp} basis points to {yld}%.",
            "Investors are watching for inflation data due later in the week.",
            "The dollar strengthened against most major currencies.",
            "Futures markets are pricing in at least one interest rate cut by the middle of "
            "next year.",
            "A measure of expected stock market volatility climbed to its highest level since "
            "the spring.",
            "Foreign investors were net sellers of local equities for a [fifth|fourth] straight "
            "session.",
            "Defensive sectors such as utilities and consumer staples held up better than the "
            "broader market.",
            "Credit spreads on corporate bonds widened slightly as risk appetite faded.",
            "Strategists said valuations looked stretched after a strong run for equities this "
            "year.",
            "Gold prices rose as investors sought safe-haven assets.",
            "The small-cap index underperformed, falling {pct}% over the week.",
            "Hedge funds have been adding to short positions in cyclical stocks, according to "
            "brokerage data.",
            "Market breadth was negative, with decliners outnumbering advancers by about two "
            "to one.",
            "Short-term traders took profits after the index rallied for [seven|six] sessions "
            "in a row.",
            "Currency traders are betting that the gap between interest rates in major "
            "economies will narrow.",
            "Exchange-traded funds tracking the index saw inflows of ${bn} billion last week.",
            "Equity markets in the region were mixed, with some indexes edging higher.",
            "Analysts cautioned that thin holiday trading could exaggerate price moves.",
            "Bond investors are weighing the risk that inflation stays higher for longer.",
            "Retail investors have been active buyers of individual stocks this year.",
            "The index is up {pct}% so far this year, on track for its best annual gain in "
            "[three|four] years.",
            "Stock index futures pointed to a [firmer|softer] open for the next session.",
            "Rising yields make bonds more attractive relative to stocks, strategists noted.",
            "Sector rotation has favoured value stocks over growth names in recent weeks.",
            "The central bank's next policy meeting is seen as a key test for markets.",
            "Investors cut exposure to equities ahead of a heavy week of corporate results.",
        ),
        about_a=(
            "{A} has gained {pct}% so far this year, outperforming the index.",
            "{A} trades at about {mult} times forward earnings.",
            "Options activity in {A} surged, with traders buying protection against further "
            "declines.",
            "{A} is one of the most heavily weighted stocks in the benchmark index.",
            "Analysts at one brokerage raised their price target on {A} to ${px}.",
        ),
        about_x=(
            "{X} also fell, losing {pcts}%.",
            "Shares of {X} rose {pcts}% after the company announced a buyback.",
            "{X} bucked the trend and closed higher.",
            "Among other movers, {X} dropped {pcts}% after a profit warning.",
            "{X} hit a 52-week high during the session.",
        ),
    ),
    "labor": _CatText(
        stories=(
            _st(
                [
                    "{a} workers vote to strike over pay",
                    "{n} workers at {a} vote to strike over pay",
                    "Union at {a} rejects contract offer, plans walkout",
                    "{a} employees walk out at {k} plants",
                ],
                [
                    "Workers at {A} voted on {day} to go on strike after talks on a new labor "
                    "contract broke down over wages and pensions, the union said.",
                    "Employees at {k} plants operated by {A} walked off the job on {day}, "
                    "halting production as the union pressed for higher pay and limits on "
                    "overtime.",
                ],
            ),
            _st(
                [
                    "{a} to cut {n} jobs in restructuring",
                    "{a} offers voluntary buyouts to reduce headcount",
                ],
                [
                    "{A} said on {day} it would cut about {n} jobs, or {pcts}% of its "
                    "workforce, as part of a restructuring aimed at lowering costs.",
                    "{A} offered voluntary buyout packages to employees on {day} as it seeks "
                    "to reduce headcount by about {n} without layoffs.",
                ],
            ),
            _st(
                [
                    "{a} reaches wage deal with union covering {n} workers",
                    "{a} agrees to {pcts}% annual pay rise for factory workers",
                ],
                [
                    "{A} reached a tentative agreement with its largest union on {day}, "
                    "offering a {pcts}% wage increase in each of the next three years.",
                ],
            ),
            _st(
                [
                    "{a} raises starting pay to ${wage} an hour",
                    "{a} plans to hire {n} workers as demand grows",
                ],
                [
                    "{A} said on {day} it would raise starting pay for warehouse and store "
                    "employees to ${wage} an hour to compete for scarce workers.",
                    "{A} plans to hire {n} people over the next year to staff new facilities, "
                    "the company said on {day}.",
                ],
            ),
            _st(
                [
                    "{a} tests four-day week for {n} office staff",
                    "{a} orders staff back to office three days a week",
                ],
                [
                    "{A} said on {day} it would let about {n} office employees try a four-day "
                    "working week for six months without a cut in pay.",
                    "{A} told employees on {day} that they must work from the office at least "
                    "three days a week starting next year, angering some staff.",
                ],
            ),
            _st(
                [
                    "{a} workers demand pay parity with {b}",
                    "Union presses {a} to match wages at {b}",
                ],
                [
                    "Workers at {A} demanded on {day} to be paid on par with employees at {B}, "
                    "whose union won a {pcts}% raise earlier this year.",
                ],
                two=True,
            ),
        ),
        neutral=(
            "The union represents about {n} workers at the company's factories and "
            "distribution centers.",
            "Negotiators have been meeting for weeks to discuss wages, health benefits and job "
            "security.",
            "Labor shortages have pushed up wages in manufacturing, logistics and retail.",
            "The job cuts will mainly affect administrative and middle-management positions.",
            "Union leaders said members were frustrated that pay had not kept up with inflation.",
            "The company said severance packages would include up to a year of salary.",
            "Collective bargaining agreements in the industry typically run for [three|four] "
            "years.",
            "Strikes have become more frequent as workers push for a larger share of "
            "corporate profits.",
            "The unemployment rate has remained low, giving employees more bargaining power.",
            "Employees will be offered retraining programs and help finding new positions.",
            "Overtime rules and scheduling have been a major point of contention in the talks.",
            "The walkout could cost the company about ${mn} million a week in lost "
            "production, analysts estimated.",
            "Average hourly earnings rose {pcts}% from a year earlier, according to the latest "
            "data.",
            "Management said the restructuring would save about ${mn} million a year.",
            "Some workers said they were worried about automation replacing their jobs.",
            "Pension contributions and retiree health care were among the unresolved issues.",
            "The agreement must be ratified by union members in a vote expected [next "
            "week|later this month].",
            "Remote and hybrid work arrangements remain a sensitive topic for office staff.",
            "Hiring has slowed across the sector as companies focus on productivity.",
            "Temporary and contract workers are not covered by the current agreement.",
            "Picket lines formed outside [the main plant|several warehouses] early in the morning.",
            "The union's strike fund can pay members about ${wage2} a week while they are off "
            "the job.",
            "Job openings in the industry have fallen {pct}% from their peak.",
            "The company said it would continue to pay health insurance premiums for laid-off "
            "staff for six months.",
            "Staff turnover has fallen since the company raised wages last year.",
            "Negotiations will resume [next week|on Monday] with the help of a federal mediator.",
            "Younger workers have been joining unions in greater numbers than in past decades.",
            "Wage growth has outpaced inflation for several months, easing pressure on "
            "household budgets.",
        ),
        about_a=(
            "{A} employs about {n} people worldwide.",
            "{A} said it remained committed to reaching a fair agreement with its employees.",
            "A spokesperson for {A} said contingency plans were in place to keep serving "
            "customers during the strike.",
            "{A} cut about {n} positions last year as well.",
            "Shares of {A} slipped {pcts}% after the announcement.",
        ),
        about_x=(
            "Workers at {X} secured a similar deal earlier this year.",
            "{X} has also announced job cuts in recent months.",
            "The union is in separate negotiations with {X}.",
            "Staff at {X} rejected a comparable offer last month.",
            "{X} raised wages for its hourly workers in the spring.",
        ),
    ),
}

# Sentences that could appear in any business story; they dilute the category signal the
# way real wire copy does, so classification is not trivial.
_EN_FILLER: tuple[str, ...] = (
    "The broader economy has shown mixed signals in recent months, with consumer spending "
    "holding up while business investment slowed.",
    "Executives across industries have been cautious in their outlooks, citing uncertain "
    "demand and high borrowing costs.",
    "The developments come at a time of heightened uncertainty for companies that rely on "
    "global supply chains.",
    "Economists expect growth to moderate next year as higher interest rates work their way "
    "through the economy.",
    "Several industry groups have called for clearer rules to support long-term investment.",
    "Company filings show that capital expenditure plans for next year remain largely unchanged.",
    "Investors will get more detail when the company holds its investor day [early next "
    "year|in the spring].",
    "Analysts said the coming weeks would show whether the trend holds.",
    "Trade tensions and shifting tariffs have complicated planning for many manufacturers.",
    "Consumer confidence edged lower last month, according to a [survey|closely watched survey].",
    "The full impact on earnings may not become clear for several quarters.",
    "People familiar with the company's plans said further announcements were possible "
    "before the end of the year.",
    "Industry data released this week suggested that activity was stabilising after a weak summer.",
    "Some analysts remain skeptical, noting that similar efforts in the past produced mixed "
    "results.",
    "Higher financing costs have made investors more selective about which projects they back.",
    "The outlook also depends on how quickly inventories across the supply chain return to "
    "normal levels.",
    "Inflation has eased from its peak but remains above the level many policymakers "
    "consider comfortable.",
    "Executives said they were monitoring the situation closely and would adjust plans if "
    "conditions change.",
    "A company representative said more information would be shared in the coming weeks.",
    "Business surveys point to modest growth in orders heading into the new year.",
    "Rating agencies have kept a stable outlook on most companies in the sector.",
    "Rising costs for insurance, rent and logistics have eaten into profits across the industry.",
    "The company has said it aims to keep its investment-grade credit rating.",
    "Smaller competitors have struggled to keep pace with the investment required.",
)

_EN_CLOSING: tuple[str, ...] = (
    "Further details are expected to be disclosed in regulatory filings.",
    "A decision is expected before the end of the year.",
    "Representatives for the company did not respond to a request for further comment.",
    "Analysts will be watching for an update at the company's annual meeting.",
    "The company is due to give its next business update in [January|February].",
    "The company said it would provide more information when it reports results.",
)

_EN_TAIL: tuple[str, ...] = (
    "Elsewhere in the sector, {X} said on {day} that it was reviewing its own plans in light "
    "of the developments.",
    "Separately, shares of {X} rose {pcts}% after the company reported better-than-expected "
    "orders.",
    "The move is likely to put pressure on {X}, which competes in several of the same markets.",
    "Analysts said {X} could be among the companies most affected by the shift.",
    "{X} is expected to provide its own update later this month.",
    "Industry observers noted that {X} took a similar step two years ago.",
    "Investors will also be watching {X}, which has been expanding in the same business.",
)

_JA: dict[str, _CatText] = {
    "earnings": _CatText(
        stories=(
            _st(
                ["{a}、{q}純利益{pct}%増 主力製品が好調", "{a}の{q}決算、営業益が市場予想上回る"],
                [
                    "{A}は{dom}日、{q}の連結純利益が前年同期比{pct}%増の{oku}億円になったと"
                    "発表した。主力製品の販売が好調だった。",
                ],
            ),
            _st(
                [
                    "{a}、通期予想を上方修正 売上高{oku}億円に",
                    "{a}が業績見通し引き上げ 受注が想定超え",
                ],
                [
                    "{A}は{dom}日、今期の連結業績予想を上方修正した。売上高は従来予想を"
                    "{oku2}億円上回る{oku}億円を見込む。",
                ],
            ),
            _st(
                ["{a}、{q}は営業赤字 原材料高が重荷", "{a}の決算、市場予想届かず 株価{pct}%安"],
                [
                    "{A}が{dom}日発表した{q}決算は、営業損益が{oku}億円の赤字となった。"
                    "原材料価格の高騰と需要の減速が利益を圧迫した。",
                ],
            ),
            _st(
                [
                    "{a}が業績予想を下方修正 営業益{pct}%減に",
                    "{a}、今期見通し引き下げ 海外需要が減速",
                ],
                [
                    "{A}は{dom}日、今期の業績予想を下方修正した。海外での需要減速を理由に、"
                    "営業利益は前期比{pct}%減を見込む。",
                ],
            ),
            _st(
                ["{a}、{yen2}円の増配を発表 売上高が過去最高"],
                [
                    "{A}は{dom}日、年間配当を前期比{yen2}円増やすと発表した。{q}の売上高が"
                    "過去最高を更新したことを受けた。",
                ],
            ),
            _st(
                ["{a}が増益 {b}向けの受注拡大", "{a}、営業益{pct}%増 {b}との取引が寄与"],
                [
                    "{A}は{dom}日、{q}の営業利益が前年同期比{pct}%増えたと発表した。"
                    "最大の顧客である{B}向けの受注が拡大した。",
                ],
                two=True,
            ),
        ),
        neutral=(
            "売上高は前年同期比{pct}%増の{oku}億円だった。",
            "本業のもうけを示す営業利益は{oku}億円と、[市場予想|アナリストの予想平均]を上回った。",
            "アナリストの事前予想の平均は{oku}億円だった。",
            "為替の円安が海外売上高を押し上げた。",
            "原材料費や物流費の上昇が利益率を押し下げた。",
            "同社は[自社株買い|増配]の実施も併せて発表した。",
            "決算説明会で経営陣は、下期の受注回復に自信を示した。",
            "営業利益率は{pct2}%と、前年同期から改善した。",
            "通期の売上高見通しは据え置いた。",
            "1株当たり利益は{yen2}円となった。",
            "前期に実施したコスト削減の効果が{oku}億円程度、利益を押し上げた。",
            "在庫水準は[3|4]四半期連続で減少した。",
            "証券各社は決算発表後、目標株価を相次いで引き上げた。",
            "市場では、価格転嫁が想定以上に進んだとの見方が出ている。",
            "サービス部門の収益がハードウェア販売の伸びを上回った。",
            "純利益は特別損失の計上で{oku2}億円押し下げられた。",
            "海外売上高比率は{pct2}%に高まった。",
            "[設備投資|研究開発費]は前年同期並みの水準を維持した。",
            "会社側は下期の想定為替レートを1ドル=[145|140|150]円に見直した。",
            "受注残高は過去最高の水準にある。",
            "主力の産業機械部門では、北米と東南アジア向けの出荷が前年を大きく上回った。",
            "一方、国内の消費者向け製品は値上げの影響で販売数量が[伸び悩んだ|減少した]。",
            "同社は今期、総額{oku2}億円を上限とする自社株買いを実施する方針も示した。",
            "[証券アナリスト|市場関係者]の間では、来期も2桁の増益が続くとの見方が多い。",
            "前年同期に計上した工場閉鎖に伴う損失がなくなったことも、利益を押し上げた。",
            "会社側は中期経営計画で掲げた営業利益率{pct2}%の目標を据え置いた。",
            "販売価格の引き上げが浸透し、原材料高による減益要因を吸収した。",
            "通期の純利益は前期比{pct}%増の{oku}億円と、過去最高を見込む。",
            "決算発表を受けて、同社株には[翌日|週明け]以降も買いが続くとの見方がある。",
            "四半期ベースでは[2|3]期ぶりの増収増益となった。",
            "為替が1円円高に振れると、年間の営業利益が約{oku2}億円減る計算だという。",
            "配当性向は{pct2}%を目安とし、安定的な株主還元を続ける考えを示した。",
        ),
        about_a=(
            "{A}の株価は年初から{pct}%上昇している。",
            "{A}は下期に需要が緩やかに回復するとみている。",
            "{A}の広報担当者は、業績予想以外の見通しについてコメントを控えた。",
            "{A}は来月、統合報告書を公表する予定だ。",
        ),
        about_x=(
            "競合の{X}も今月、同様の傾向を報告している。",
            "{X}は先週、業績予想を引き下げたばかりだ。",
            "主要顧客である{X}も設備投資に慎重な姿勢を示している。",
            "{X}は来週、決算を発表する予定だ。",
        ),
    ),
    "mergers": _CatText(
        stories=(
            _st(
                ["{a}、{b}を{oku}億円で買収へ", "{a}が{b}買収で合意 TOBで全株取得"],
                [
                    "{A}は{dom}日、{B}を約{oku}億円で買収すると発表した。TOB(株式公開買い付け)"
                    "を通じて全株式の取得を目指す。",
                ],
                two=True,
            ),
            _st(
                ["{a}と{b}が経営統合で合意", "{a}と{b}、{yr}年に持ち株会社設立へ"],
                [
                    "{A}と{B}は{dom}日、{yr}年4月をめどに経営統合することで基本合意したと発表"
                    "した。共同持ち株会社を設立し、両社はその傘下に入る。",
                ],
                two=True,
            ),
            _st(
                ["{b}の株主総会、{a}による買収を承認", "{b}株主、{a}への売却案に賛成"],
                [
                    "{B}は{dom}日に臨時株主総会を開き、{A}による買収案を賛成多数で承認した。"
                    "買収総額は約{oku}億円となる。",
                ],
                two=True,
            ),
            _st(
                ["{a}が{b}へのTOB価格を{yen}円に引き上げ", "{b}、{a}の買収提案に反対表明"],
                [
                    "{A}は{dom}日、{B}に対するTOB価格を1株{yen}円に引き上げると発表した。"
                    "{B}の取締役会は当初の提案を不十分として反対していた。",
                ],
                two=True,
            ),
            _st(
                ["{a}、物流子会社を{b}に売却", "{a}が事業部門を{b}に{oku}億円で譲渡"],
                [
                    "{A}は{dom}日、物流子会社を{B}に{oku}億円で売却すると発表した。"
                    "中核事業に経営資源を集中する。",
                ],
                two=True,
            ),
        ),
        neutral=(
            "買収価格は直近の株価に約{pct}%のプレミアムを上乗せした水準となる。",
            "両社の取締役会は全会一致で[統合|買収]を承認した。",
            "取引は規制当局の承認を経て、[来年前半|来年度中]に完了する見通し。",
            "統合後の売上高は合計で約{oku}億円となり、業界上位に浮上する。",
            "買収資金は手元資金と銀行借り入れで賄う。",
            "競争当局による審査が焦点となる。",
            "統合によるコスト削減効果は年間{oku2}億円を見込む。",
            "一部の株主からは、買収価格が低すぎるとの声が上がっている。",
            "TOBの期間は{k2}営業日を予定している。",
            "統合後も当面は両社のブランドを維持する方針だ。",
            "業界では再編の動きが相次いでいる。",
            "買収は1株当たり利益の押し上げにつながると説明した。",
            "議決権行使助言会社の推奨内容にも注目が集まる。",
            "契約解除の場合には違約金が発生する条項が盛り込まれた。",
            "買収後は上場廃止となる見通しだ。",
            "従業員の雇用は維持すると説明している。",
            "[投資ファンド|同業他社]も買収を検討したが、最終的に見送ったという。",
            "買収監査(デューデリジェンス)は約[2|3]カ月かけて実施した。",
            "統合の効果が表れるまでには数年かかるとの見方もある。",
            "株式交換比率は1対{ratio}とする。",
            "買収が成立すれば、国内の同分野で[首位|2位]の企業グループが誕生する。",
            "両社は重複する拠点や物流網を統合し、効率化を進める計画だ。",
            "統合比率の算定には、外部の第三者機関による株式価値の評価を用いた。",
            "買収に反対する株主が一定数に達した場合、計画が見直される可能性もある。",
            "両社の販売網を生かし、海外市場での事業拡大を目指す。",
            "発表を受けて、同業他社の株価にも再編への思惑から買いが入った。",
            "買収後の経営体制については、今後両社で協議して決める。",
            "今回の買収は、同社にとって過去最大の案件となる。",
            "TOBには最大で{oku}億円を投じる計画で、銀行から融資を受ける。",
            "株主の間では、提示された価格が妥当かどうかを巡って意見が分かれている。",
            "海外の投資ファンドが対抗提案を検討しているとの観測も出ている。",
            "統合新会社の本社は[東京都内|大阪市内]に置く予定だ。",
        ),
        about_a=(
            "{A}はここ数年、中小規模の買収を重ねてきた。",
            "{A}の株価は取引コストへの懸念から{pcts}%下落した。",
            "{A}の社長が統合後の新会社のトップに就く。",
            "{A}は今回の買収で成長分野での地位を強化するとしている。",
        ),
        about_x=(
            "{X}の株価は買収価格に近い水準まで急伸した。",
            "{X}は財務アドバイザーとともに提案を精査するとしている。",
            "{X}の取締役会は株主に対しTOBへの応募を推奨した。",
            "{X}は昨年、投資ファンドからの買収提案を拒否していた。",
        ),
    ),
    "technology": _CatText(
        stories=(
            _st(
                [
                    "{a}、データセンター向けAI半導体を発表",
                    "{a}が新型プロセッサー 消費電力{pct}%削減",
                    "{a}、{nm}ナノ世代のAI半導体 性能{pct}%向上",
                ],
                [
                    "{A}は{dom}日、データセンター向けの人工知能(AI)半導体を開発したと発表"
                    "した。消費電力を従来品より{pct}%抑えたという。",
                ],
            ),
            _st(
                ["{a}がクラウド基盤に{oku}億円投資", "{a}、生成AI需要にらみデータセンター増強"],
                [
                    "{A}は{dom}日、今後5年間でクラウド基盤に約{oku}億円を投資すると発表した。"
                    "生成AI需要の拡大に対応する。",
                ],
            ),
            _st(
                [
                    "{a}、サイバー攻撃で一部システム停止",
                    "{a}に不正アクセス 顧客情報流出の恐れ",
                    "{a}株が{pcts}%安 サイバー攻撃で一部システム停止",
                ],
                [
                    "{A}は{dom}日、外部からのサイバー攻撃を受け、社内システムの一部が停止した"
                    "と明らかにした。復旧を急いでいる。",
                ],
            ),
            _st(
                [
                    "{a}、次世代プロセッサーの投入を延期",
                    "{a}が新型スマホの発売延期 部品不足で",
                    "{a}、次世代品の投入延期 株価{pcts}%下落",
                ],
                [
                    "{A}は{dom}日、次世代プロセッサーの発売を延期すると発表した。製造委託先"
                    "での歩留まりの問題が原因という。",
                ],
            ),
            _st(
                [
                    "{a}が企業向けAIプラットフォームを開始",
                    "{a}、開発者向けに月額制サービス",
                    "{a}のAI基盤、導入企業{n}社に",
                ],
                [
                    "{A}は{dom}日、企業が自社データで機械学習モデルを構築・運用できる"
                    "プラットフォームの提供を始めた。",
                ],
            ),
            _st(
                ["{a}と{b}、生成AIで提携", "{a}が{b}とクラウドセキュリティーで協業"],
                [
                    "{A}と{B}は{dom}日、企業向けの生成AIツールを共同開発することで提携した"
                    "と発表した。",
                ],
                two=True,
            ),
        ),
        neutral=(
            "新製品は{nm}ナノメートル世代の製造技術を採用した。",
            "大規模言語モデルの学習に必要な計算資源の需要が急増している。",
            "研究開発費は{oku}億円と、売上高の{pct2}%に達した。",
            "企業の間では、自社サーバーからクラウドへの移行が進んでいる。",
            "新サービスは[来四半期|来年初め]から法人顧客向けに提供を始める。",
            "開発者はAPIを通じて機能を利用できる。",
            "セキュリティーの専門家は、未知の脆弱性が悪用された可能性を指摘している。",
            "半導体各社はAI向けの生産能力の増強を急いでいる。",
            "ソフトウェアとサービスの売上高比率が年々高まっている。",
            "同社は今後2年間で技術者を{n}人採用する計画だ。",
            "機械学習を使って設備の故障を事前に予測する仕組みを導入した。",
            "各国でAIの利用に関するルール作りが進んでいる。",
            "関連する特許を{n}件以上出願したという。",
            "オープンソースのモデルの普及で、AI開発のコストは下がりつつある。",
            "データセンターでは高密度のサーバーを冷やす液冷方式を採用する。",
            "AIサーバー向けのメモリー価格は今四半期に{pct}%上昇した。",
            "初期の顧客には金融機関や病院、製造業が含まれるという。",
            "生成AI関連のソフトウェア支出は[3年|数年]で倍増するとの予測がある。",
            "不審なログインを自動で検知し、感染した端末を隔離する機能を備える。",
            "半導体の設計チームは昨年から約2倍の規模に拡大した。",
            "新しいチップは学習と推論の両方に対応し、サーバー1台あたりの処理能力を高めた。",
            "クラウド事業の売上高は前年同期比{pct}%増と、全社の伸びを大きく上回った。",
            "顧客企業は自社のデータを外部に出さずにAIを活用できる点を評価しているという。",
            "攻撃を受けたサーバーからは、取引先の情報が外部に送信された形跡があるという。",
            "同社は専門チームを立ち上げ、被害の範囲や原因の調査を進めている。",
            "スマートフォン向けの画像処理技術も新製品に[応用する|組み込む]計画だ。",
            "ソフトウェア開発者向けの支援制度を設け、利用企業の拡大を図る。",
            "次世代の通信規格に対応した製品の開発も並行して進めている。",
            "データセンターの建設には大量の電力と冷却設備が必要となる。",
            "AIを使った設計支援ツールで、開発期間を約[3割|4割]短縮できるという。",
            "生産は海外の受託製造会社に委託し、量産は来年後半を予定している。",
            "競合各社も相次いで同様のサービスを発表しており、価格競争が激しくなっている。",
        ),
        about_a=(
            "{A}は自社開発の半導体を初めて製品に搭載した。",
            "{A}の株価は発表後に{pct}%上昇した。",
            "{A}は新製品の価格を明らかにしていない。",
            "{A}はハードウェア依存からの脱却を進めている。",
        ),
        about_x=(
            "半導体の製造は{X}が受託する。",
            "{X}も同様のツールの開発を進めている。",
            "新製品は{X}の製品と競合する見通しだ。",
            "メモリー部品は長年の取引先である{X}が供給する。",
        ),
    ),
    "energy": _CatText(
        stories=(
            _st(
                ["{a}、洋上風力発電に{oku}億円投資", "{a}が洋上風力に参入 {n}世帯分の電力"],
                [
                    "{A}は{dom}日、洋上風力発電所の建設に約{oku}億円を投じると発表した。"
                    "約{n}世帯分の電力を賄える規模となる。",
                ],
            ),
            _st(
                [
                    "{a}が電気料金を{pcts}%値上げ 燃料費の上昇で",
                    "{a}、家庭向け電気料金の改定を申請",
                ],
                [
                    "{A}は{dom}日、家庭向け電気料金を平均{pcts}%引き上げると発表した。"
                    "液化天然ガス(LNG)などの燃料費上昇を反映する。",
                ],
            ),
            _st(
                [
                    "{a}、原子力発電所の再稼働を申請",
                    "{a}が原発再稼働へ審査申請 {yr}年度の運転目指す",
                ],
                [
                    "{A}は{dom}日、停止中の原子力発電所の再稼働に向けて審査を申請したと明らかに"
                    "した。{yr}年度中の運転再開を目指す。",
                ],
            ),
            _st(
                ["{a}、2035年までにCO2排出{pct}%削減目標", "{a}が太陽光と蓄電池に{oku}億円投資"],
                [
                    "{A}は{dom}日、2035年までに事業活動に伴う二酸化炭素の排出量を{pct}%"
                    "削減する目標を公表した。",
                    "{A}は{dom}日、太陽光発電所と大型蓄電池の整備に約{oku}億円を投じると発表した。",
                ],
            ),
            _st(
                ["{a}、{b}とLNG長期契約を締結", "{a}が{b}から年{mt}万トンのLNG調達"],
                [
                    "{A}は{dom}日、{B}との間でLNGの長期供給契約を結んだと発表した。2028年から"
                    "年間{mt}万トンを調達する。",
                ],
                two=True,
            ),
        ),
        neutral=(
            "原油価格は1バレル{oil}ドル前後で推移している。",
            "天然ガスの価格は気温の変動に伴って大きく振れている。",
            "新設する発電所の出力は約{mw}万キロワットとなる。",
            "データセンターや電気自動車の普及で、電力需要は今後大きく伸びる見通しだ。",
            "再生可能エネルギーの導入拡大には送電網の増強が欠かせない。",
            "蓄電池は太陽光や風力の出力変動をならす役割を担う。",
            "燃料費は営業費用の約{pct2}%を占める。",
            "石炭火力発電所の段階的な廃止が求められている。",
            "水素やアンモニアの活用に向けた実証も進めている。",
            "卸電力市場の価格は[猛暑|寒波]による需要増で上昇した。",
            "製油所の精製マージンはアジアでの能力増強で縮小している。",
            "政府は脱炭素投資を後押しする補助金制度を設けている。",
            "発電所は[2029|2030]年の商業運転開始を目指す。",
            "二酸化炭素を回収・貯留する技術の導入も検討している。",
            "太陽光パネルの価格はこの1年で{pct}%下落した。",
            "冬の需要期には電力供給の予備率が低下する恐れがある。",
            "原油タンカーの運賃は今月に入って上昇している。",
            "排出量取引市場の炭素価格は数カ月ぶりの高値をつけた。",
            "送電線や変電所への投資が膨らんでいる。",
            "ガソリン需要は夏の行楽シーズン後に落ち着く傾向がある。",
            "洋上風力の建設では、大型の設置船や港湾設備の確保が課題となっている。",
            "液化天然ガスの調達先を多様化し、供給途絶のリスクを下げる狙いがある。",
            "電気料金の値上げは、家計や中小企業の負担増につながる。",
            "再生可能エネルギーの出力制御が増え、発電事業者の収益を圧迫している。",
            "原子力発電所の再稼働には、地元自治体の同意も必要となる。",
            "石油元売り各社は製油所の統廃合を進め、精製能力の削減を急いでいる。",
            "系統用蓄電池の導入に向けた投資が各地で相次いでいる。",
            "燃料価格の変動を電気料金に反映する仕組みの見直しも議論されている。",
            "天然ガスの在庫は平年を[上回る|下回る]水準で推移している。",
            "産業用の電力需要は、半導体工場やデータセンターの新設で増加が見込まれる。",
            "発電所の建設費は資材高や人手不足で当初計画より膨らんでいる。",
            "脱炭素に向けた投資額は、今後10年間で累計{oku}億円規模に達する見通しだ。",
        ),
        about_a=(
            "{A}は2050年までに温暖化ガス排出量を実質ゼロにする目標を掲げている。",
            "{A}は投資資金を営業キャッシュフローで賄うとしている。",
            "{A}の株価は原油高を受けて{pcts}%上昇した。",
            "{A}は再生可能エネルギーの発電容量を2030年までに倍増させる計画だ。",
        ),
        about_x=(
            "風車は{X}が供給する。",
            "{X}も近隣の海域で同様の計画を進めている。",
            "発電した電力の一部は{X}が長期契約で購入する。",
            "{X}が事業に{pct}%出資する。",
        ),
    ),
    "markets": _CatText(
        stories=(
            _st(
                ["株式相場が反落、{a}が{pct}%安", "長期金利上昇で株安 {a}など下げ目立つ"],
                [
                    "{dom}日の株式市場で{A}の株価が{pct}%下落した。長期金利の上昇を受け、"
                    "割高感のある銘柄に売りが広がった。",
                ],
            ),
            _st(
                ["{a}株が急伸 株価指数は最高値を更新", "株式相場が大幅反発 {a}が{pct}%高"],
                [
                    "{dom}日の株式市場で主要株価指数が最高値を更新した。{A}が{pct}%上昇し、"
                    "指数を押し上げた。",
                ],
            ),
            _st(
                ["{a}、投資判断引き下げで株価急落", "{a}株が{pct}%安 割高感を指摘"],
                [
                    "{A}の株価は{dom}日、証券会社が投資判断を引き下げたことを受けて{pct}%"
                    "急落した。",
                ],
            ),
            _st(
                ["円安で輸出株に買い、{a}が上昇", "{a}株が{pct}%高 円安が追い風"],
                [
                    "外国為替市場で円安が進んだ{dom}日、{A}など輸出関連株に買いが集まった。"
                    "{A}の株価は一時{pct}%上昇した。",
                ],
            ),
            _st(
                ["{a}と{b}の株価明暗 投資家が銘柄選別", "{a}上昇、{b}は{pcts}%安"],
                [
                    "{dom}日の株式市場では{A}が上昇する一方、{B}は{pcts}%下落し、明暗が分かれた。",
                ],
                two=True,
            ),
        ),
        neutral=(
            "主要株価指数は{pcts}%下落し、1カ月ぶりの下げ幅となった。",
            "売買代金は30日平均を約{pct}%上回った。",
            "10年物国債の利回りは{bp}ベーシスポイント上昇した。",
            "投資家は週後半に発表される物価統計に注目している。",
            "先物市場では、来年半ばまでの利下げを織り込む動きが出ている。",
            "海外投資家は[5|4]営業日連続で日本株を売り越した。",
            "電力やガスなどのディフェンシブ銘柄は底堅く推移した。",
            "値下がり銘柄数が値上がり銘柄数を大きく上回った。",
            "市場関係者の間では、株価の割高感を指摘する声が多い。",
            "金価格は安全資産としての需要から上昇した。",
            "ドルは主要通貨に対して上昇した。",
            "短期筋の利益確定売りが相場の重荷となった。",
            "上場投資信託(ETF)には先週、{oku}億円の資金が流入した。",
            "予想変動率を示す指数は春以来の高水準に上昇した。",
            "株価指数は年初から{pct}%上昇している。",
            "個人投資家による個別株の売買が活発になっている。",
            "金利上昇で債券の相対的な魅力が高まっているとの指摘がある。",
            "ここ数週間は成長株から割安株への資金シフトが目立つ。",
            "次回の金融政策決定会合が相場の焦点となる。",
            "決算発表の本格化を前に、持ち高を減らす動きが出た。",
            "[プライム|スタンダード]市場では、値上がり銘柄が全体の約{pct2}%にとどまった。",
            "半導体関連株が軟調に推移し、相場全体の重荷となった。",
            "銀行株は長期金利の上昇を追い風に買われた。",
            "円相場は1ドル=[148|150|152]円台で推移し、輸出関連株の支えとなった。",
            "海外市場で株価が大きく下げた流れを引き継ぎ、朝方から売りが先行した。",
            "取引終了にかけては、押し目買いが入り下げ幅を縮めた。",
            "新興企業向け市場の指数は{pcts}%上昇し、3日続伸となった。",
            "市場では、企業の株主還元の強化が株価を下支えしているとの声がある。",
            "信用取引の買い残高は高水準にあり、需給の悪化を懸念する声も出ている。",
            "外国為替市場では、日米の金利差の縮小を見込んだ円買いが入った。",
            "原油先物価格の上昇を受けて、資源関連株が買われた。",
            "商社株や海運株にも利益確定の売りが出た。",
        ),
        about_a=(
            "{A}の株価は年初から{pct}%上昇し、指数を上回っている。",
            "{A}の予想株価収益率(PER)は約{mult}倍となっている。",
            "{A}は株価指数の構成比率が高い銘柄の一つだ。",
            "ある証券会社は{A}の目標株価を{yen}円に引き上げた。",
        ),
        about_x=(
            "{X}も{pcts}%下落した。",
            "{X}は自社株買いの発表を受けて上昇した。",
            "{X}は逆行高となった。",
            "{X}は年初来高値を更新した。",
        ),
    ),
    "labor": _CatText(
        stories=(
            _st(
                ["{a}の労働組合、賃上げ求めストライキへ", "{a}労組がスト 組合員{n}人が参加"],
                [
                    "{A}の労働組合は{dom}日、賃金と年金を巡る交渉が決裂したとして、"
                    "ストライキに入ることを決めた。",
                ],
            ),
            _st(
                ["{a}、{n}人の人員削減を発表", "{a}が早期退職を募集 {n}人規模"],
                [
                    "{A}は{dom}日、国内外で約{n}人の人員を削減すると発表した。構造改革の一環と"
                    "して固定費を減らす。",
                    "{A}は{dom}日、45歳以上の社員を対象に約{n}人の早期退職の募集を始めると"
                    "発表した。",
                ],
            ),
            _st(
                ["{a}が労組と賃上げで合意 平均{pcts}%", "{a}、{pcts}%の賃上げ 人材確保急ぐ"],
                [
                    "{A}は{dom}日、労働組合との交渉で、平均{pcts}%の賃上げで合意したと発表した。",
                ],
            ),
            _st(
                ["{a}、初任給を{man}万円に引き上げ", "{a}が{n}人採用へ 新工場稼働で"],
                [
                    "{A}は{dom}日、来春入社の大卒初任給を{man}万円に引き上げると発表した。"
                    "人手不足の中で人材を確保する狙い。",
                ],
            ),
            _st(
                ["{a}、週休3日制を{n}人に試験導入", "{a}が在宅勤務を縮小 週3日出社に"],
                [
                    "{A}は{dom}日、本社の事務職約{n}人を対象に週休3日制を試験的に導入すると"
                    "発表した。",
                ],
            ),
        ),
        neutral=(
            "労働組合は同社の工場や物流拠点で働く約{n}人の組合員を抱える。",
            "交渉では賃金のほか、福利厚生や雇用の安定が議題となっている。",
            "製造業や物流、小売業では人手不足を背景に賃金の上昇が続いている。",
            "削減の対象は主に管理部門の人員となる。",
            "組合側は、物価上昇に賃金が追いついていないと主張している。",
            "退職者には最大で1年分の給与を上乗せする。",
            "ストライキが長引けば、生産に大きな影響が出る可能性がある。",
            "失業率は低水準で推移しており、働き手の交渉力が高まっている。",
            "対象となる社員には再就職の支援を提供する。",
            "残業規制や勤務シフトの見直しも交渉の焦点となった。",
            "実質賃金は前年同月比で{pcts}%減少した。",
            "構造改革により年間{oku2}億円の費用削減を見込む。",
            "自動化の進展で仕事が失われることへの不安の声も上がっている。",
            "合意内容は組合員による投票を経て正式に決まる。",
            "非正規社員の待遇改善も交渉の議題に上った。",
            "若手社員の離職率は賃上げ後に低下した。",
            "交渉は[来週|週明け]に再開される予定だ。",
            "有効求人倍率は高い水準で推移している。",
            "賃上げ率は[3年|2年]連続で前年を上回った。",
            "人件費の増加分は製品価格への転嫁で吸収する方針だ。",
            "労働組合は基本給を一律に引き上げるベースアップを求めている。",
            "物流業界では、運転手の残業規制強化で人手不足が一段と深刻になっている。",
            "同社は工場の自動化を進め、少ない人員でも生産を維持できる体制を整える。",
            "早期退職に応じた社員には、再就職支援会社を通じたサービスも提供する。",
            "ストライキの影響で、一部の店舗では営業時間を短縮した。",
            "春の労使交渉では、大手企業を中心に高い水準の賃上げが相次いだ。",
            "中小企業では、賃上げの原資を確保できないとの声も根強い。",
            "在宅勤務の縮小には、社員の間で反発の声も上がっている。",
            "組合員の約{pct2}%がストライキの実施に賛成した。",
            "介護や育児と仕事の両立を支援する制度も拡充する。",
            "初任給の引き上げに合わせて、既存社員の給与体系も見直す。",
            "人員削減に伴う費用として、{oku2}億円の特別損失を計上する見込みだ。",
        ),
        about_a=(
            "{A}は国内外で約{n}人を雇用している。",
            "{A}は従業員との合意に向けて誠実に協議するとしている。",
            "{A}は昨年も約{n}人の人員を削減した。",
            "{A}の株価は発表後に{pcts}%下落した。",
        ),
        about_x=(
            "{X}の労組も今年、同様の賃上げを勝ち取った。",
            "{X}も最近、人員削減を発表している。",
            "労組は{X}とも別途交渉を進めている。",
            "{X}の従業員は先月、同様の提案を拒否した。",
        ),
    ),
}

_JA_FILLER: tuple[str, ...] = (
    "国内景気は個人消費が底堅い一方、設備投資には慎重さもみられる。",
    "企業の間では、先行き不透明感から慎重な見通しを示す例が多い。",
    "金利の上昇が企業の資金調達コストを押し上げている。",
    "物価上昇は一服しつつあるが、依然として高い水準にある。",
    "サプライチェーンの見直しを進める企業が増えている。",
    "市場関係者は今後数週間の動向を注視している。",
    "業界団体は長期的な投資を支える制度の整備を求めている。",
    "関係者によると、年内に追加の発表がある可能性もある。",
    "過去の同様の取り組みは成果がまちまちだったとの指摘もある。",
    "為替相場の変動も業績を左右する要因となっている。",
    "海外経済の減速懸念が引き続き重荷となっている。",
    "新興国市場での需要動向にも注目が集まる。",
    "専門家は、影響が業績に表れるまでには数四半期かかるとみている。",
    "保険料や賃料、物流費の上昇が業界全体の収益を圧迫している。",
    "格付け会社は業界の多くの企業について見通しを安定的としている。",
    "中小の同業他社は必要な投資を賄うのに苦労している。",
    "景況感を示す指数は[2|3]カ月ぶりに改善した。",
    "通商政策の先行きが不透明なことも、企業の計画づくりを難しくしている。",
    "多くの企業が、人手不足への対応として省力化投資を増やしている。",
    "エネルギー価格の高止まりが、製造業の収益を圧迫している。",
    "個人消費の回復には、実質賃金の持続的な上昇が欠かせないとの指摘がある。",
    "中国経済の減速が、素材や機械の需要に影を落としている。",
    "企業の手元資金は高い水準にあり、投資や株主還元に振り向ける動きが広がる。",
    "政府は成長分野への投資を促すため、税制面での優遇措置を拡充する方針だ。",
    "関係者の間では、今後の政策金利の動向に関心が集まっている。",
    "専門家の間でも、今後の見通しについて見方が分かれている。",
)

_EN_TITLE_TAILS = ("; shares up {pcts}%", "; shares down {pcts}%", ", stock rises {pcts}%")
_JA_TITLE_TAILS = ("、株価{pcts}%高", "、株価{pcts}%安", " 株価は{pcts}%上昇")

_JA_CLOSING: tuple[str, ...] = (
    "同社は詳細を今後の適時開示で明らかにするとしている。",
    "年内にも最終的な判断が下される見通しだ。",
    "同社の広報担当者は追加のコメントを控えた。",
    "今後の株主総会での説明に関心が集まる。",
    "次回の決算発表で進捗を説明する予定だ。",
)

_JA_TAIL: tuple[str, ...] = (
    "業界では{X}も同様の計画を検討しているとされる。",
    "一方、{X}の株価は受注の増加を受けて{pcts}%上昇した。",
    "今回の動きは、同じ市場で競合する{X}にも影響を与えそうだ。",
    "アナリストは、{X}が最も影響を受ける企業の一つになるとみている。",
    "{X}も今月中に方針を公表する見通しだ。",
    "{X}は{dom}日、自社の計画を見直す考えを示した。",
)

# ---------------------------------------------------------------------------------------
# Number slots. Each returns text, so that pools can be pre-rendered and titles can carry
# enough distinct figures to stay unique across hundreds of thousands of articles.
# ---------------------------------------------------------------------------------------

_Slot = tuple[str, ...]  # every value a slot can take, drawn uniformly
_EN_QUARTERS = ("first quarter", "second quarter", "third quarter", "fourth quarter")
_JA_QUARTERS = ("4〜6月期", "7〜9月期", "上期", "第3四半期", "10〜12月期")


def _steps(lo: float, hi: float, step: float, fmt: str) -> _Slot:
    return tuple(format(lo + k * step, fmt) for k in range(round((hi - lo) / step) + 1))


def _slots(ja: bool) -> dict[str, _Slot]:
    slots = _en_slots()
    return {**slots, "q": _JA_QUARTERS} if ja else slots


@cache
def _en_slots() -> dict[str, _Slot]:
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
        "q": _EN_QUARTERS,
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
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _words(s: str) -> int:
    return s.count(" ") + 1


def _chars(s: str) -> int:
    return len(s)


def _fields(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for f in _FIELD_RE.findall(template) if f not in _PLACEHOLDERS))


class _KeepMissing(dict):
    """Leaves name placeholders intact while numbers are filled in."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Renderings per sentence template: numbers and "[a|b]" choices differ between them.
_VARIANTS = 6
# Precomputed random sentence orders per (language, category), each with a rendering
# chosen for every position. An article slices one of them at a random offset: no
# template repeats within an article, and the body costs one slice instead of a Python
# loop per sentence (the benchmark needs ~20k articles/s from one core).
_ORDERS = 1024
# Share of generic (category-free) sentences in the body, diluting the category signal
# the way real wire copy does.
_FILLER_SHARE = 0.22
# Share of eligible articles where one company is named only in the final paragraph:
# evaluation of long texts needs mentions that sit beyond a 256-token window.
_TAIL_ONLY_SHARE = 0.4


@dataclass(frozen=True)
class _Pool:
    """Pre-rendered sentences, ``_VARIANTS`` consecutive entries per template."""

    text: tuple[str, ...]
    templates: int
    # Words (en) or characters (ja) of each rendering, names counted as slightly longer
    # than their placeholder; used for the length budget.
    size: tuple[int, ...]


@dataclass(frozen=True)
class _Body:
    """Category sentences plus filler sentences, and random walks over them."""

    # Each order is one cycle over all category templates and a share of the filler
    # templates, each as one of its renderings; stored twice so that a walk from any
    # offset can run a full cycle. Sharing the strings costs one pointer per entry.
    orders: tuple[tuple[str, ...], ...]
    # Cumulative size (words or characters) along each doubled order.
    cum: tuple[tuple[int, ...], ...]
    cycle: int


@dataclass(frozen=True)
class _Template:
    # Positional fields {0}, {1}, ... stand for company mentions, in text order, so a
    # name can be chosen per mention (full legal name first, short form later).
    text: str
    roles: tuple[int, ...]
    slots: tuple[tuple[str, _Slot], ...]
    # URL slug with the same positional fields for company slugs (titles only).
    slug: str


@dataclass(frozen=True)
class _CompiledStory:
    two: bool
    titles: tuple[_Template, ...]
    leads: tuple[_Template, ...]
    # Titles with figures in them: after a collision these find a free title quickly.
    numbered: tuple[_Template, ...]


@dataclass(frozen=True)
class _LangCat:
    stories_one: tuple[_CompiledStory, ...]
    stories_all: tuple[_CompiledStory, ...]
    body: _Body
    about_a: _Pool
    about_x: _Pool
    # Companies whose names fit the topic (an energy story about a utility rather than a
    # bank); the primary company usually comes from here.
    primary: tuple[int, ...]


@dataclass(frozen=True)
class _Lang:
    cats: dict[str, _LangCat]
    closing: _Pool
    tail: _Pool
    companies: tuple[tuple[str, str], ...]
    company_slugs: tuple[str, ...]
    title_tails: tuple[str, ...]
    ja: bool
    mean_sentence: int


# Name fragments that make a company a natural subject for a topic.
_SECTOR_HINTS: dict[str, tuple[str, ...]] = {
    "energy": (
        "Energy",
        "Power",
        "Solar",
        "Gas",
        "Refining",
        "Drilling",
        "Utilities",
        "Geothermal",
        "Electric",
        "エネルギー",
        "電力",
        "ガス",
        "ソーラー",
    ),
    "technology": (
        "Analytics",
        "Semiconductor",
        "Software",
        "Networks",
        "Data",
        "Cloud",
        "Robotics",
        "Microdevices",
        "Cybersecurity",
        "Telecom",
        "Mobile",
        "電機",
        "半導体",
        "システムズ",
        "ソフトウェア",
        "通信",
        "ロボティクス",
        "精密",
    ),
}

_ROLE_OF = {"A": 0, "B": 1, "a": 0, "b": 1}
_ROLE_RE = re.compile(r"\{([ABab])\}")


def _template(text: str, slots: dict[str, _Slot]) -> _Template:
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
    return _Template(
        _ROLE_RE.sub(positional, text),
        tuple(roles),
        tuple((f, slots[f]) for f in _fields(text)),
        "-".join(words[:9]),
    )


def _slugify(text: str) -> list[str]:
    return _SLUG_RE.sub(" ", text.lower()).split()


def _render(templates: Iterable[str], rng: random.Random, slots: dict[str, _Slot]) -> list[str]:
    r = rng.random
    out: list[str] = []
    for tpl in templates:
        for _ in range(_VARIANTS):
            s = _ALT_RE.sub(lambda m: (o := m.group(1).split("|"))[int(r() * len(o))], tpl)
            values = {f: (v := slots[f])[int(r() * len(v))] for f in _fields(s)}
            out.append(s.format_map(_KeepMissing(values)))
    return out


def _pool(
    templates: tuple[str, ...],
    rng: random.Random,
    slots: dict[str, _Slot],
    unit: Callable[[str], int],
) -> _Pool:
    text = _render(templates, rng, slots)
    extra = 5 if unit is _chars else 1
    size = tuple(unit(s) + extra * ("{A}" in s or "{X}" in s) for s in text)
    return _Pool(tuple(text), len(templates), size)


def _random_u16(rng: random.Random, n: int) -> list[int]:
    keys = array("H", rng.randbytes(2 * n))
    if sys.byteorder == "big":  # same values, hence same output, on every platform
        keys.byteswap()
    return keys.tolist()


def _body(
    neutral: tuple[str, ...],
    filler: tuple[str, ...],
    rng: random.Random,
    slots: dict[str, _Slot],
    unit: Callable[[str], int],
    sep: str,
) -> _Body:
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
    for _ in range(_ORDERS):
        # Random permutations by sorting random keys: C-level work, several times cheaper
        # than random.shuffle (this runs 12,000 times at first use).
        keys = _random_u16(rng, nn + nfill)
        fill = sorted(range(nn, nn + nfill), key=keys.__getitem__)
        keys = _random_u16(rng, nn + nfill)
        cyc = sorted([*range(nn), *fill[:nf]], key=keys.__getitem__)
        picks = [t * _VARIANTS + int(r() * _VARIANTS) for t in cyc]
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
    return _Body(tuple(orders), tuple(cums), len(neutral) + nf)


@cache
def _lang(code: str) -> _Lang:
    ja = code == "ja"
    slots = _slots(ja)
    unit = _chars if ja else _words
    # A fixed seed: the pools are part of the template set, independent of article seeds.
    rng = random.Random(0x5EED_0000 + ja)
    src = _JA if ja else _EN
    filler = _JA_FILLER if ja else _EN_FILLER
    companies = _JA_COMPANIES if ja else _EN_COMPANIES
    cats: dict[str, _LangCat] = {}
    for cat in CATEGORIES:
        ct = src[cat]
        hints = _SECTOR_HINTS.get(cat, ())
        fitting = tuple(k for k, (full, _) in enumerate(companies) if any(h in full for h in hints))
        stories = tuple(
            _CompiledStory(
                st.two,
                titles := tuple(_template(t, slots) for t in st.titles),
                tuple(_template(t, slots) for t in st.leads),
                tuple(t for t in titles if t.slots) or titles,
            )
            for st in ct.stories
        )
        cats[cat] = _LangCat(
            stories_one=tuple(s for s in stories if not s.two),
            stories_all=stories,
            body=_body(ct.neutral, filler, rng, slots, unit, "" if ja else " "),
            about_a=_pool(ct.about_a, rng, slots, unit),
            about_x=_pool(ct.about_x, rng, slots, unit),
            primary=fitting,
        )
    sample = [s.rstrip() for c in cats.values() for s in c.body.orders[0][: c.body.cycle]]
    return _Lang(
        cats=cats,
        closing=_pool(_JA_CLOSING if ja else _EN_CLOSING, rng, slots, unit),
        tail=_pool(_JA_TAIL if ja else _EN_TAIL, rng, slots, unit),
        companies=companies,
        company_slugs=tuple("-".join(_slugify(short)) for _, short in companies),
        title_tails=tuple(
            t.format(pcts=v)
            for t in (_JA_TITLE_TAILS if ja else _EN_TITLE_TAILS)
            for v in slots["pcts"]
        ),
        ja=ja,
        mean_sentence=round(sum(map(unit, sample)) / len(sample)),
    )


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
    langs = {"en": _lang("en"), "ja": _lang("ja")}
    by_lang = {code: tuple(s for s in _SOURCES if s.language == code) for code in langs}
    cal = []
    for k in range(days):
        d = start + timedelta(days=k)
        cal.append((d.strftime("%Y/%m/%d"), d.isoformat(), _WEEKDAYS[d.weekday()], str(d.day)))
    seen_titles: set[str] = set()
    ncat = len(CATEGORIES)
    nclock = len(_CLOCK)
    for i in range(n):
        code = "ja" if r() < ja_share else "en"
        site_pool = by_lang[code]
        site = site_pool[int(r() * len(site_pool))]
        cat = CATEGORIES[int(r() * ncat)]
        ymd, iso, weekday, dom = cal[int(r() * days)]
        published = f"{iso}{_CLOCK[int(r() * nclock)]}{site.utc_offset}"
        yield _article(i, rng, langs[code], cat, site, ymd, published, weekday, dom, seen_titles)


def _article(
    i: int,
    rng: random.Random,
    lang: _Lang,
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
        j = (t0 + k) % pa.templates * _VARIANTS + int(r() * _VARIANTS)
        specials.append((pa.text[j], 0))
        reserved += pa.size[j]
    t0 = int(r() * px.templates)
    for role in range(1, visible):
        if mentions[role] == 0 or r() < 0.3:
            j = (t0 + role) % px.templates * _VARIANTS + int(r() * _VARIANTS)
            specials.append((px.text[j], role))
            reserved += px.size[j]

    # Length target: words for English, characters for Japanese. About a third are short
    # items and the rest spread towards the long end; every text exceeds a 256-token
    # window, many by far. The mean stays near 2.5 KB of UTF-8, which keeps gzip (the
    # benchmark's bottleneck) busy without wasting bytes.
    short = r() < 0.35
    if ja:
        target = 625 + int(150 * r()) if short else 680 + int(720 * (r() + r()) / 2)
        sep, unit = "", _chars
    else:
        target = 268 + int(72 * r()) if short else 300 + int(265 * (r() + r()) / 2)
        sep, unit = " ", _words
    # The final paragraph ends with the last-only company mention or a closing line.
    ending = lang.tail if tail_only else lang.closing
    j = int(r() * len(ending.text))
    ending_text = ending.text[j]
    reserved += ending.size[j]
    budget = target - unit(lead) - reserved - lang.mean_sentence

    # Walk a precomputed order; one more sentence is kept for the final paragraph.
    body = lc.body
    o = int(r() * _ORDERS)
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

_BATCH = 1000
# Bytes that force escaping inside a JSON string. UTF-8 continuation bytes are >= 0x80,
# so scanning the encoded bytes for these finds exactly the characters that need it.
_JSON_SPECIAL = bytes(range(0x20)) + b'"\\'


def _json_str(s: str) -> bytes:
    """``s`` as the UTF-8 inside of a JSON string literal.

    Same bytes as ``json.dumps(s, ensure_ascii=False)[1:-1]``, but the common case
    (nothing to escape except newlines) costs a few C-level passes instead of the json
    module's per-character loop, which alone would eat the benchmark's time budget.
    """
    b = s.encode()
    clean = len(b.translate(None, _JSON_SPECIAL))
    if clean == len(b):
        return b
    if clean + b.count(b"\n") == len(b):
        return b.replace(b"\n", b"\\n")
    return json.dumps(s, ensure_ascii=False)[1:-1].encode()


def _fast_line(line: str, quotes: int) -> bytes | None:
    """UTF-8 JSON for a line built by plain substitution, or None if a value needs
    escaping beyond newlines (the line's own ``quotes`` are the only quotes allowed)."""
    b = line.encode()
    newlines = b.count(b"\n")
    if len(b) - len(b.translate(None, _JSON_SPECIAL)) != quotes + newlines:
        return None
    return b.replace(b"\n", b"\\n") if newlines else b


def _record_line(a: SampleArticle) -> bytes:
    # One encode and one scan for the whole line instead of one per field: the body
    # (2-3 KB) dominates, and generated text never needs escaping beyond newlines.
    line = (
        f'{{"url":"{a.url}","title":"{a.title}","body":"{a.body}",'
        f'"published":"{a.published}","source":"{a.source}","language":"{a.language}"}}'
    )
    fast = _fast_line(line, 24)
    if fast is not None:
        return fast
    return (
        b'{"url":"%b","title":"%b","body":"%b","published":"%b","source":"%b","language":"%b"}'
        % (
            _json_str(a.url),
            _json_str(a.title),
            _json_str(a.body),
            _json_str(a.published),
            _json_str(a.source),
            _json_str(a.language),
        )
    )


def _truth_line(a: SampleArticle) -> bytes:
    names = '","'.join(a.companies)
    listed = f'["{names}"]' if a.companies else "[]"
    line = (
        f'{{"url":"{a.url}","category":"{a.category}","companies":{listed},'
        f'"language":"{a.language}"}}'
    )
    fast = _fast_line(line, 14 + 2 * len(a.companies))
    if fast is not None:
        return fast
    listed_b = b",".join(b'"%b"' % _json_str(c) for c in a.companies)
    return b'{"url":"%b","category":"%b","companies":[%b],"language":"%b"}' % (
        _json_str(a.url),
        _json_str(a.category),
        listed_b,
        _json_str(a.language),
    )


class _Sink:
    """One output file, gzip-compressed when its name ends in ``.gz``."""

    def __init__(self, path: Path, compresslevel: int) -> None:
        self.raw = open(path, "wb")  # closed in close(), after the gzip layer
        self.out: IO[bytes] = self.raw
        if path.name.endswith(".gz"):
            # Empty name and zero mtime in the header keep the bytes identical across runs.
            self.out = gzip.GzipFile(
                filename="", mode="wb", fileobj=self.raw, compresslevel=compresslevel, mtime=0
            )

    def close(self) -> None:
        try:
            if self.out is not self.raw:
                self.out.close()
        finally:
            self.raw.close()


def write_jsonl_gz(
    path: Path,
    articles: Iterable[SampleArticle],
    *,
    with_truth_path: Path | None = None,
    compresslevel: int = 1,
) -> int:
    """Write gzip JSON lines of ``record()``; return how many articles were written.

    ``with_truth_path`` gets JSON lines of ``truth()`` in the same order (gzip when its
    name ends in ``.gz``). Output is streamed in batches, so memory stays flat.
    Compression runs on a second thread: zlib releases the GIL, so on a two-core machine
    generating and compressing overlap instead of adding up.
    """
    sinks = [_Sink(Path(path), compresslevel)]
    try:
        if with_truth_path is not None:
            sinks.append(_Sink(Path(with_truth_path), compresslevel))
        return _write(sinks, articles)
    finally:
        for sink in sinks:
            sink.close()


def _write(sinks: list[_Sink], articles: Iterable[SampleArticle]) -> int:
    q: queue.Queue[tuple[bytes, ...] | None] = queue.Queue(maxsize=4)
    failure: list[Exception] = []

    def drain() -> None:
        try:
            while (item := q.get()) is not None:
                for sink, data in zip(sinks, item, strict=True):
                    sink.out.write(data)
        except Exception as exc:  # re-raised in the producing thread
            failure.append(exc)
            while q.get() is not None:
                pass

    writer = threading.Thread(target=drain, name="sample-jsonl-writer", daemon=True)
    writer.start()
    want_truth = len(sinks) > 1
    count = 0
    try:
        recs: list[bytes] = []
        truths: list[bytes] = []
        for a in articles:
            recs.append(_record_line(a))
            if want_truth:
                truths.append(_truth_line(a))
            if len(recs) >= _BATCH:
                count += len(recs)
                q.put(_pack(recs, truths, want_truth))
                recs, truths = [], []
                if failure:
                    break
        if recs and not failure:
            count += len(recs)
            q.put(_pack(recs, truths, want_truth))
    finally:
        q.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return count


def _pack(recs: list[bytes], truths: list[bytes], want_truth: bool) -> tuple[bytes, ...]:
    data = b"\n".join(recs) + b"\n"
    if not want_truth:
        return (data,)
    return data, b"\n".join(truths) + b"\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m newsops.sample", description="Write fictional business-news articles."
    )
    parser.add_argument("out", type=Path, help="output .jsonl.gz of public records")
    parser.add_argument("-n", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ja-share", type=float, default=0.25)
    parser.add_argument("--truth", type=Path, default=None, help="ground-truth JSON lines")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    count = write_jsonl_gz(
        args.out,
        generate(args.n, seed=args.seed, ja_share=args.ja_share),
        with_truth_path=args.truth,
    )
    dt = time.perf_counter() - t0
    print(f"wrote {count} articles to {args.out} in {dt:.2f} s ({count / dt:,.0f}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
