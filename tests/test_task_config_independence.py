"""The task config's label descriptions owe nothing to the sample generator (issue #13, item 7).

The zero-shot ``category`` task classifies by label descriptions. Descriptions written from the
generator's own sentences make the demo's accuracy a measure of the generator, not of the
classifier on real news. So no description (of any task in chalicelib/config/tasks.json: zero-shot
``labels`` and prototype ``examples``, at the top level and under ``routes``) may share with the
generator's source (newsops/sample*.py, its text in newsops/sampledata/*.json, newsops/sitegen.py)
or with the articles it generates:

- a whole sentence (split on ``.`` and ``。``; sentences of 3+ words, or 5+ characters in Japanese);
- a run of 6 consecutive words (English: lowercase ``[a-z0-9]+`` tokens, punctuation ignored);
- a run of 10 consecutive characters (Japanese: whitespace and quotes ignored, so a string split
  over several source lines still counts as one).

Run as a script to check another config, e.g. the one at HEAD::

    git show HEAD:chalicelib/config/tasks.json > /tmp/tasks.json
    .venv/bin/python tests/test_task_config_independence.py /tmp/tasks.json
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # when run as a script
    sys.path.insert(0, str(REPO))

TASKS_FILE = REPO / "chalicelib" / "config" / "tasks.json"
GENERATOR_SOURCES = tuple(sorted(str(p.relative_to(REPO)) for pattern in (
    "newsops/sample*.py", "newsops/sampledata/*.json", "newsops/sitegen.py") for p in REPO.glob(pattern)))
WORD_RUN = 6
CHAR_RUN = 10
MIN_SENTENCE_WORDS = 3
MIN_SENTENCE_CHARS = 5
# A few hundred articles in both languages, from two seeds.
SAMPLES = ((300, 13, 0.25), (200, 29, 1.0))

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_WORD = re.compile(r"[a-z0-9]+")
_NOISE = re.compile(r"[\s\"'\\]")  # dropped from Japanese text before comparing characters
_SENTENCE_END = re.compile(r"[.。]")


# -- what is compared -----------------------------------------------------------------------


def descriptions(config: dict) -> Iterator[tuple[str, str]]:
    """(where, text) of every label description / example text of the config's tasks."""

    def texts(where: str, options: dict) -> Iterator[tuple[str, str]]:
        for key in ("labels", "examples"):
            raw = options.get(key)
            if not isinstance(raw, dict):
                continue
            for label, value in raw.items():
                for i, text in enumerate([value] if isinstance(value, str) else value or []):
                    if isinstance(text, str):
                        yield f"{where}.{key}.{label}" + (f"[{i}]" if not isinstance(value, str) else ""), text

    for task in config.get("tasks", []):
        if task.get("kind") not in ("zero-shot", "prototype"):
            continue  # other tasks' "labels" are model label names (e.g. ORG), not descriptions
        options = task.get("options") or {}
        yield from texts(task["name"], options)
        for lang, route in (options.get("routes") or {}).items():
            yield from texts(f"{task['name']}.routes.{lang}", route or {})


def generator_texts() -> dict[str, str]:
    """name -> text of everything the generator is made of or makes."""
    from newsops.sample import generate

    out = {name: (REPO / name).read_text(encoding="utf-8") for name in GENERATOR_SOURCES}
    for n, seed, ja_share in SAMPLES:
        # One article per line: a line break ends a word run; "|" keeps articles apart in Japanese.
        out[f"generate({n}, seed={seed}, ja_share={ja_share})"] = "\n|\n".join(
            f"{a.title}\n{a.body}" for a in generate(n, seed=seed, ja_share=ja_share))
    return out


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _word_haystack(text: str) -> str:
    """' w1 w2 ... ' per article, joined by '|' so that a run never spans two articles (a
    source file is one piece: a string split over several lines still counts as one)."""
    return "|" + "|".join(" " + " ".join(_words(line)) + " " for line in text.split("\n|\n")) + "|"


