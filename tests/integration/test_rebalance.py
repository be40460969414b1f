#!/usr/bin/env python3
"""Exactly-once effects across rebalances: a generated stream flows into the
input topics (itlib.Flow, in event-time order, each journey in one partition
pair) while the consumer group of run B is scaled from one funneld instance
to three and back to one; the instance that stays is not the first one, so
every partition changes owner at least once with batches in flight.

Afterwards every key of run B's Redis prefix must equal those of run A, one
uninterrupted instance over the same stream (key names normalised; owner
epochs differ by design), and run B's PromotionEvent and AttributionEvent
topics must hold exactly run A's event ids (re-published copies allowed only
byte-identical).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

EVENTS = 20000
SEED = 23
RATE = 800  # events/s: the flow lasts about 25 s
# Short sessions, so that the group notices a departure within seconds.
KAFKA = "session.timeout.ms = 6000\nheartbeat.interval.ms = 1000\n"


def progress(setup, r):
    return sum(setup.offsets(r).values())


def wait_owners(procs, want, what):
    """Waits until the instances' logs show the partition pair counts in
    want (sorted); fails early when one died."""
    def owned():
        for p in procs:
            if not p.alive():
                raise fdit.ITError(f"funneld died:\n{p.log_tail()}")
        return sorted(itlib.assigned_pairs(p) for p in procs) == want
    try:
        fdit.wait_for(owned, 60, what)
    except fdit.ITError as e:
        tails = "\n".join(f"--- {p.log_path.name} ---\n{p.log_tail(15)}"
                          for p in procs)
        raise fdit.ITError(f"{e}\n{tails}") from None


def wait_all_partitions_commit(setup, r, procs, flow):
    """Waits until every input partition's stored offset moved past where
    it was: each of the current owners committed at least one batch."""
    before = setup.offsets(r)

    def moved():
        for p in procs:
            if not p.alive():
                raise fdit.ITError(f"funneld died:\n{p.log_tail()}")
        now = setup.offsets(r)
        return all(now.get(f"{t}:{p}", 0) > before.get(f"{t}:{p}", 0)
                   for t in (setup.lead_topic, setup.crm_topic)
                   for p in range(setup.partitions))
    fdit.wait_for(moved, 60, "a commit on every input partition after the "
                  f"scale-out (stored offsets were {before}; flow sent "
                  f"{flow.sent})")


def test_scale_out_and_in_while_events_flow():
    with itlib.Cleanup() as c:
        scale_out_and_in(c)


def scale_out_and_in(cleanup):
    work = fdit.work_dir()
    inputs = fdit.input_topics("rebalance")
    a = itlib.Setup("rebalance_a", work, inputs=inputs)
    # B: smaller batches, so that rebalances land between and inside many
    # commits.
    b = itlib.Setup("rebalance_b", work, inputs=inputs,
                    processing="batch.max_events = 300\n", kafka=KAFKA)
    for s in (a, b):
        s.create_topics()
        s.write_config()
    events = itlib.generated_events(work / "events.jsonl", EVENTS, SEED)
    r = fdit.redis_client()
    flow = cleanup.add(itlib.Flow(b, events, RATE))
    cleanup.add(a, b)

    b1 = b.start()
    wait_owners([b1], [4], "the first instance to own all 4 partition pairs")
    flow.start()
    fdit.wait_for(lambda: progress(b, r) >= EVENTS // 6, 60,
                  f"run B to pass {EVENTS // 6} events")
    steps = [f"scale-out at {flow.sent} events sent"]
    b2, b3 = b.start(), b.start()
    # range assignor: 4 pairs over 3 members (ordered by member id)
    wait_owners([b1, b2, b3], [1, 1, 2], "three instances sharing the pairs")
    wait_all_partitions_commit(b, r, [b1, b2, b3], flow)
    steps.append(f"scale-in at {flow.sent} events sent")
    assert flow.sent < EVENTS, "the flow ended before the scale-in; " \
        f"lower RATE ({steps})"
    for p in (b1, b2):
        b.stop(p)
    wait_owners([b3], [4], "the last instance to own all 4 partition pairs")
    wait_all_partitions_commit(b, r, [b3], flow)
    steps.append(f"alone from {flow.sent} events sent")
    assert flow.sent < EVENTS, f"the flow ended too early ({steps})"
    flow.wait(120)
    print("run B: " + "; ".join(steps), flush=True)

    ends = b.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends
    b.wait_caught_up(b3, r, ends, timeout=120)
    b.stop(b3)
    for p in (b1, b2):
        assert p.log_text().count("partitions revoked") >= 1, p.log_tail()

    t0 = time.monotonic()
    a.run_to_end(r, timeout=120)
    print(f"run A (uninterrupted): {time.monotonic() - t0:.1f} s", flush=True)
    n = itlib.assert_same_state(r, a, r, b)
    outs = itlib.assert_same_outputs(a, b)
    print(f"{n} keys equal; " + "; ".join(
        f"{t}: {ids} event ids, {extra} re-published by B"
        for t, (ids, extra) in outs.items()), flush=True)



def test_second_instance_joins_a_backlog():
    """Two instances on a pre-produced backlog, the second started while
    the first has paused its lead partitions (processing.queue.max_events
    400, far below a partition's backlog, yet large enough that a resumed
    fetch refills the queue before the merge's max_task_idle_ms runs out,
    which a queue of a few dozen would not): the
    partitions the first gets back in the rebalance must fetch again (a
    paused partition stays paused across librdkafka's re-assignment), so
    both finish well before the 60 s first-fetch wait; state exact."""
    with itlib.Cleanup() as c:
        join_backlog(c)


def join_backlog(cleanup):
    work = fdit.work_dir()
    inputs = fdit.input_topics("backlog")
    a = itlib.Setup("backlog_a", work, inputs=inputs)
    b = itlib.Setup("backlog_b", work, inputs=inputs, kafka=KAFKA,
                    processing="queue.max_events = 400\n"
                               "batch.max_events = 100\n")
    for s in (a, b):
        s.create_topics()
        s.write_config()
    # Pre-produced as itlib.Flow does (each journey in one partition pair:
    # see the README's multi-instance limit), as fast as it goes.
    events = itlib.generated_events(work / "events.jsonl", 8000, SEED)
    flow = cleanup.add(itlib.Flow(b, events, 1000000))
    flow.start()
    flow.wait(120)
    r = fdit.redis_client()
    cleanup.add(a, b)
    ends = b.end_offsets(total=8000)
    assert sum(ends.values()) == 8000, ends

    b1 = b.start()
    wait_owners([b1], [4], "the first instance to own all 4 partition pairs")
    fdit.wait_for(lambda: progress(b, r) >= 500, 60,
                  "the first instance to pass 500 events")
    b2 = b.start()
    wait_owners([b1, b2], [2, 2], "two instances sharing the pairs")
    t0 = time.monotonic()
    b.wait_caught_up(b1, r, ends, timeout=45)
    print(f"both caught up {time.monotonic() - t0:.1f} s after the "
          "rebalance", flush=True)
    for p in (b1, b2):
        assert "sent neither data nor its end" not in p.log_text(), \
            p.log_tail()
        b.stop(p)
    a.run_to_end(r, timeout=120)
    n = itlib.assert_same_state(r, a, r, b)
    itlib.assert_same_outputs(a, b)
    print(f"{n} keys equal", flush=True)


if __name__ == "__main__":
    fdit.main(globals())
