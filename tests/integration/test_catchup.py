#!/usr/bin/env python3
"""processing.batch.catchup_events: larger batches only while a backlog is
worked off, the same state as small batches, and live-flow bursts below the
lag threshold keep processing.batch.max_events.

Run A (batch.max_events = 100, batch.catchup_events = 1000: larger batches
while the lag is at least 4000 events) and run B (the same with catch-up
off) consume the same pre-produced backlog into two prefixes. A's
/metrics histogram of events per batch must show batches above 100 and
none above 1000; B's none above 100; every key of the two prefixes must be
equal. Then A runs again while a burst of 3000 events (a lag below 4000)
arrives: its batches stay at 100 at most.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

BACKLOG = 12000
BURST = 3000
SMALL, BIG = 100, 1000


def batches(base):
    """(batches, batches of at most SMALL events, of at most BIG events) of
    a funneld's funneld_batch_events histogram."""
    m = itlib.scrape(base)
    return (itlib.metric(m, "funneld_batch_events_count"),
            itlib.metric(m, "funneld_batch_events_bucket", le=str(SMALL)),
            itlib.metric(m, "funneld_batch_events_bucket", le=str(BIG)))


def gen(work, inputs, events, seed):
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", events,
                  "--seed", seed, "--lead-topic", inputs[0], "--crm-topic",
                  inputs[1], "--schema-dir", itlib.SCHEMAS],
                 log_path=work / f"gen.{seed}.log")


def run_once(setup, r, ends):
    """Runs setup's funneld until it caught up with ends; returns its batch
    histogram (read before it stops)."""
    p = setup.start()
    base = itlib.http_base(p)
    setup.wait_caught_up(p, r, ends, timeout=120)
    got = batches(base)
    setup.stop(p)
    return got


def test_catchup_batches_only_under_a_backlog():
    work = fdit.work_dir()
    inputs = fdit.input_topics("catchup")
    a = itlib.Setup("catchup_a", work, inputs=inputs,
                    processing=f"batch.max_events = {SMALL}\n"
                               f"batch.catchup_events = {BIG}\n")
    b = itlib.Setup("catchup_b", work, inputs=inputs,
                    processing=f"batch.max_events = {SMALL}\n"
                               f"batch.catchup_events = {SMALL}\n")
    for s in (a, b):
        s.create_topics()
        s.write_config()
    gen(work, inputs, BACKLOG, 21)
    r = fdit.redis_client()
    ends = a.end_offsets(total=BACKLOG)

    n, small, big = run_once(a, r, ends)
    assert n > 0 and small < n, \
        f"run A: no batch above {SMALL} events while {BACKLOG} waited " \
        f"({n} batches)"
    assert big == n, f"run A: {n - big} batches above {BIG} events"
    print(f"run A: {n:.0f} batches, {n - small:.0f} above {SMALL}",
          flush=True)
    n, small, _ = run_once(b, r, ends)
    assert n > 0 and small == n, \
        f"run B (catch-up off): {n - small} batches above {SMALL}"
    keys = itlib.assert_same_state(r, a, r, b)
    print(f"runs A and B: {keys} keys, equal", flush=True)

    # Live flow: a burst that leaves a lag under 4 * BIG.
    p = a.start()
    base = itlib.http_base(p)
    fdit.wait_for(lambda: batches(base)[0] == 0 and
                  "assigned" in p.log_text(), 60,
                  "run A to join its group")
    gen(work, inputs, BURST, 22)
    a.wait_caught_up(p, r, a.end_offsets(total=BACKLOG + BURST),
                     timeout=120)
    n, small, _ = batches(base)
    a.stop(p)
    assert n > 0 and small == n, \
        f"a burst of {BURST} events (lag under {4 * BIG}) made " \
        f"{n - small} of {n} batches larger than batch.max_events"


if __name__ == "__main__":
    fdit.main(globals())