def _char_haystack(text: str) -> str:
    return _NOISE.sub("", text)


def overlaps(config: dict, haystacks: dict[str, str]) -> list[str]:
    """Every sentence or run of a description found in a haystack, as readable lines."""
    words = {name: _word_haystack(text) for name, text in haystacks.items()}
    chars = {name: _char_haystack(text) for name, text in haystacks.items()}
    found: list[str] = []
    for where, text in descriptions(config):
        japanese = bool(_JAPANESE.search(text))
        needles: list[tuple[str, str]] = []  # (kind, needle as it is searched)
        for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
            if japanese:
                s = _char_haystack(sentence)
                if len(s) >= MIN_SENTENCE_CHARS:
                    needles.append(("sentence", s))
            else:
                w = _words(sentence)
                if len(w) >= MIN_SENTENCE_WORDS:
                    needles.append(("sentence", " " + " ".join(w) + " "))
        if japanese:
            s = _char_haystack(text)
            needles += [(f"{CHAR_RUN}-char run", s[i:i + CHAR_RUN]) for i in range(len(s) - CHAR_RUN + 1)]
        else:
            w = _words(text)
            needles += [(f"{WORD_RUN}-word run", " " + " ".join(w[i:i + WORD_RUN]) + " ")
                        for i in range(len(w) - WORD_RUN + 1)]
        hays = chars if japanese else words
        for kind, needle in needles:
            for name, hay in hays.items():
                if needle in hay:
                    found.append(f"{where}: {kind} {needle.strip()!r} is in {name}")
    return found


# -- tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def haystacks() -> dict[str, str]:
    return generator_texts()


def test_the_config_has_descriptions_in_english_and_japanese() -> None:
    config = json.loads(TASKS_FILE.read_text(encoding="utf-8"))
    found = dict(descriptions(config))
    assert any(w.startswith("category.labels.") for w in found)
    assert any(w.startswith("category.routes.ja.labels.") for w in found)
    assert all(not _JAPANESE.search(t) for w, t in found.items() if ".routes." not in w)
    assert all(_JAPANESE.search(t) for w, t in found.items() if ".routes.ja." in w)


def test_no_description_shares_a_sentence_or_run_with_the_generator(haystacks: dict[str, str]) -> None:
    config = json.loads(TASKS_FILE.read_text(encoding="utf-8"))
    found = overlaps(config, haystacks)
    assert not found, "descriptions copied from the sample generator:\n" + "\n".join(found)


def test_the_check_catches_text_taken_from_the_generator(haystacks: dict[str, str]) -> None:
    """The check is not vacuous: text lifted from a generated article or the source is caught."""
    from newsops.sample import generate

    arts = list(generate(200, seed=5, ja_share=0.5))
    en = next(a for a in arts if a.language == "en")
    ja = next(a for a in arts if a.language == "ja")
    en_run = " ".join(en.body.split()[:WORD_RUN + 2])
    ja_run = _char_haystack(ja.body)[:CHAR_RUN + 2]
    config = {"tasks": [{"name": "t", "kind": "zero-shot", "options": {
        "labels": {"a": f"Something unrelated, then {en_run} and more.", "b": "Fully original words here."},
        "routes": {"ja": {"labels": {"a": f"無関係な前置き、{ja_run}。", "b": "独自の説明文です。"}}}}}]}
    found = overlaps(config, haystacks)
    assert any(f.startswith("t.labels.a: ") for f in found), found
    assert any(f.startswith("t.routes.ja.labels.a: ") for f in found), found
    assert not any(".b: " in f for f in found), found


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else TASKS_FILE
    hits = overlaps(json.loads(path.read_text(encoding="utf-8")), generator_texts())
    print("\n".join(hits) or "no overlap")
    print(f"{len(hits)} overlap(s) in {path}")
    sys.exit(1 if hits else 0)
