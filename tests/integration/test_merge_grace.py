#!/usr/bin/env python3
"""processing.merge_grace_ms: how long the event-time merge waits for the
other input topic of a partition pair when that topic is at its end.

A lead's touch and its close go to the two input topics from two
producers: the close (CRM topic) right away, the touch (lead topic, an
hour of event time before the close) from a producer that lingers a
second over its batch, so the touch reaches the broker about a second
after the close although it was handed over first. With merge_grace_ms
= 3000 funneld holds the close until the touch is in and credits the
touch's channel with the revenue; with the default (5 ms) it applies the
close before the touch exists, and the revenue is unattributed. The
second run is what shows that the first one's result comes from the
setting.
"""

import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

PARTS = 2
T = "mg"
T0 = 1791190800000  # 2026-10-05T09:00:00Z
H = 3600 * 1000
LEAD = "lead-grace"
AMOUNT = 250000
LINGER_MS = 1000


def lead_ev(eid, at):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "lead_id": LEAD, "anonymous_id": None, "type": "page_view",
            "channel": "social", "campaign": None, "utm_source": None,
            "utm_medium": None, "utm_campaign": None, "utm_term": None,
            "utm_content": None, "attributes": {}}


def crm_ev(eid, at, stage, amount=None):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "lead_id": LEAD, "stage": stage, "opportunity_id": "opp-g",
            "amount_minor": amount, "currency": "USD" if amount else None,
            "owner": "sam"}


def run(name, processing):
    """One funneld over the touch and close of a fresh setup; its revenue
    hash of the linear model."""
    work = fdit.work_dir()
    avro = fdit.Avro()
    s = itlib.Setup(name, work, partitions=PARTS, processing=processing)
    s.create_topics()
    s.write_config()
    r = fdit.redis_client()
    part = zlib.crc32(LEAD.encode()) % PARTS
    p = s.start()
    try:
        p.wait_log(r"assigned \d+ partition pair", timeout=120)
        late = fdit.producer(**{"linger.ms": LINGER_MS})
        prompt = fdit.producer(**{"linger.ms": 0})
        for producer, topic in ((late, s.lead_topic), (prompt, s.crm_topic)):
            producer.list_topics(topic, timeout=30)  # connected, topic known
        delivered = {}

        def on_delivery(err, msg):
            assert err is None, err
            delivered[msg.topic()] = time.monotonic()

        late.produce(s.lead_topic, key=LEAD.encode(), partition=part,
                     value=avro.encode("lead_event", lead_ev("g-touch", T0),
                                       schema_id=1),
                     on_delivery=on_delivery)
        late.poll(0)
        for eid, at, stage, amount in (("g-opp", T0 + H, "opportunity", None),
                                       ("g-won", T0 + 2 * H, "closed_won",
                                        AMOUNT)):
            prompt.produce(s.crm_topic, key=LEAD.encode(), partition=part,
                           value=avro.encode("crm_stage_event",
                                             crm_ev(eid, at, stage, amount),
                                             schema_id=2),
                           on_delivery=on_delivery)
        assert prompt.flush(30) == 0
        # poll, not flush: flush would send the lingering touch at once
        fdit.wait_for(lambda: late.poll(0.05) >= 0 and
                      s.lead_topic in delivered, 30,
                      "the lingering producer to deliver the touch")
        gap = delivered[s.lead_topic] - delivered[s.crm_topic]
        print(f"{name}: the touch reached the broker {gap * 1000:.0f} ms "
              "after the close", flush=True)
        assert gap > 0.5, gap
        s.wait_caught_up(p, r, s.end_offsets(), timeout=60)
    finally:
        s.stop(p)
    return r.hgetall(f"{s.prefix}:{{{T}}}:revenue:linear:USD")


def test_grace_keeps_a_lingering_touch_before_its_close():
    rev = run("grace_long", "merge_grace_ms = 3000\nmax_task_idle_ms = 5000\n")
    print(f"merge_grace_ms = 3000: {rev}", flush=True)
    assert rev.get("total") == str(AMOUNT), rev
    assert rev.get("channel:social") == str(AMOUNT), rev

    rev = run("grace_default", "")
    print(f"default merge_grace_ms: {rev}", flush=True)
    assert rev.get("total") == str(AMOUNT), rev
    assert rev.get("unattributed") == str(AMOUNT), rev
    assert "channel:social" not in rev, rev


if __name__ == "__main__":
    fdit.main(globals())
