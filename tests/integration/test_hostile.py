#!/usr/bin/env python3
"""Hostile input matrix against the real broker and redis-server.

Every case is produced into partition 0 of an input topic, followed by good
"sentinel" events in the same partition; one funneld run consumes it all.
Each test function then checks one case's documented outcome: a DLQ record
with the reason header and the original bytes, or the defined handling in
Redis, plus the metric that counts it. That the sentinels were applied and
the stored offsets reached the end shows the partition kept flowing.
"""

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

T = "hx"
T0 = int(datetime(2026, 10, 5, 9, tzinfo=timezone.utc).timestamp() * 1000)
DAY = "2026-10-05"  # T0's day in UTC
BUSY_TOUCHES = 100_000  # one lead with this many page views
MODEL = """
[mql]
min_engagement = 1000000

[rule.page_view]
kind = engagement
event_type = page_view
points = 1
cap = 50
"""


def lead_ev(eid, lead=None, anon=None, typ="page_view", at=T0, channel="web",
            tenant=T, **attrs):
    return {"event_id": eid, "tenant_id": tenant, "occurred_at": at,
            "lead_id": lead, "anonymous_id": anon, "type": typ,
            "channel": channel, "campaign": None, "utm_source": None,
            "utm_medium": None, "utm_campaign": None, "utm_term": None,
            "utm_content": None, "attributes": attrs}


def crm_ev(eid, lead, stage, at=T0, amount=None, currency=None, opp=None):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "lead_id": lead, "stage": stage, "opportunity_id": opp,
            "amount_minor": amount, "currency": currency, "owner": None}


class Stream:
    """The produced cases: name -> (topic kind, key, value, reasons)."""

    def __init__(self, avro):
        self.avro = avro
        self.dlq = {}   # case -> (kind, key, value, set of accepted reasons)
        self.good = []  # (kind, key, value, partition)

    def lead(self, ev):
        return self.avro.encode("lead_event", ev, schema_id=1)

    def crm(self, ev):
        return self.avro.encode("crm_stage_event", ev, schema_id=2)

    def bad(self, case, kind, value, *reasons, key=b"k"):
        self.dlq[case] = (kind, key, value, set(reasons))

    def add_good(self, kind, key, value, partition=0):
        self.good.append((kind, key, value, partition))


