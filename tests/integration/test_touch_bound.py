#!/usr/bin/env python3
"""processing.touch_max bounds a lead's touches and score history, whether
the lead is new, kept in funneld's lead cache between batches, or read back
from Redis after a restart (funneld trims a new lead's zsets only when they
can exceed the bound, and always when it does not know their size).

touch_max = 3; every page view is a touch and earns 1 engagement point, so
each view also adds a score-history entry. One funneld runs rounds 1 and 2
(lead N new in round 1, cached in round 2); a second funneld runs round 3
(N read from Redis). Lead O exists in Redis before the first funneld starts
(hand-written hash and zsets of 5 members, as an older funneld could have
left them with a larger touch_max): its first new touch trims them.
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
    # Lead O, stored before: 5 touches and 5 score entries.
    r.hset(f"{p}:{{{T}}}:lead:O", mapping={
        "stage": "lead", "cycle": "1", "fit": "0", "engagement": "5",
        "created_at": str(T0), "updated_at": str(T0)})
    for i in range(5):
        r.zadd(touches + "O", {f"old-{i}|email||page_view": T0 - 10 + i})
        r.zadd(scores + "O", {f"old-{i}|0|{i + 1}": T0 - 10 + i})

    def check(lead, ids):
        for key in (touches + lead, scores + lead):
            got = [m.split("|")[0] for m in r.zrange(key, 0, -1)]
            assert got == ids, (key, got, ids)

    with itlib.Cleanup() as c:
        c.add(s)
        proc = s.start()
        # Round 1: N new with 2 views; O gets 1 view.
        fdit.produce(s.lead_topic, [view(avro, "N", 0), view(avro, "N", 1),
                                    view(avro, "O", 0)])
        s.wait_caught_up(proc, r, s.end_offsets())
        check("N", ["N-0", "N-1"])
        check("O", ["old-3", "old-4", "O-0"])
        # Round 2: N is in the lead cache; 2 more views pass the bound.
        fdit.produce(s.lead_topic, [view(avro, "N", 2), view(avro, "N", 3)])
        s.wait_caught_up(proc, r, s.end_offsets())
        check("N", ["N-1", "N-2", "N-3"])
        # Round 3, after a restart: N is read from Redis.
        s.stop(proc)
        proc = s.start()
        fdit.produce(s.lead_topic, [view(avro, "N", 4), view(avro, "O", 1)])
        s.wait_caught_up(proc, r, s.end_offsets())
        check("N", ["N-2", "N-3", "N-4"])
        check("O", ["old-4", "O-0", "O-1"])
        s.stop(proc)
    assert r.hget(f"{p}:{{{T}}}:lead:N", "engagement") == "5"


if __name__ == "__main__":
    fdit.main(globals())
