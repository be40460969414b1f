#!/usr/bin/env python3
"""Exactly-once effects across kill -9: the same generated stream is
processed twice into two Redis prefixes / consumer groups / output topics.

Run A goes through uninterrupted. Run B uses smaller batches and is killed
with SIGKILL at least KILLS times at random points of its progress (read
from Redis's stored offsets) and restarted each time. Afterwards every key
of the two prefixes must be identical (key names normalised; the owner
epochs differ by design and the P:meta writer may; dedupe markers are
compared by existence, not TTL), and run B's PromotionEvent and
AttributionEvent topics must hold exactly run A's event ids, duplicates
allowed only as byte-identical copies.

The random kill points come from FUNNELD_IT_SEED (printed) when set.
"""

import os
import random
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

EVENTS = 30000
SEED = 11
KILLS = 5




def by_event_id(avro, schema, records):
    """{event_id: [value bytes, ...]} of a topic's records."""
    out = defaultdict(list)
    for rec in records:
        _, v = avro.decode(schema, rec.value)
        out[v["event_id"]].append(rec.value)
    return out


def progress(setup, r):
    return sum(setup.offsets(r).values())


def run_with_kills(setup, r, ends, rng):
    """Runs setup's funneld, SIGKILLing it mid-stream KILLS times (more
    attempts when a kill came too late), then to the end. Returns the
    progress (stored offsets) at each mid-stream kill."""
    total = sum(ends.values())
    kills = []
    attempts = 0
    while len(kills) < KILLS:
        attempts += 1
        assert attempts <= 3 * KILLS, f"only {len(kills)} mid-stream kills"
        done = progress(setup, r)
        left = KILLS - len(kills)
        # the next kill point: somewhere in the first share of what is left,
        # and never in the last 15 %: a kill that comes after the end leaves
        # nothing for the next attempts, and funneld does the last few
        # batches faster than this loop polls and kills on a busy machine
        target = done + rng.uniform(0.02, 0.9 / left) * (total - done)
        target = min(target, 0.85 * total)
        p = setup.start()

        def reached():
            if not p.alive():
                raise fdit.ITError(f"funneld died:\n{p.log_tail()}")
            return progress(setup, r) >= target or setup.caught_up(r, ends)
        fdit.wait_for(reached, 90, f"run B to pass offset sum {target:.0f}",
                      interval=0.005)
        rc = p.stop(signal.SIGKILL)
        assert rc == -signal.SIGKILL, rc
        at = progress(setup, r)
        if at < total:
            kills.append(at)
    p = setup.start()
    setup.wait_caught_up(p, r, ends, timeout=120)
    setup.stop(p)
    return kills


def test_kill9_restarts_change_nothing():
    seed = int(os.environ.get("FUNNELD_IT_SEED", time.time_ns() % 100000))
    print(f"FUNNELD_IT_SEED={seed}", flush=True)
    rng = random.Random(seed)
    work = fdit.work_dir()
    inputs = fdit.input_topics("restart")
    a = itlib.Setup("restart_a", work, inputs=inputs)
    # B: small batches, so that kills land between and inside many commits;
    # static membership, so that a restarted instance takes its partitions
    # back at once instead of waiting for the killed one's session to end.
    b = itlib.Setup("restart_b", work, inputs=inputs,
                    processing="batch.max_events = 250\n",
                    kafka="group.instance.id = {prefix}\n"
                          "session.timeout.ms = 6000\n")
    for s in (a, b):
        s.create_topics()
        s.write_config()
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", EVENTS,
                  "--seed", SEED, "--lead-topic", inputs[0], "--crm-topic",
                  inputs[1], "--schema-dir", itlib.SCHEMAS],
                 log_path=work / "gen.log")
    r = fdit.redis_client()
    ends = a.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends

    a.run_to_end(r, timeout=120)
    kills = run_with_kills(b, r, ends, rng)
    print(f"run B killed at offset sums {kills} of {EVENTS}", flush=True)

    da = itlib.normalise(itlib.dump(r, a.prefix), a.group)
    db = itlib.normalise(itlib.dump(r, b.prefix), b.group)
    lines = itlib.diff(da, db)
    assert not lines, "run B (killed) differs from run A:\n  " + \
        "\n  ".join(lines)
    assert any(k.startswith(":{t1}:revenue:") for k in da), sorted(da)[:20]

    avro = fdit.Avro()
    for topic, schema in (("promotions", "promotion_event"),
                          ("attribution", "attribution_event")):
        ra = by_event_id(avro, schema, fdit.consume_all(
            getattr(a, topic), timeout=60, idle=2.0))
        rb = by_event_id(avro, schema, fdit.consume_all(
            getattr(b, topic), timeout=60, idle=2.0))
        assert ra, f"run A published no {topic}"
        dup_a = [i for i, v in ra.items() if len(v) > 1]
        assert not dup_a, f"run A published {topic} twice: {dup_a[:5]}"
        assert set(ra) == set(rb), (
            f"{topic}: only in A {sorted(set(ra) - set(rb))[:5]}, only in B "
            f"{sorted(set(rb) - set(ra))[:5]}")
        differ = [i for i, v in rb.items() if any(x != ra[i][0] for x in v)]
        assert not differ, f"{topic} with other bytes in B: {differ[:5]}"
        extra = sum(len(v) - 1 for v in rb.values())
        print(f"{topic}: {len(ra)} event ids, run B re-published {extra}",
              flush=True)


if __name__ == "__main__":
    fdit.main(globals())