def build(avro):
    s = Stream(avro)
    good = s.lead(lead_ev("g-1", lead="lead-x"))
    # --- to the DLQ
    s.bad("random_bytes", "lead", bytes.fromhex("9c7f2a11d0e3b4c5a6f70819"),
          "bad-magic-byte")
    s.bad("zero_random_bytes", "lead",
          b"\x00\x0a\x0b\x0c\x0d" + bytes(range(200, 240)),
          "unknown-schema-id")
    s.bad("truncated_avro", "lead", good[:len(good) // 2], "undecodable")
    s.bad("wrong_magic", "lead", b"\x07" + good[1:], "bad-magic-byte")
    s.bad("unknown_schema_id", "lead", b"\x00\x00\x00\x01\x2c" + good[5:],
          "unknown-schema-id")
    s.bad("missing_event_id", "lead", s.lead(lead_ev("", lead="lead-x")),
          "missing-field")
    s.bad("empty_tenant", "lead", s.lead(lead_ev("e-t", lead="lead-x",
                                                 tenant="")),
          "missing-field")
    s.bad("tenant_forging_keys", "lead",
          s.lead(lead_ev("e-tf", lead="x", tenant="other}:lead:y")),
          "invalid-field")
    s.bad("no_lead_or_anonymous_id", "lead", s.lead(lead_ev("e-n")),
          "missing-field")
    # a CrmStageEvent body sent under the LeadEvent schema id: wrong types
    s.bad("wrong_types", "lead",
          b"\x00\x00\x00\x00\x01" + s.crm(crm_ev("e-w", "lead-x", "sql"))[5:],
          "undecodable", "invalid-field", "missing-field")
    s.bad("negative_amount", "crm",
          s.crm(crm_ev("e-neg", "lead-x", "closed_won", amount=-5,
                       currency="USD")), "invalid-field")
    s.bad("absurd_amount", "crm",
          s.crm(crm_ev("e-abs", "lead-x", "closed_won", amount=10**17,
                       currency="USD")), "invalid-field")
    s.bad("occurred_at_1970", "lead", s.lead(lead_ev("e-70", lead="lead-x",
                                                     at=0)), "invalid-field")
    s.bad("occurred_at_2100", "lead",
          s.lead(lead_ev("e-2100", lead="lead-x", at=4102444800000)),
          "invalid-field")
    s.bad("unknown_stage", "crm", s.crm(crm_ev("e-st", "lead-x", "won-ish")),
          "invalid-field")
    s.bad("overlong_id", "lead", s.lead(lead_ev("e-long", lead="L" * 300)),
          "invalid-field")
    s.bad("oversized_1mb_string", "lead",
          s.lead(lead_ev("e-big", lead="lead-x", note="x" * 1_000_000)),
          "oversized")
    # --- defined handling (applied)
    utf8 = s.lead(lead_ev("e-utf8", lead="lead-utf8", channel="ZZZZ"))
    s.add_good("lead", b"lead-utf8", utf8.replace(b"ZZZZ", b"\xff\xfe\xfd\xfc"))
    s.add_good("lead", b"lead-x", s.lead(lead_ev("e-type", lead="lead-x",
                                                 typ="hologram_call")))
    pipes = lead_ev("e|pipe", lead="lead-pipe", channel="paid|social",
                    typ="page|view")
    pipes["campaign"] = "|spring||sale|"
    s.add_good("lead", b"lead-pipe", s.lead(pipes))
    dup = s.lead(lead_ev("e-dup", lead="lead-x", at=T0 + 1000))
    s.add_good("lead", b"lead-x", dup)
    s.add_good("lead", b"lead-x", dup)
    # stage events out of order: the older sql after the opportunity
    s.add_good("crm", b"lead-ooo",
               s.crm(crm_ev("o-2", "lead-ooo", "opportunity", at=T0 + 2000)))
    s.add_good("crm", b"lead-ooo",
               s.crm(crm_ev("o-1", "lead-ooo", "sql", at=T0 + 1000)))
    s.add_good("crm", b"lead-ghost",
               s.crm(crm_ev("gh-1", "lead-ghost", "closed_won", at=T0 + 3000,
                            amount=777, currency="USD", opp="opp-ghost")))
    # sentinels, after everything else in partition 0 of both topics
    s.add_good("lead", b"lead-sent",
               s.lead(lead_ev("s-1", lead="lead-sent", at=T0 + 5000)))
    s.add_good("crm", b"lead-sent",
               s.crm(crm_ev("s-2", "lead-sent", "sql", at=T0 + 6000)))
    return s


def produce(setup, s):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": fdit.bootstrap(),
                  "enable.idempotence": True, "linger.ms": 20,
                  "message.max.bytes": 2_000_000})
    errors = []

    def send(kind, key, value, partition=0):
        topic = setup.lead_topic if kind == "lead" else setup.crm_topic
        fdit.send(p, topic, key=key, value=value, partition=partition,
                  on_delivery=lambda err, m: err and errors.append(err))

    for kind, key, value, _ in s.dlq.values():
        send(kind, key, value)
    for kind, key, value, partition in s.good:
        send(kind, key, value, partition)
    # one lead with many touches, in partition 1
    for i in range(BUSY_TOUCHES):
        send("lead", b"lead-busy",
             s.lead(lead_ev(f"b-{i}", lead="lead-busy", at=T0 + i)), 1)
    assert p.flush(60) == 0 and not errors, errors[:3]


_RESULT = {}


def result():
    """Runs funneld over the whole matrix once; returns what the checks
    read."""
    if "error" in _RESULT:
        raise AssertionError(f"the matrix run failed: {_RESULT['error']}")
    if _RESULT:
        return _RESULT
    try:
        return _run()
    except Exception as e:
        _RESULT["error"] = str(e)[:2000]
        raise


def _run():
    work = fdit.work_dir()
    setup = itlib.Setup("hostile", work, model=MODEL, partitions=2,
                        processing="max_message_bytes = 65536\n")
    setup.create_topics()
    setup.write_config()
    s = build(fdit.Avro())
    produce(setup, s)
    r = fdit.redis_client()
    rb = fdit.redis_client(decode_responses=False)
    setup.run_to_end(r, timeout=240)
    dlq = fdit.consume_all(setup.dlq, expected=len(s.dlq), timeout=60)
    _RESULT.update(setup=setup, stream=s, r=r, rb=rb, dlq=dlq,
                   p=setup.prefix)
    return _RESULT


def dlq_record(case):
    """The DLQ record of case: its bytes, or for a value cut to the DLQ's
    512 KiB limit its first bytes and a funneld.truncated.from header."""
    res = result()
    kind, key, value, reasons = res["stream"].dlq[case]
    for rec in res["dlq"]:
        if rec.value == value:
            return rec, reasons
        h = dict(rec.headers or [])
        if len(value) > 512 * 1024 and rec.value == value[:512 * 1024]:
            assert h.get("funneld.truncated.from") == \
                str(len(value)).encode(), h
            return rec, reasons
    raise AssertionError(f"{case}: no DLQ record with its bytes")


