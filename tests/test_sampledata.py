"""The sample generator's data files (newsops/sampledata/*.json): shipped, checked, and a
broken edit is reported by file and field instead of failing somewhere inside the generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsops.sample import CATEGORIES, company_names, generate, sources
from newsops.sampletemplates import SampleDataError, data_files, language_text, load_file

REPO = Path(__file__).resolve().parents[1]


def _copy(tmp_path: Path, name: str) -> tuple[Path, object]:
    src = next(f for f in data_files() if f.name == name)
    raw = json.loads(src.read_text(encoding="utf-8"))
    return tmp_path / name, raw


def _write(path: Path, raw: object) -> Path:
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def test_every_shipped_data_file_passes_its_check() -> None:
    names = [f.name for f in data_files()]
    assert names == ["categories.json", "sources.json", "companies.json", "en.json", "ja.json"]
    for f in data_files():
        load_file(f)
    assert sorted(p.name for p in (REPO / "newsops" / "sampledata").glob("*.json")) == sorted(names)


def test_both_languages_cover_every_category_with_stories() -> None:
    for code in ("en", "ja"):
        text = language_text(code)
        assert list(text.categories) == list(CATEGORIES)
        for cat in text.categories.values():
            assert cat.stories and cat.neutral and cat.about_a and cat.about_x
            assert all(s.titles and s.leads for s in cat.stories)
            # Two-company stories must exist, or mergers could not name their second party.
            assert any(s.two for s in cat.stories) or cat is not text.categories["mergers"]


def test_public_names_come_from_the_data_files() -> None:
    companies = json.loads((REPO / "newsops/sampledata/companies.json").read_text("utf-8"))
    assert company_names("en") == [tuple(p) for p in companies["en"]]
    assert company_names("ja") == [tuple(p) for p in companies["ja"]]
    outlets = json.loads((REPO / "newsops/sampledata/sources.json").read_text("utf-8"))
    assert [s.host for s in sources()] == [o["host"] for o in outlets]
    assert {a.source for a in generate(200, seed=1, ja_share=0.5)} <= {o["name"] for o in outlets}


def test_a_company_named_inside_another_is_refused(tmp_path: Path) -> None:
    path, raw = _copy(tmp_path, "companies.json")
    raw["en"].append(["Northwind Holdings Inc. Europe", "Northwind Holdings"])
    with pytest.raises(SampleDataError, match=r"companies\.json: en: .*Northwind Holdings Inc\."):
        load_file(_write(path, raw))


def test_a_short_form_that_is_not_part_of_the_name_is_refused(tmp_path: Path) -> None:
    path, raw = _copy(tmp_path, "companies.json")
    raw["ja"][0] = ["東和電機株式会社", "東和電気"]
    with pytest.raises(SampleDataError, match="東和電気"):
        load_file(_write(path, raw))


def test_a_language_file_missing_a_section_names_the_section(tmp_path: Path) -> None:
    path, raw = _copy(tmp_path, "en.json")
    del raw["tail"]
    raw["categories"]["labor"]["stories"][0]["titel"] = raw["categories"]["labor"]["stories"][0].pop("titles")
    with pytest.raises(SampleDataError) as caught:
        load_file(_write(path, raw))
    message = str(caught.value)
    assert "en.json" in message and "tail" in message and "titel" in message


def test_a_file_that_is_not_json_or_unknown_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "ja.json"
    broken.write_text('{"quarters": [', encoding="utf-8")
    with pytest.raises(SampleDataError, match=r"ja\.json is not JSON"):
        load_file(broken)
    with pytest.raises(SampleDataError, match="not a sample data file"):
        load_file(_write(tmp_path / "extra.json", {}))
    with pytest.raises(SampleDataError, match="missing"):
        load_file(tmp_path / "sources.json")


def test_command_line_writes_a_batch_and_refuses_bad_arguments_without_a_traceback(tmp_path: Path) -> None:
    out = tmp_path / "batch.jsonl.gz"
    ok = subprocess.run([sys.executable, "-m", "newsops.sample", str(out), "-n", "30", "--seed", "4"],
                        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "wrote 30 articles" in ok.stdout and out.stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "newsops.sample", str(tmp_path / "x.jsonl.gz"), "-n", "-3"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "n must be >= 0" in bad.stderr and "Traceback" not in bad.stderr
