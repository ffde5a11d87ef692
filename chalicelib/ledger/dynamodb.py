"""The ledger on DynamoDB: a conditional put claims a run id, so a second claim fails atomically.

Two tables (the stack creates them; ``RUNS_TABLE`` and ``STATE_TABLE`` below are their shape):

- runs: key ``run_id``; a global secondary index ``state-created`` (partition ``state``,
  sort ``created``) serves "newest runs in a state" without a scan. ``detail`` is a map,
  so ``update_run`` merges entries with one conditional UpdateItem instead of a
  read-modify-write that two Lambdas could interleave.
- state: key ``namespace`` + ``key``; the value is stored as JSON text, as SQLite stores it,
  so what a component reads back is exactly what it wrote.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, get_args

from botocore.exceptions import ClientError

from chalicelib.aws import error_code
from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.ledger.base import Ledger, RunRecord, RunState

STATE_INDEX = "state-created"
_RUN_FIELDS = ("input_key", "etag", "state", "created", "updated", "ended", "verdict", "detail")
_RUN_STATES: tuple[str, ...] = get_args(RunState)

RUNS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "run_id", "AttributeType": "S"},
        {"AttributeName": "state", "AttributeType": "S"},
        {"AttributeName": "created", "AttributeType": "N"},
    ],
    "KeySchema": [{"AttributeName": "run_id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [{
        "IndexName": STATE_INDEX,
        "KeySchema": [{"AttributeName": "state", "KeyType": "HASH"},
                      {"AttributeName": "created", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }],
    "BillingMode": "PAY_PER_REQUEST",
}
STATE_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "namespace", "AttributeType": "S"},
        {"AttributeName": "key", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "namespace", "KeyType": "HASH"},
                  {"AttributeName": "key", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def create_tables(client: Any, runs_table: str, state_table: str) -> None:
    """Create both tables with the shape above (tests and a fresh dev account; the stack does it in prod)."""
    client.create_table(TableName=runs_table, **RUNS_TABLE)
    client.create_table(TableName=state_table, **STATE_TABLE)
    for name in (runs_table, state_table):
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def _to_number(value: Any) -> Any:
    """JSON-like value -> what boto3's serializer accepts (it refuses float; Decimal is exact)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {str(k): _to_number(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_number(v) for v in value]
    return str(value)


def _from_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_number(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_number(v) for v in value]
    return value


