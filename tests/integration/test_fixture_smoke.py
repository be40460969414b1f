#!/usr/bin/env python3
"""Proves the integration fixtures work: the Kafka broker takes a topic, a
transactional produce and a read_committed consume; the redis-server keeps a
key; the repo's Avro schemas round-trip through the Confluent framing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402

names = fdit.Names()


def test_kafka_produce_consume():
    topic = names.topic("smoke")
    fdit.create_topics([topic], partitions=4)
    records = [(f"lead-{i}".encode(), f"value-{i}".encode(),
                [("trace", f"t{i}".encode())]) for i in range(8)]
    fdit.produce(topic, records)
    got = fdit.consume_all(topic, expected=len(records), timeout=60)
    assert sorted((r.key, r.value) for r in got) == \
        sorted((k, v) for k, v, _ in records), got
    by_key = {r.key: r for r in got}
    assert by_key[b"lead-3"].headers == [("trace", b"t3")], by_key[b"lead-3"]
    # Eight keys over four partitions: the topic really has partitions.
    assert len({r.partition for r in got}) > 1, "all records on one partition"


def test_kafka_transactions():
    from confluent_kafka import Producer
    topic = names.topic("txn")
    fdit.create_topics([topic], partitions=2)
    p = Producer({"bootstrap.servers": fdit.bootstrap(),
                  "transactional.id": names.group("txn")})
    p.init_transactions(60)
    p.begin_transaction()
    p.produce(topic, key=b"a", value=b"aborted")
    p.abort_transaction(60)
    p.begin_transaction()
    p.produce(topic, key=b"b", value=b"committed")
    p.commit_transaction(60)
    got = fdit.consume_all(topic, timeout=30, idle=2.0)
    assert [r.value for r in got] == [b"committed"], got


def test_redis_round_trip():
    r = fdit.redis_client()
    key = names.key("smoke")
    assert r.ping()
    r.set(key, "hello", ex=60)
    assert r.get(key) == "hello"
    r.delete(key)
    assert r.exists(key) == 0


def test_avro_framing():
    avro = fdit.Avro()
    schema = avro.schema("lead_event")
    fields = {f["name"]: f for f in schema["fields"]}
    record = {}
    for name, f in fields.items():
        t = f["type"]
        if "default" in f:
            record[name] = f["default"]
        elif t == "string":
            record[name] = f"x-{name}"
        elif t in ("long", "int") or (isinstance(t, dict)
                                      and t.get("type") in ("long", "int")):
            record[name] = 1700000000000
        elif t == "double":
            record[name] = 1.5
        elif t == "boolean":
            record[name] = True
        else:
            raise AssertionError(f"lead_event field {name}: type {t!r} has "
                                 "no default; teach this test to fill it")
    data = avro.encode("lead_event", record, schema_id=7)
    assert data[:5] == b"\0\0\0\0\7", data[:5]
    sid, back = avro.decode("LeadEvent", data)
    assert sid == 7 and back == record, (sid, back)


if __name__ == "__main__":
    fdit.main(globals())
