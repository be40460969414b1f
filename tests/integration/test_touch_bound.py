#!/usr/bin/env python3
"""processing.touch_max bounds a lead's touches and score history, whether
the lead is new, kept in funneld's lead cache between batches, or read back
from Redis after a restart (funneld trims a lead's zsets only when they
can exceed the bound: their sizes are known for a new lead and kept in
its hash, history_bound, and read once for a hash without it), and an
anonymous id's touches (trimmed at every batch that adds to them).

touch_max = 3; every page view is a touch and earns 1 engagement point, so
each view also adds a score-history entry. One funneld runs rounds 1 and 2
(lead N new in round 1, cached in round 2); a second funneld runs round 3
(N read from Redis). Lead O exists in Redis before the first funneld starts
(hand-written hash and zsets of 5 members, as an older funneld could have
left them with a larger touch_max, without history_bound): their sizes
are read with it, its first new touch trims them and its hash gets the
bound. The anonymous ids zN and zO follow N and O's rounds (zO's 5 touches
stored before).

A closed deal is credited to the touches the bound keeps, whether they were
committed before it or come earlier in its own batch (a close reads the
stored touches mid-batch and adds the batch's own, cut to touch_max).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

T = "tb"
T0 = 20000 * 86400000

MODEL = """
[rule.view]
kind = engagement
event_type = page_view
points = 1
cap = 1000
"""


def view(avro, lead, n):
    return itlib.lead_record(avro, T, lead, f"{lead}-{n}", T0 + n * 1000)


def test_touch_bound_new_cached_and_reloaded_leads():
    work = fdit.work_dir()
    avro = fdit.Avro()
    s = itlib.Setup("touchb", work, model=MODEL, partitions=1,
                    processing="touch_max = 3\n")
    s.create_topics()
    s.write_config()
    r = fdit.redis_client()
    p = s.prefix
    touches = f"{p}:{{{T}}}:touches:lead:"
    scores = f"{p}:{{{T}}}:scores:"
    anons = f"{p}:{{{T}}}:touches:anon:"
    # Lead O, stored before: 5 touches and 5 score entries.
    r.hset(f"{p}:{{{T}}}:lead:O", mapping={
        "stage": "lead", "cycle": "1", "fit": "0", "engagement": "5",
        "created_at": str(T0), "updated_at": str(T0)})
    for i in range(5):
        r.zadd(touches + "O", {f"old-{i}|email||page_view": T0 - 10 + i})
        r.zadd(scores + "O", {f"old-{i}|0|{i + 1}": T0 - 10 + i})
        r.zadd(anons + "zO", {f"zold-{i}|email||page_view": T0 - 10 + i})

    def check(lead, ids):
        keys = ((anons + lead,) if lead.startswith("z") else
                (touches + lead, scores + lead))
        for key in keys:
            got = [m.split("|")[0] for m in r.zrange(key, 0, -1)]
            assert got == ids, (key, got, ids)

    def bound(lead):
        return r.hget(f"{p}:{{{T}}}:lead:{lead}", "history_bound")

    def anon(a, n):
        return anon_view(avro, a, f"{a}-{n}", T0 + n * 1000)

    with itlib.Cleanup() as c:
        c.add(s)
        proc = s.start()
        # Round 1: N new with 2 views; O gets 1 view (zN, zO likewise).
        fdit.produce(s.lead_topic, [view(avro, "N", 0), view(avro, "N", 1),
                                    view(avro, "O", 0), anon("zN", 0),
                                    anon("zN", 1), anon("zO", 0)])
        s.wait_caught_up(proc, r, s.end_offsets())
        for x in ("N", "zN"):
            check(x, [f"{x}-0", f"{x}-1"])
        check("O", ["old-3", "old-4", "O-0"])
        check("zO", ["zold-3", "zold-4", "zO-0"])
        assert (bound("N"), bound("O")) == ("2,2", "3,3")
        # Round 2: N is in the lead cache; 2 more views pass the bound.
        fdit.produce(s.lead_topic, [view(avro, "N", 2), view(avro, "N", 3),
                                    anon("zN", 2), anon("zN", 3)])
        s.wait_caught_up(proc, r, s.end_offsets())
        for x in ("N", "zN"):
            check(x, [f"{x}-1", f"{x}-2", f"{x}-3"])
        assert bound("N") == "3,3"  # trimmed: at most touch_max
        # Round 3, after a restart: N is read from Redis, its bound with it.
        s.stop(proc)
        proc = s.start()
        fdit.produce(s.lead_topic, [view(avro, "N", 4), view(avro, "O", 1),
                                    anon("zN", 4), anon("zO", 1)])
        s.wait_caught_up(proc, r, s.end_offsets())
        for x in ("N", "zN"):
            check(x, [f"{x}-2", f"{x}-3", f"{x}-4"])
        check("O", ["old-4", "O-0", "O-1"])
        check("zO", ["zold-4", "zO-0", "zO-1"])
        assert (bound("N"), bound("O")) == ("3,3", "3,3")
        s.stop(proc)
    assert r.hget(f"{p}:{{{T}}}:lead:N", "engagement") == "5"


def anon_view(avro, anon, event_id, at, lead=None):
    """A page view of anonymous id anon; with lead, an identify that
    stitches anon to lead."""
    return ((lead or anon).encode(), avro.encode("lead_event", {
        "event_id": event_id, "tenant_id": T, "occurred_at": at,
        "lead_id": lead, "anonymous_id": anon,
        "type": "identify" if lead else "page_view", "channel": "social",
        "campaign": None, "utm_source": None, "utm_medium": None,
        "utm_campaign": None, "utm_term": None, "utm_content": None,
        "attributes": {}}, schema_id=1))


def test_close_in_batch_credits_the_touches_the_bound_keeps():
    work = fdit.work_dir()
    avro = fdit.Avro()
    # Long enough waits that the second run applies its five events in one
    # batch (checked in its log below).
    s = itlib.Setup("touchc", work, model=MODEL, partitions=1,
                    processing="touch_max = 3\nmax_task_idle_ms = 5000\n"
                    "batch.max_ms = 2000\n")
    s.create_topics()
    s.write_config()
    r = fdit.redis_client()
    won = s.crm_topic
    with itlib.Cleanup() as c:
        c.add(s)
        # Committed before: W-0, W-1 on lead W's touches.
        proc = s.start()
        fdit.produce(s.lead_topic, [view(avro, "W", 0), view(avro, "W", 1)])
        s.wait_caught_up(proc, r, s.end_offsets())
        s.stop(proc)
        # Produced while funneld is down, so they come in one batch: an
        # anonymous view Z-2, an identify W-3 stitching it to W, a view W-4,
        # the close at +5 s, and a view W-6 after it.
        fdit.produce(s.lead_topic, [
            anon_view(avro, "zA", "Z-2", T0 + 2000),
            anon_view(avro, "zA", "W-3", T0 + 3000, lead="W"),
            view(avro, "W", 4), view(avro, "W", 6)])
        fdit.produce(won, [(b"W", avro.encode("crm_stage_event", {
            "event_id": "won-1", "tenant_id": T, "occurred_at": T0 + 5000,
            "lead_id": "W", "stage": "closed_won", "opportunity_id": "o-1",
            "amount_minor": 1000, "currency": "USD", "owner": None},
            schema_id=2))])
        proc = s.start()
        s.wait_caught_up(proc, r, s.end_offsets())
        s.stop(proc)
        assert "5 events in 1 batches" in proc.log_text(), proc.log_tail()
    recs = fdit.consume_all(s.attribution, expected=1, timeout=60)
    assert len(recs) == 1, recs
    _, v = avro.decode("attribution_event", recs[0].value)
    # The lead's zset keeps its newest 3 of W-0, W-1, W-3, W-4 (W-0 goes);
    # the anonymous one holds Z-2. W-6 is after the close.
    want = {"W-1", "Z-2", "W-3", "W-4"}
    assert v["touch_count"] == len(want), v
    for model in {c["model"] for c in v["credits"]}:
        got = {c["touch_event_id"] for c in v["credits"]
               if c["model"] == model}
        assert got <= want, (model, got)
        assert sum(c["credit_minor"] for c in v["credits"]
                   if c["model"] == model) == 1000, (model, v["credits"])
    linear = {c["touch_event_id"]: c["credit_minor"] for c in v["credits"]
              if c["model"] == "linear"}
    assert linear == {"W-1": 250, "Z-2": 250, "W-3": 250, "W-4": 250}, \
        linear


if __name__ == "__main__":
    fdit.main(globals())
