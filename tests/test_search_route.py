import json

from chalice.test import Client

from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming


def test_search_route_finds_filters_facets_and_refuses_bad_parameters(make_runtime):
    import app

    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    records = [article(i) for i in range(6)]
    records[2]["title"] = "Meridian Bank plc agrees takeover"
    records.append({"url": "https://news.example/ja1", "title": "東和電機が決算を発表",
                    "body": "東和電機株式会社は決算を発表した。自動販売機と電動車の売上が伸びた。",
                    "language": "ja", "source": "みなと経済新聞"})
    _, rid = put_incoming(rt, "s.jsonl.gz", jsonl_gz(records))
    with Client(app.app) as client:
        r = client.http.get("/search?q=takeover")
        assert r.status_code == 200
        body = json.loads(r.body)
        assert body["total"] == 1 and body["hits"][0]["title"] == "Meridian Bank plc agrees takeover"
        assert "body" not in body["hits"][0]
        body = json.loads(client.http.get("/search?q=決算").body)
        assert body["total"] == 1
        assert json.loads(client.http.get("/search?q=自動車").body)["total"] == 0
        body = json.loads(client.http.get(f"/search?run_id={rid}&facets=true&size=3").body)
        assert body["total"] == 7 and len(body["hits"]) == 3
        assert {b["key"] for b in body["facets"]["sources"]} == {"Example News", "みなと経済新聞"}
        for bad in ("/search?size=0", "/search?date_from=2026-13-01", "/search?colour=red",
                    "/search?date_from=2026-11-02&date_to=2026-11-01"):
            r = client.http.get(bad)
            assert r.status_code == 400, bad
            assert json.loads(r.body)["Message"]
