#!/usr/bin/env python3
"""processing.allowed_lateness_ms: inside the bound, results do not depend
on arrival order; beyond it, events are applied when they come and counted.

One generated stream is produced twice: to topics A in funneld-gen's order
(nondecreasing event time) and to topics B shuffled, each input partition
on its own: every record is sorted by its occurred_at plus a random delay
below the lateness L, so a record arrives at most L - 1 ms of event time
behind any record before it in its partition. Then:

* A and B, both with allowed_lateness_ms = L: every Redis key of the two
  prefixes is equal, and so are the promotion and attribution events.
* D: B again with SIGKILL three times mid-stream: equal to B (the stored
  offsets stop below what is still held; events applied above them come
  again and are dropped by event id).
* B with allowed_lateness_ms = 0 (events applied as they arrive) differs
  from A: the shuffle really reorders what matters.
* C: B's stream, then, once funneld has applied all of it, one more
  LeadEvent 100 L of event time behind its partition: applied (its touch
  is stored) and counted as `late` in P:stats:G, exactly once.

The shuffle comes from FUNNELD_IT_SEED (printed) when set.
"""

import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

EVENTS = 4000
SEED = 23


def read_inputs(topics):
    """{topic: {partition: [Record in offset order]}} of the input topics."""
    out = {}
    for t in topics:
        parts = {}
        for rec in fdit.consume_all(t, timeout=60, idle=2.0):
            parts.setdefault(rec.partition, []).append(rec)
        for recs in parts.values():
            recs.sort(key=lambda r: r.offset)
        out[t] = parts
    return out


def occurred_at(avro, topic_kind, value):
    schema = "lead_event" if topic_kind == "lead" else "crm_stage_event"
    return avro.decode(schema, value)[1]["occurred_at"]


def produce_parts(topic, parts):
    """Produces {partition: [(key, value)]} keeping each partition's order."""
    p = fdit.producer()
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))

    for part, recs in sorted(parts.items()):
        for key, value in recs:
            p.produce(topic, key=key, value=value, partition=part,
                      on_delivery=on_delivery)
            p.poll(0)
    left = p.flush(30)
    if left or errors:
        raise fdit.ITError(f"producing to {topic}: {left} undelivered, "
                           f"{errors[:3]}")


def inversions(times):
    """Pairs of neighbours out of event-time order."""
    return sum(1 for a, b in zip(times, times[1:]) if b < a)


def millis(t):
    """occurred_at as ms (fastavro may give a datetime)."""
    if isinstance(t, int):
        return t
    return int(t.timestamp() * 1000)


def state(r, s):
    """The normalised dump of s's prefix, input topic names in the offsets
    replaced by "lead" / "crm" (A, B and C read topics of their own)."""
    d = itlib.normalise(itlib.dump(r, s.prefix), s.group)
    offsets = d.get(":offsets:G", {})
    d[":offsets:G"] = {f.replace(s.lead_topic, "lead").replace(s.crm_topic,
                                                               "crm"): v
                       for f, v in offsets.items()}
    return d