class DynamoDBLedger(Ledger):
    def __init__(self, runs_table: str, state_table: str, client: Any, *, clock: Clock | None = None) -> None:
        if not runs_table or not state_table:
            raise ValueError("DynamoDBLedger needs both table names (NEWSOPS_RUNS_TABLE, NEWSOPS_STATE_TABLE)")
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.runs_table = runs_table
        self.state_table = state_table
        self._ddb = client
        self.clock = clock or SYSTEM_CLOCK
        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    # -- (de)serialisation ------------------------------------------------------------------
    def _item(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(_to_number(v)) for k, v in doc.items() if v is not None}

    def _doc(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: _from_number(self._de.deserialize(v)) for k, v in item.items()}

    def _value(self, value: Any) -> dict[str, Any]:
        return self._ser.serialize(_to_number(value))

    def _record(self, item: dict[str, Any]) -> RunRecord:
        d = self._doc(item)
        return RunRecord(
            run_id=d["run_id"], input_key=d["input_key"], etag=d["etag"], state=d["state"],
            created=float(d["created"]), updated=float(d["updated"]),
            ended=float(d["ended"]) if d.get("ended") is not None else None,
            verdict=d.get("verdict"), detail=d.get("detail") or {},
        )

    # -- runs -------------------------------------------------------------------------------
    def claim_run(self, record: RunRecord) -> bool:
        doc = {"run_id": record.run_id, "input_key": record.input_key, "etag": record.etag,
               "state": record.state, "created": record.created, "updated": record.updated,
               "ended": record.ended, "verdict": record.verdict, "detail": record.detail or {}}
        return self._conditional(self._ddb.put_item, Item=self._item(doc),
                                 ConditionExpression="attribute_not_exists(run_id)")

    def take_over_claim(self, run_id: str, *, claimed_before: float) -> bool:
        return self._conditional(
            self._ddb.update_item, Key={"run_id": {"S": run_id}},
            UpdateExpression="SET #updated = :now",
            ConditionExpression="#state = :claimed AND #updated < :before",
            ExpressionAttributeNames={"#updated": "updated", "#state": "state"},
            ExpressionAttributeValues={":now": self._value(self.clock.now()), ":claimed": {"S": "CLAIMED"},
                                       ":before": self._value(claimed_before)})

    def release_claim(self, run_id: str) -> bool:
        return self._conditional(
            self._ddb.update_item, Key={"run_id": {"S": run_id}},
            UpdateExpression="SET #state = :claimed, #updated = :zero",
            ConditionExpression="#state IN (:claimed, :running)",
            ExpressionAttributeNames={"#updated": "updated", "#state": "state"},
            ExpressionAttributeValues={":claimed": {"S": "CLAIMED"}, ":running": {"S": "RUNNING"},
                                       ":zero": self._value(0)})

    def reopen_run(self, run_id: str, *, attempt: int, execution: str,
                   previous: dict[str, Any]) -> bool:
        # A first attempt has no detail.attempt: the condition accepts its absence only for 2.
        current = "(attribute_not_exists(#detail.#attempt) OR #detail.#attempt = :prev)" \
            if attempt == 2 else "#detail.#attempt = :prev"
        return self._conditional(
            self._ddb.update_item, Key={"run_id": {"S": run_id}},
            UpdateExpression="SET #state = :running, #updated = :now, "
                             "#detail.#attempts = list_append(if_not_exists(#detail.#attempts, :empty), :previous), "
                             "#detail.#attempt = :attempt, #detail.#execution = :execution "
                             "REMOVE #ended, #verdict",
            ConditionExpression=f"attribute_exists(run_id) AND #state <> :succeeded AND {current}",
            ExpressionAttributeNames={"#state": "state", "#updated": "updated", "#detail": "detail",
                                      "#attempts": "attempts", "#attempt": "attempt",
                                      "#execution": "execution", "#ended": "ended",
                                      "#verdict": "verdict"},
            ExpressionAttributeValues={
                ":running": {"S": "RUNNING"}, ":succeeded": {"S": "SUCCEEDED"},
                ":now": self._value(self.clock.now()), ":empty": {"L": []},
                ":previous": {"L": [self._value(previous)]}, ":attempt": self._value(attempt),
                ":prev": self._value(attempt - 1), ":execution": {"S": execution}})

    def _conditional(self, call: Any, **kwargs: Any) -> bool:
        """A conditional write on the runs table: False when its condition does not hold."""
        try:
            call(TableName=self.runs_table, **kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        detail = fields.pop("detail", None) or {}
        fields.pop("updated", None)  # always now, as in SQLite
        names: dict[str, str] = {"#run_id": "run_id", "#updated": "updated"}
        values: dict[str, Any] = {":updated": self._value(self.clock.now())}
        sets = ["#updated = :updated"]
        removes: list[str] = []
        for i, (name, value) in enumerate(fields.items()):
            if name not in _RUN_FIELDS:
                raise ValueError(f"not a run field: {name}")
            names[f"#f{i}"] = name
            if value is None:
                removes.append(f"#f{i}")
            else:
                values[f":f{i}"] = self._value(value)
                sets.append(f"#f{i} = :f{i}")
        if detail:
            names["#detail"] = "detail"
            for i, (k, v) in enumerate(detail.items()):
                names[f"#d{i}"] = str(k)
                values[f":d{i}"] = self._value(v)
                sets.append(f"#detail.#d{i} = :d{i}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            resp = self._ddb.update_item(
                TableName=self.runs_table, Key={"run_id": {"S": run_id}}, UpdateExpression=expression,
                ConditionExpression="attribute_exists(#run_id)", ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise KeyError(f"unknown run {run_id}") from None
            raise
        return self._record(resp["Attributes"])

    def get_run(self, run_id: str) -> RunRecord | None:
        resp = self._ddb.get_item(TableName=self.runs_table, Key={"run_id": {"S": run_id}},
                                  ConsistentRead=True)
        return self._record(resp["Item"]) if "Item" in resp else None

    def list_runs(
        self, *, state: str | None = None, limit: int = 50, before: float | None = None
    ) -> list[RunRecord]:
        if limit <= 0:
            return []
        records: list[RunRecord] = []
        for s in [state] if state else _RUN_STATES:
            records.extend(self._query_state(s, limit, before))
        records.sort(key=lambda r: r.created, reverse=True)
        return records[:limit]

    def _query_state(self, state: str, limit: int, before: float | None) -> list[RunRecord]:
        condition = "#state = :state"
        values: dict[str, Any] = {":state": {"S": state}}
        names = {"#state": "state"}
        if before is not None:
            condition += " AND #created < :before"
            names["#created"] = "created"
            values[":before"] = self._value(before)
        out: list[RunRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": self.runs_table, "IndexName": STATE_INDEX, "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            "ScanIndexForward": False, "Limit": limit}
        while len(out) < limit:
            resp = self._ddb.query(**kwargs)
            out.extend(self._record(item) for item in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return out[:limit]

    # -- small documents --------------------------------------------------------------------
    def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        resp = self._ddb.get_item(TableName=self.state_table, ConsistentRead=True,
                                  Key={"namespace": {"S": namespace}, "key": {"S": key}})
        item = resp.get("Item")
        return json.loads(item["value"]["S"]) if item else None

    def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        self._ddb.put_item(TableName=self.state_table, Item={
            "namespace": {"S": namespace}, "key": {"S": key},
            "value": {"S": json.dumps(value)}, "updated": self._value(self.clock.now())})

    def list_state(self, namespace: str) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.state_table, "KeyConditionExpression": "#ns = :ns",
            "ExpressionAttributeNames": {"#ns": "namespace"},
            "ExpressionAttributeValues": {":ns": {"S": namespace}}, "ConsistentRead": True}
        while True:
            resp = self._ddb.query(**kwargs)
            out.extend((i["key"]["S"], json.loads(i["value"]["S"])) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
