#!/usr/bin/env python3
"""scoring.decay: the engagement score decays in event time, per tenant.

Tenant t1 decays linearly (10 points per 30-day period, periods counted
from 1970-01-01 UTC), tenant t2 by half-life (10 days), tenant t3 not at
all. Each gets page views of 10 engagement points; the MQL condition is
engagement >= 25. Values computed by hand:

t1, lead L1 (day 20000 = 2024-10-04; period boundaries every 30 days, the
next at day 20010):
  day 20000 01:00  +10             -> 10
  day 20031 01:00  one boundary -10 -> 0, +10 -> 10
  day 20031 02:00  +10             -> 20
  day 20032 01:00  +10             -> 30  MQL here (not at the 3rd view,
                                          where undecayed it would be 30)
t2, lead L2:
  day 20000 01:00  +10             -> 10
  day 20010 01:00  x 0.5 -> 5, +10  -> 15
  day 20020 01:00  x 0.5 -> 7.5 -> 8 (rounded), +10 -> 18  no MQL
t3, lead L3: the same views as L1 -> 10, 20, 30, 40; MQL at the 3rd.
t4 (expire, 10 days: each view's points count until the lead has an event
10 days or more after it), lead L4:
  day 20000 01:00  +10             -> 10
  day 20005 01:00  +10             -> 20
  day 20010 01:00  day 20000's 10 expire -> 10, +10 -> 20
  day 20016 01:00  day 20005's expire -> 10, +10 -> 20
  then, produced last, a view of day 20001 01:00: 15 days older than the
  lead's latest event, so expired already: earns nothing (score stays 20,
  no history entry). awards = "<day 20010>:10,<day 20016>:10".
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

DAY = 86400000
HOUR = 3600000
T0 = 20000 * DAY + HOUR

MODEL = """
[mql]
min_engagement = 25

[scoring]
decay = linear
decay_days = 30
decay_points = 10

[rule.view]
kind = engagement
event_type = page_view
points = 10

[tenant.t2]
scoring.decay = half_life
scoring.decay_days = 10

[tenant.t3]
scoring.decay = none

[tenant.t4]
scoring.decay = expire
scoring.decay_days = 10
"""


def view(avro, tenant, lead, n, at):
    return itlib.lead_record(avro, tenant, lead, f"{tenant}-{lead}-{n}", at)


def test_engagement_decays_per_tenant():
    work = fdit.work_dir()
    avro = fdit.Avro()
    s = itlib.Setup("decay", work, model=MODEL, partitions=1)
    s.create_topics()
    s.write_config()
    l1 = [T0, T0 + 31 * DAY, T0 + 31 * DAY + HOUR, T0 + 32 * DAY]
    l2 = [T0, T0 + 10 * DAY, T0 + 20 * DAY]
    recs = []
    for tenant, lead, times in (("t1", "L1", l1), ("t2", "L2", l2),
                                ("t3", "L3", l1)):
        recs += [view(avro, tenant, lead, i, at)
                 for i, at in enumerate(times)]
    l4 = [T0, T0 + 5 * DAY, T0 + 10 * DAY, T0 + 16 * DAY]
    recs += [view(avro, "t4", "L4", i, at) for i, at in enumerate(l4)]
    recs.sort(key=lambda rec: avro.decode("lead_event", rec[1])[1]
              ["occurred_at"])
    recs.append(view(avro, "t4", "L4", 9, T0 + DAY))
    fdit.produce(s.lead_topic, recs)
    r = fdit.redis_client()
    s.run_to_end(r, timeout=120)

    def lead(t, L):
        return r.hgetall(f"{s.prefix}:{{{t}}}:lead:{L}")

    assert lead("t1", "L1")["engagement"] == "30", lead("t1", "L1")
    assert lead("t1", "L1")["stage"] == "mql", lead("t1", "L1")
    assert lead("t1", "L1")["entered:mql"] == str(l1[3]), lead("t1", "L1")
    assert lead("t2", "L2")["engagement"] == "18", lead("t2", "L2")
    assert lead("t2", "L2")["stage"] == "lead", lead("t2", "L2")
    assert lead("t3", "L3")["engagement"] == "40", lead("t3", "L3")
    assert lead("t3", "L3")["entered:mql"] == str(l1[2]), lead("t3", "L3")
    assert lead("t4", "L4")["engagement"] == "20", lead("t4", "L4")
    assert lead("t4", "L4")["stage"] == "lead", lead("t4", "L4")
    assert lead("t4", "L4")["awards"] == \
        f"{T0 + 10 * DAY}:10,{T0 + 16 * DAY}:10", lead("t4", "L4")
    assert "awards" not in lead("t1", "L1"), lead("t1", "L1")
    hist = r.zrange(f"{s.prefix}:{{t4}}:scores:L4", 0, -1)
    assert [m.split("|")[2] for m in hist] == ["10", "20", "20", "20"], hist
    # The score history shows the decayed values after each event.
    hist = r.zrange(f"{s.prefix}:{{t1}}:scores:L1", 0, -1)
    assert [m.split("|")[2] for m in hist] == ["10", "10", "20", "30"], hist
    hist = r.zrange(f"{s.prefix}:{{t2}}:scores:L2", 0, -1)
    assert [m.split("|")[2] for m in hist] == ["10", "15", "18"], hist
    promos = [avro.decode("promotion_event", rec.value)[1]
              for rec in fdit.consume_all(s.promotions, timeout=30)]
    mql = sorted((p["tenant_id"], p["lead_id"], p["engagement_score"])
                 for p in promos if p["stage"] == "mql")
    assert mql == [("t1", "L1", 30), ("t3", "L3", 30)], mql


if __name__ == "__main__":
    fdit.main(globals())