def check_dlq(case):
    rec, reasons = dlq_record(case)
    h = {k: (v.decode() if isinstance(v, bytes) else v)
         for k, v in (rec.headers or [])}
    assert h.get("funneld.reason") in reasons, (case, h)
    assert h.get("funneld.error"), (case, h)
    assert h.get("funneld.source.partition") == "0", (case, h)
    res = result()
    counted = res["r"].hgetall(
        f"{res['p']}:stats:{res['setup'].group}:dlq")
    assert int(counted.get(h["funneld.reason"], 0)) >= 1, counted


def _dlq_test(case):
    def test():
        check_dlq(case)
    test.__name__ = f"test_dlq_{case}"
    return test


for _case in ["random_bytes", "zero_random_bytes", "truncated_avro",
              "wrong_magic", "unknown_schema_id", "missing_event_id",
              "empty_tenant", "tenant_forging_keys",
              "no_lead_or_anonymous_id", "wrong_types",
              "negative_amount", "absurd_amount", "occurred_at_1970",
              "occurred_at_2100", "unknown_stage", "overlong_id",
              "oversized_1mb_string"]:
    globals()[f"test_dlq_{_case}"] = _dlq_test(_case)


def test_dlq_counts_match():
    res = result()
    counted = res["r"].hgetall(
        f"{res['p']}:stats:{res['setup'].group}:dlq")
    assert sum(int(v) for v in counted.values()) == len(res["stream"].dlq), \
        counted
    assert len(res["dlq"]) == len(res["stream"].dlq)


def test_partition_keeps_flowing():
    res = result()
    r, p = res["r"], res["p"]
    lead = r.hgetall(f"{p}:{{{T}}}:lead:lead-sent")
    assert lead.get("stage") == "sql", lead


def test_invalid_utf8_is_kept_as_bytes():
    res = result()
    members = res["rb"].zrange(
        f"{res['p']}:{{{T}}}:touches:lead:lead-utf8".encode(), 0, -1)
    assert members == [b"e-utf8|\xff\xfe\xfd\xfc||page_view"], members


def test_separator_in_touch_fields_is_replaced():
    res = result()
    members = res["r"].zrange(f"{res['p']}:{{{T}}}:touches:lead:lead-pipe",
                              0, -1)
    assert members == ["e_pipe|paid_social|_spring__sale_|page_view"], \
        members


def test_unknown_event_type_is_a_touch():
    res = result()
    events = res["r"].hgetall(f"{res['p']}:{{{T}}}:events:{DAY}")
    assert events.get("hologram_call") == "1", events


def test_duplicate_event_id_changes_nothing():
    res = result()
    r, p, g = res["r"], res["p"], res["setup"].group
    assert r.hget(f"{p}:stats:{g}", "duplicates") == "1"
    members = r.zrange(f"{p}:{{{T}}}:touches:lead:lead-x", 0, -1)
    assert sum(m.startswith("e-dup|") for m in members) == 1, members


def test_stage_events_out_of_order():
    res = result()
    r, p = res["r"], res["p"]
    lead = r.hgetall(f"{p}:{{{T}}}:lead:lead-ooo")
    assert lead["stage"] == "opportunity" and lead["implied:sql"] == "1", lead
    total = r.hgetall(f"{p}:{{{T}}}:total")
    # sql entries: lead-ooo (implied by its opportunity; its older sql
    # event then counts nothing), lead-ghost (implied by its closed_won) and
    # lead-sent (a real sql event)
    assert total["sql"] == "3" and total["sql:implied"] == "2", total
    assert total["opportunity"] == "2", total


def test_closed_won_without_history():
    res = result()
    r, p = res["r"], res["p"]
    lead = r.hgetall(f"{p}:{{{T}}}:lead:lead-ghost")
    assert lead["stage"] == "closed_won", lead
    rev = r.hgetall(f"{p}:{{{T}}}:revenue:linear:USD")
    assert rev == {"total": "777", "deals": "1", "unattributed": "777"}, rev
    recs = fdit.consume_all(res["setup"].attribution, expected=1, timeout=30)
    _, ev = fdit.Avro().decode("attribution_event", recs[0].value)
    assert ev["touch_count"] == 0 and ev["credits"] == [] \
        and ev["amount_minor"] == 777, ev


def test_lead_with_100k_touches():
    res = result()
    r, p, g = res["r"], res["p"], res["setup"].group
    key = f"{p}:{{{T}}}:touches:lead:lead-busy"
    assert r.zcard(key) == 200, r.zcard(key)  # processing.touch_max
    newest = r.zrange(key, -1, -1)[0]
    assert newest.startswith(f"b-{BUSY_TOUCHES - 1}|"), newest
    lead = r.hgetall(f"{p}:{{{T}}}:lead:lead-busy")
    assert lead["engagement"] == "50", lead  # the rule's cap
    assert int(r.hget(f"{p}:stats:{g}", "in:lead_events")) >= BUSY_TOUCHES


if __name__ == "__main__":
    fdit.main(globals())