def test_shuffle_within_lateness_changes_nothing():
    seed = int(os.environ.get("FUNNELD_IT_SEED", time.time_ns() % 100000))
    print(f"FUNNELD_IT_SEED={seed}", flush=True)
    rng = random.Random(seed)
    work = fdit.work_dir()
    avro = fdit.Avro()
    names = fdit.Names("late")
    ins_a = (names.topic("a-lead"), names.topic("a-crm"))
    ins_b = (names.topic("b-lead"), names.topic("b-crm"))
    ins_c = (names.topic("c-lead"), names.topic("c-crm"))
    fdit.create_topics(ins_a + ins_b + ins_c, partitions=4)
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", EVENTS,
                  "--seed", SEED, "--lead-topic", ins_a[0], "--crm-topic",
                  ins_a[1], "--schema-dir", itlib.SCHEMAS],
                 log_path=work / "gen.log")
    stream = read_inputs(ins_a)
    times = [millis(occurred_at(avro, kind, r.value))
             for t, kind in zip(ins_a, ("lead", "crm"))
             for recs in stream[t].values() for r in recs]
    span = max(times) - min(times)
    late_ms = max(span // 25, 1000)  # about 4 % of the stream's time span
    print(f"{len(times)} events over {span} ms; lateness {late_ms} ms",
          flush=True)

    # B: each partition shuffled within the bound.
    shuffled = {}
    moved = 0
    for t, tb, kind in zip(ins_a, ins_b, ("lead", "crm")):
        parts = {}
        for part, recs in stream[t].items():
            keyed = [(millis(occurred_at(avro, kind, r.value)) +
                      rng.randrange(late_ms), i, r)
                     for i, r in enumerate(recs)]
            keyed.sort(key=lambda x: (x[0], x[1]))
            moved += sum(1 for j, (_, i, _) in enumerate(keyed) if i != j)
            parts[part] = [(r.key, r.value) for _, _, r in keyed]
            assert inversions([millis(occurred_at(avro, kind, v))
                               for _, v in parts[part]]) > 0 or len(recs) < 2
        shuffled[tb] = parts
        produce_parts(tb, parts)
    print(f"{moved} records arrive at another position in B", flush=True)
    assert moved > EVENTS // 4, moved

    lateness = f"allowed_lateness_ms = {late_ms}\n"
    a = itlib.Setup("late_a", work, inputs=ins_a, processing=lateness)
    b = itlib.Setup("late_b", work, inputs=ins_b, processing=lateness)
    b0 = itlib.Setup("late_b0", work, inputs=ins_b)
    r = fdit.redis_client()
    for s in (a, b, b0):
        s.create_topics()
        s.write_config()
        s.run_to_end(r, timeout=180)

    da, db = state(r, a), state(r, b)
    lines = itlib.diff(da, db)
    assert not lines, "the shuffled stream (B) gives other results than " \
        "the ordered one (A):\n  " + "\n  ".join(lines)
    assert any(k.startswith(":{t1}:revenue:") for k in da), sorted(da)[:20]
    outs = itlib.assert_same_outputs(a, b)
    print(f"A and B equal: {len(da)} keys, outputs {outs}", flush=True)
    for s in (a, b):
        stats = r.hgetall(f"{s.prefix}:stats:{s.group}")
        assert "late" not in stats, (s.prefix, stats)

    # D: the shuffled stream again, killed mid-stream: the offsets stored
    # with what is still held make the restarts exact (events applied
    # above them come again and are dropped as duplicates).
    d = itlib.Setup("late_d", work, inputs=ins_b,
                    processing=lateness + "batch.max_events = 200\n",
                    kafka="group.instance.id = {prefix}\n"
                          "session.timeout.ms = 6000\n")
    d.create_topics()
    d.write_config()
    ends = d.end_offsets()
    total = sum(ends.values())
    kills = []
    for share in (0.25, 0.5, 0.75):
        p = d.start()

        def reached():
            if not p.alive():
                raise fdit.ITError(f"funneld died:\n{p.log_tail()}")
            return sum(d.offsets(r).values()) >= share * total \
                or d.caught_up(r, ends)
        fdit.wait_for(reached, 90, f"run D to pass {share:.0%}",
                      interval=0.005)
        p.stop(signal.SIGKILL)
        kills.append(sum(d.offsets(r).values()))
    p = d.start()
    d.wait_caught_up(p, r, ends, timeout=180)
    d.stop(p)
    dd = state(r, d)
    dup = int(dd.get(":stats:G", {}).pop("duplicates", 0))
    db_stats = dict(db.get(":stats:G", {}))
    dup_b = int(db_stats.pop("duplicates", 0))
    lines = itlib.diff({**db, ":stats:G": db_stats}, dd)
    assert not lines, f"run D (killed at offset sums {kills}) differs " \
        "from B:\n  " + "\n  ".join(lines)
    assert dup >= dup_b, (dup, dup_b)
    itlib.assert_same_outputs(b, d)
    print(f"run D killed at offset sums {kills} of {total}: equal to B "
          f"({dup - dup_b} events replayed and dropped)", flush=True)

    # Applied as they arrive, the shuffled stream gives other results.
    d0 = state(r, b0)
    d0.pop(":stats:G", None)  # its late count: the state must differ too
    da.pop(":stats:G", None)
    assert itlib.diff(da, d0), "the shuffle changed nothing even without " \
        "allowed lateness: the test would not notice a broken reorder buffer"
    late0 = int(r.hget(f"{b0.prefix}:stats:{b0.group}", "late") or 0)
    assert late0 > 0, "without lateness the shuffled stream has no late events"
    print(f"without lateness: {late0} late events, state differs", flush=True)

    # C: B's stream plus one LeadEvent far behind its partition.
    part = 0
    recs = shuffled[ins_b[0]][part]
    last = max(millis(occurred_at(avro, "lead", v)) for _, v in recs)
    straggler_at = last - 100 * late_ms
    straggler = avro.encode("lead_event", {
        "event_id": "straggler-1", "tenant_id": "t1",
        "occurred_at": straggler_at, "lead_id": None,
        "anonymous_id": "anon-straggler", "type": "page_view",
        "channel": "email", "campaign": None, "utm_source": None,
        "utm_medium": None, "utm_campaign": None, "utm_term": None,
        "utm_content": None, "attributes": {}}, schema_id=1)
    produce_parts(ins_c[0], shuffled[ins_b[0]])
    produce_parts(ins_c[1], shuffled[ins_b[1]])
    c = itlib.Setup("late_c", work, inputs=ins_c, processing=lateness)
    c.create_topics()
    c.write_config()
    p = c.start()
    c.wait_caught_up(p, r, c.end_offsets(), timeout=180)
    # Everything of partition 0 is applied by now: the straggler comes late.
    produce_parts(ins_c[0], {part: [(b"anon-straggler", straggler)]})
    c.wait_caught_up(p, r, c.end_offsets(), timeout=60)
    c.stop(p)
    stats = r.hgetall(f"{c.prefix}:stats:{c.group}")
    assert stats.get("late") == "1", stats
    touches = r.zrange(f"{c.prefix}:{{t1}}:touches:anon:anon-straggler", 0,
                       -1, withscores=True)
    assert touches == [("straggler-1|email||page_view",
                        float(straggler_at))], touches
    print(f"a straggler {100 * late_ms} ms behind: applied, late = 1",
          flush=True)


if __name__ == "__main__":
    fdit.main(globals())
