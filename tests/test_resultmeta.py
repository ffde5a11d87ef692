"""A result object's metadata is one typed model, read back the way it was written."""

import pytest

from chalicelib.contract.resultmeta import ResultMeta, ResultMetaError


def test_result_metadata_round_trips_as_object_metadata_text():
    meta = ResultMeta(records=7, quarantined=1, input_sha256="a" * 64, model_version="v1",
                      seconds=1.23456, backbone_task="embedding")
    text = meta.to_metadata()
    assert text["records"] == "7" and text["seconds"] == "1.235" and text["backbone_task"] == "embedding"
    back = ResultMeta.from_metadata(text)
    assert back.accounted == 8 and back.model_version == "v1" and back.model_extra == {"backbone_task": "embedding"}


@pytest.mark.parametrize("metadata, says", [({}, "no record count"), ({"records": "-1"}, "records"),
                                            ({"records": "x"}, "records")])
def test_metadata_a_job_did_not_write_is_refused_by_name(metadata, says):
    with pytest.raises(ResultMetaError, match=says):
        ResultMeta.from_metadata(metadata)
