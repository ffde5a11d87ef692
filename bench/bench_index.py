"""make bench-index: bulk vs one request per document on osmem; the local engine's speed.

1. Against an osmem-server process on 127.0.0.1 (opensearch-py): the adapter's streamed bulk
   indexing of N generated articles vs the obvious loop of one ``index`` request per article
   (``client.index(..., id=...)``), on fresh clones of the same server, on the same documents.
   The per-document loop is timed on a prefix (``--single-docs``) and its rate extrapolated,
   because at ~1-2 ms a request it alone would take minutes at 50k.
2. The local engine (SQLite FTS5): documents/s indexing the same N articles (2 KB of English or
   Japanese text each, a 384-d vector, companies, category), then the latency of searches at
   that size: full text in both languages with and without filters, filter-only listings,
   facets and similar articles.

Each part runs in a fresh interpreter, so each peak RSS is its own.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchfile import peak_rss_mb, run_fresh, write_result  # noqa: E402

DOCS = 50_000
DIMS = 384

EN_WORDS = """
company market shares profit revenue quarter growth earnings investors bank rates inflation
merger acquisition deal board chief executive officer results forecast sales demand supply
chain factory production exports imports trade tariff government policy central interest bond
yield stock index analysts dividend buyback debt credit rating outlook guidance margin cost
price prices energy oil gas electricity battery electric vehicle car automaker semiconductor
chip software cloud data center artificial intelligence model platform customers consumers
retail store online payments fintech startup funding venture capital round valuation listing
offering regulators antitrust probe lawsuit settlement fine court ruling appeal union strike
wages workers jobs layoffs hiring plant expansion investment billion million percent year
month week record high low decline rise fell rose jumped slumped beat missed expected estimates
annual report statement conference call strategy restructuring spin-off division unit brand
product launch partnership agreement contract supplier shipping logistics port airline travel
tourism hotel property real estate housing mortgage construction steel copper gold commodity
currency dollar yen euro exchange rate economy recession recovery stimulus budget tax reform
pharmaceutical drug approval trial vaccine hospital insurance premium claims reinsurance
telecom network spectrum satellite media streaming advertising subscribers content studio
""".split()

JA_WORDS = """
決算 買収 合併 売上 利益 営業利益 純利益 株価 株式 市場 投資 投資家 企業 会社 社長 取締役 発表
業績 予想 見通し 増収 減益 増益 配当 自社株買い 金利 日銀 政策 為替 円安 円高 物価 賃上げ 雇用
自動車 電気自動車 電池 半導体 工場 生産 輸出 輸入 関税 政府 規制 当局 訴訟 和解 提携 契約 出資
子会社 事業 部門 再編 統合 上場 新規 資金調達 評価額 銀行 証券 保険 不動産 住宅 建設 鉄鋼 資源
原油 天然ガス 電力 再生可能 エネルギー 通信 携帯 放送 広告 小売 百貨店 通販 物流 海運 航空 鉄道
観光 旅行 ホテル 外食 食品 飲料 医薬品 新薬 承認 治験 病院 ソフトウェア クラウド データセンター
人工知能 スタートアップ ベンチャー 四半期 通期 前年 前期 過去最高 下方修正 上方修正 中期経営計画
トヨタ ソニー 任天堂 日立 パナソニック ホンダ 日産 三菱 三井 住友 みずほ 野村 楽天 ソフトバンク
""".split()

JA_PARTICLES = ["は", "が", "を", "の", "に", "と", "で", "も", "から", "まで"]
JA_ENDINGS = ["した。", "する。", "と発表した。", "の見通しだ。", "が続く。", "を明らかにした。"]

COMPANIES = [f"{a} {b}" for a in ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark",
                                   "Wayne", "Tyrell", "Cyberdyne", "Soylent", "Wonka", "Gringotts",
                                   "Nakatomi", "Oscorp", "Vandelay", "Monarch", "Aperture",
                                   "Blue Sun", "Weyland", "Massive Dynamic")
             for b in ("Holdings", "Motors", "Bank", "Electric", "Pharma", "Foods", "Group",
                       "Systems", "Energy", "Logistics")]
CATEGORIES = ["earnings", "m&a", "markets", "economy", "technology", "energy", "autos",
              "pharma", "policy", "retail"]
SOURCES = ["reuters", "bloomberg", "nikkei", "asahi", "ft", "wsj", "kyodo", "jiji", "ap",
           "cnbc", "yomiuri", "toyo-keizai"]
START = datetime(2024, 1, 1, tzinfo=UTC)


EN_STOP = ("the of and to in a for on that with is was by at from as it its has have will be "
           "said are were an which this after over more than but about also").split()
JA_KANJI = ("日本国会社市場事業経済金融銀行株式投資利益売上決算発表計画政府政策国際企業技術開発製品"
            "生産工場輸出入関税価格物価賃金雇用労働消費需要供給成長増加減少前年同期比率見通予想"
            "海外国内地域東京大阪中国米欧州電力資源原油鉄鋼化学医薬品食料通信放送情報半導体自動車")
JA_KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
EN_SYLLABLES = ("ka ro mi ten vel dor sa lin gra pha tor nex vin qua zel mar ben cor dal fen "
                "gal hes jor kel lum nor pel ris sul tam ver wyn").split()


def vocabulary(words: list[str], synthetic: list[str], stop: list[str]) -> list[str]:
    """A Zipf-ranked vocabulary: stop words first, the real business words spread over ranks
    20..4000 (common to rare, as in news), synthetic words filling the long tail."""
    ranked = list(stop)
    real = iter(words)
    step = max(1, 4000 // max(1, len(words)))
    for i, word in enumerate(synthetic):
        if i % step == 0 and (w := next(real, None)) is not None:
            ranked.append(w)
        ranked.append(word)
    ranked.extend(real)
    return ranked


def _synthetic(rnd: random.Random, n: int, japanese: bool) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        if japanese:
            if rnd.random() < 0.8:
                out.add("".join(rnd.choices(JA_KANJI, k=rnd.randint(2, 3))))
            else:
                out.add("".join(rnd.choices(JA_KANA, k=rnd.randint(3, 5))))
        else:
            out.add("".join(rnd.choices(EN_SYLLABLES, k=rnd.randint(2, 3))))
    return sorted(out)


def _zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(n)]


def generate(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """n articles, half English and half Japanese, ~2 KB of text each, streamed."""
    rnd = random.Random(seed)
    vec_rng = np.random.default_rng(seed)
    en_vocab = vocabulary(EN_WORDS, _synthetic(random.Random(1), 30_000, False), EN_STOP)
    ja_vocab = vocabulary(JA_WORDS, _synthetic(random.Random(2), 30_000, True), [])
    en_cum = list(itertools.accumulate(_zipf_weights(len(en_vocab))))
    ja_cum = list(itertools.accumulate(_zipf_weights(len(ja_vocab))))
    for i in range(n):
        japanese = i % 2 == 1
        target = rnd.randint(1200, 2800)  # bytes of UTF-8: averages 2 KB
        parts: list[str] = []
        size = 0
        while size < target:
            if japanese:
                words = rnd.choices(ja_vocab, cum_weights=ja_cum, k=rnd.randint(3, 6))
                sentence = "".join(w + rnd.choice(JA_PARTICLES) for w in words[:-1])
                sentence += words[-1] + rnd.choice(JA_ENDINGS)
            else:
                words = rnd.choices(en_vocab, cum_weights=en_cum, k=rnd.randint(8, 16))
                sentence = " ".join(words).capitalize() + "."
            parts.append(sentence)
            size += len(sentence.encode()) + 1
        body = ("" if japanese else " ").join(parts)
        if japanese:
            title = "".join(rnd.choices(ja_vocab, cum_weights=ja_cum, k=4))
        else:
            title = " ".join(rnd.choices(en_vocab, cum_weights=en_cum, k=7)).capitalize()
        vec = vec_rng.standard_normal(DIMS).astype(np.float32)
        vec /= np.linalg.norm(vec)
        companies = []
        for name in rnd.sample(COMPANIES, rnd.randint(0, 3)):
            start = rnd.randint(0, 500)
            companies.append({"name": name, "normalized": name.split()[0], "label": "ORG",
                              "start": start, "end": start + len(name), "score": round(rnd.random(), 3)})
        published = START + timedelta(seconds=rnd.randint(0, 365 * 86400))
        yield {
            "id": f"{i:032x}", "url": f"https://news.example.com/{i}", "title": title, "body": body,
            "source": rnd.choice(SOURCES), "language": "ja" if japanese else "en",
            "published": published.isoformat(), "run_id": f"bench-{i // 5000}",
            "models": {"ner": "bench-1", "category": "bench-1", "embedding": "minilm-l6"},
            "companies": companies,
            "category": {"label": rnd.choice(CATEGORIES), "score": round(rnd.random(), 3)},
            "embedding": [round(float(x), 6) for x in vec],
        }


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- variants (each in its own interpreter) ------------------------------------------------------

def variant_cluster(docs: int, single_docs: int) -> dict[str, Any]:
    from osmem_server import OsmemServer

    from chalicelib.search.opensearch import OpenSearchSearchIndex, connect_opensearch

    with OsmemServer.start(addr="127.0.0.1:0", japanese=False) as server:
        # The obvious way: one request per document, on the same kind of index.
        with server.clone() as clone:
            client = connect_opensearch(clone.url, http_compress=False)
            index = OpenSearchSearchIndex(client, dims=DIMS)
            index.ensure_index()
            started = time.perf_counter()
            for doc in generate(single_docs):
                client.index(index=index.alias, id=doc["id"], body=doc)
            single_s = time.perf_counter() - started
            single_count = index.count()
        with server.clone() as clone:
            client = connect_opensearch(clone.url, http_compress=False)
            index = OpenSearchSearchIndex(client, dims=DIMS)
            index.ensure_index()
            started = time.perf_counter()
            outcome = index.index(generate(docs))
            bulk_s = time.perf_counter() - started
            bulk_count = index.count()
    return {"bulk_docs": outcome.indexed, "bulk_failed": len(outcome.failed), "bulk_s": bulk_s,
            "bulk_count": bulk_count, "single_docs": single_docs, "single_s": single_s,
            "single_count": single_count}


def variant_local(docs: int, queries: int) -> dict[str, Any]:
    from chalicelib.search.base import SearchQuery
    from chalicelib.search.local import LocalSearchIndex

    with tempfile.TemporaryDirectory(prefix="newsops-bench-") as tmp:
        index = LocalSearchIndex(Path(tmp) / "search.sqlite3", dims=DIMS)
        started = time.perf_counter()
        outcome = index.index(generate(docs))
        index_s = time.perf_counter() - started
        assert outcome.indexed == docs and outcome.reconciled, outcome.failed[:3]
        file_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6

        rnd = random.Random(11)
        day = date(2024, 1, 1)

        def text_query() -> SearchQuery:
            kind = rnd.randrange(6)
            if kind == 0:
                return SearchQuery(text=rnd.choice(EN_WORDS))
            if kind == 1:
                return SearchQuery(text=" ".join(rnd.sample(EN_WORDS, 2)))
            if kind == 2:
                return SearchQuery(text=rnd.choice(JA_WORDS))
            if kind == 3:
                return SearchQuery(text=" ".join(rnd.sample(JA_WORDS, 2)))
            if kind == 4:
                return SearchQuery(text=rnd.choice(EN_WORDS + JA_WORDS), source=rnd.choice(SOURCES))
            start = day + timedelta(days=rnd.randrange(330))
            return SearchQuery(text=rnd.choice(JA_WORDS), date_from=start,
                               date_to=start + timedelta(days=30), category=rnd.choice(CATEGORIES))

        def filter_query() -> SearchQuery:
            return SearchQuery(company=rnd.choice(COMPANIES).split()[0], category=rnd.choice(CATEGORIES))

        def facet_query() -> SearchQuery:
            return SearchQuery(text=rnd.choice(EN_WORDS + JA_WORDS), facets=True)

        def similar_query() -> SearchQuery:
            return SearchQuery(similar_to=f"{rnd.randrange(docs):032x}")

        index.search(similar_query())  # loads the vector matrix once, as the first user would
        timings: dict[str, list[float]] = {}
        for name, make, count in (("text", text_query, queries), ("filter", filter_query, queries // 4),
                                  ("facets", facet_query, queries // 4),
                                  ("similar", similar_query, queries // 4)):
            for _ in range(count):
                q = make()
                t0 = time.perf_counter()
                index.search(q)
                timings.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
    searches = timings["text"] + timings["filter"]
    out: dict[str, Any] = {"docs": docs, "index_s": index_s, "file_mb": file_mb,
                           "query_p50_ms": statistics.median(searches),
                           "query_p95_ms": _percentile(searches, 95)}
    for name, values in timings.items():
        out[f"{name}_p50_ms"] = statistics.median(values)
        out[f"{name}_p95_ms"] = _percentile(values, 95)
        out[f"{name}_queries"] = len(values)
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--variant", choices=["cluster", "local"])
    p.add_argument("--docs", type=int, default=DOCS)
    p.add_argument("--single-docs", type=int, default=2_000)
    p.add_argument("--queries", type=int, default=400)
    args = p.parse_args()
    if args.variant:
        if args.variant == "cluster":
            result = variant_cluster(args.docs, min(args.single_docs, args.docs))
        else:
            result = variant_local(args.docs, args.queries)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return 0

    me = Path(__file__).resolve()
    common = ["--docs", str(args.docs)]
    local = run_fresh(me, "--variant", "local", *common, "--queries", str(args.queries))
    print(f"local:   {json.dumps(local)}", flush=True)
    cluster = run_fresh(me, "--variant", "cluster", *common, "--single-docs", str(args.single_docs))
    print(f"cluster: {json.dumps(cluster)}", flush=True)

    bulk_rate = cluster["bulk_docs"] / cluster["bulk_s"]
    single_rate = cluster["single_docs"] / cluster["single_s"]
    ratio = round(bulk_rate / single_rate, 2)
    metrics = {
        "ratio_bulk": ratio,
        "bulk_docs_per_s": round(bulk_rate, 1),
        "bulk_docs": cluster["bulk_docs"],
        "bulk_failed": cluster["bulk_failed"],
        "cluster_peak_rss_mb": round(cluster["peak_rss_mb"], 1),
        "local_docs_per_s": round(local["docs"] / local["index_s"], 1),
        "local_docs": local["docs"],
        "local_file_mb": round(local["file_mb"], 1),
        "local_peak_rss_mb": round(local["peak_rss_mb"], 1),
        "local_query_p50_ms": round(local["query_p50_ms"], 2),
        "local_query_p95_ms": round(local["query_p95_ms"], 2),
    }
    for name in ("text", "filter", "facets", "similar"):
        metrics[f"local_{name}_p50_ms"] = round(local[f"{name}_p50_ms"], 2)
        metrics[f"local_{name}_p95_ms"] = round(local[f"{name}_p95_ms"], 2)
    baseline = {"single_docs_per_s": round(single_rate, 1), "single_docs_timed": cluster["single_docs"],
                "single_s": round(cluster["single_s"], 2),
                "single_extrapolated_s_for_all": round(cluster["bulk_docs"] / single_rate, 1)}
    goal = ("ratio_bulk >= 10 (bulk docs/s over one-request-per-document docs/s, osmem on 127.0.0.1; "
            f"the per-document baseline is timed on the first {cluster['single_docs']} documents and "
            "its rate extrapolated); local_docs_per_s >= 5000 (2 KB en/ja articles with 384-d vectors); "
            "local_query_p95_ms < 20 at 50k documents (full-text en/ja with and without filters, and "
            "filter-only listings, size 10; facets and similar-article latencies reported apart)")
    out = write_result("index", metrics, baseline, ratio, goal)
    print(f"bulk {bulk_rate:.0f} docs/s vs one request per document {single_rate:.0f} docs/s: "
          f"{ratio}x")
    print(f"local: {metrics['local_docs_per_s']:.0f} docs/s; query p50 {metrics['local_query_p50_ms']} ms, "
          f"p95 {metrics['local_query_p95_ms']} ms (facets p95 {metrics['local_facets_p95_ms']} ms, "
          f"similar p95 {metrics['local_similar_p95_ms']} ms)")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
