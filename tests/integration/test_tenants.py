#!/usr/bin/env python3
"""Tenant isolation: no tenant's events can change another tenant's keys.

Two tenants send byte-for-byte the same journeys (same lead ids, anonymous
ids and event ids; only tenant_id differs). Run X consumes both tenants'
events interleaved; run Y consumes tenant tb's events alone. Every key of
tenant tb must come out identical in both runs: a shared dedupe marker, a
shared alias or any key name outside the tenant's hash tag would show here.
"""

import json
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

PARTS = 4


def produce(setup, events, avro):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": fdit.bootstrap(),
                  "enable.idempotence": True, "linger.ms": 20})
    errors = []
    for ev in events:
        crm = "stage" in ev
        key = (ev["lead_id"] if crm else ev["lead_id"] or ev["anonymous_id"])
        value = avro.encode("crm_stage_event" if crm else "lead_event", ev,
                            schema_id=2 if crm else 1)
        p.produce(setup.crm_topic if crm else setup.lead_topic,
                  key=key.encode(), value=value,
                  partition=zlib.crc32(key.encode()) % PARTS,
                  on_delivery=lambda err, m: err and errors.append(err))
        p.poll(0)
    assert p.flush(60) == 0 and not errors, errors[:3]


def tenant_keys(dump, tenant):
    return {k: v for k, v in dump.items() if f":{{{tenant}}}:" in k}


def test_tenants_do_not_touch_each_other():
    work = fdit.work_dir()
    jsonl = work / "t.jsonl"
    fdit.run_gen(["--dry-run", "--jsonl", jsonl, "--events", 6000,
                  "--tenants", 1, "--seed", 11])
    base = [json.loads(line) for line in jsonl.read_text().splitlines()]
    a = [dict(ev, tenant_id="ta") for ev in base]
    b = [dict(ev, tenant_id="tb") for ev in base]
    both = [ev for pair in zip(a, b) for ev in pair]

    avro = fdit.Avro()
    r = fdit.redis_client()
    runs = {}
    for name, events in (("x", both), ("y", b)):
        setup = itlib.Setup(f"tenants_{name}", work, partitions=PARTS)
        setup.create_topics()
        setup.write_config()
        produce(setup, events, avro)
        setup.run_to_end(r, timeout=120)
        runs[name] = itlib.dump(r, setup.prefix)

    x_tb, y_tb = tenant_keys(runs["x"], "tb"), tenant_keys(runs["y"], "tb")
    assert len(y_tb) > 100, f"too few keys to compare: {len(y_tb)}"
    lines = itlib.diff(y_tb, x_tb)
    assert not lines, "tenant tb's keys changed by tenant ta's events:\n  " \
        + "\n  ".join(lines)
    # and ta got its own, equal, copy (same journeys, other tenant)
    x_ta = {k.replace("{ta}", "{tb}"): v
            for k, v in tenant_keys(runs["x"], "ta").items()}
    lines = itlib.diff(y_tb, x_ta)
    assert not lines, "tenant ta differs from tb on equal input:\n  " + \
        "\n  ".join(lines)


if __name__ == "__main__":
    fdit.main(globals())
