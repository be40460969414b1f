#!/usr/bin/env python3
"""Crash torture: a generated stream of 200 000 events processed twice.

Run A goes through uninterrupted. Run B is killed with SIGKILL at least 20
times and restarted each time. The kills are of three kinds, drawn at random
(FUNNELD_IT_SEED, printed, repeats a run):
  - inside the atomic write: funneld's fault hook (FUNNELD_FAULT=commit:K)
    kills it after MULTI and the batch's commands reached Redis, before EXEC;
  - while draining the outbox: FUNNELD_FAULT=outbox:K kills it after derived
    events were produced and delivered, before the outbox is trimmed;
  - at a random moment of its progress, from outside.
Afterwards every key of B equals A's, and B's output topics hold exactly A's
event ids, any duplicate byte-identical (test_restart's checks).
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
from test_restart import by_event_id, progress  # noqa: E402

EVENTS = int(os.environ.get("FUNNELD_TORTURE_EVENTS", 200_000))
KILLS = 20


def start(setup, fault=None):
    return setup.start(env={"FUNNELD_FAULT": fault} if fault else None)


# Events one unit of a fault's count is expected to cover, raised to the
# most a kill has shown: a commit is at most one batch; the first outbox
# round of a start comes only once the producer is up.
UNIT = {"commit": 500, "outbox": 3000}


def one_kill(setup, r, ends, rng, kinds, left):
    """Starts B once and kills it one way, spending about half of the events
    still left per kill still wanted (left), so that the stream lasts for all
    of them; returns (kind, progress) or None when B caught up first."""
    total = sum(ends.values())
    done = progress(setup, r)
    budget = (total - done) / max(left, 1)
    kind = rng.choice([k for k in ("commit", "outbox", "outside")
                       if UNIT.get(k, 0) <= budget])
    if kind == "outside":
        target = done + rng.uniform(0.05, 0.5) * budget
        p = start(setup)

        def reached():
            if not p.alive():
                raise fdit.ITError(f"funneld died:\n{p.log_tail()}")
            return progress(setup, r) >= target or setup.caught_up(r, ends)
        fdit.wait_for(reached, 120, f"run B to pass offset sum {target:.0f}",
                      interval=0.005)
        p.stop(signal.SIGKILL)
    else:
        most = max(1, min(12, int(0.5 * budget / UNIT[kind])))
        count = rng.randint(1, most)
        p = start(setup, f"{kind}:{count}")

        def gone():
            return not p.alive() or setup.caught_up(r, ends)
        fdit.wait_for(gone, 120, f"the {kind} fault to kill funneld")
        if p.alive():
            p.stop(signal.SIGKILL)
        elif p.proc.returncode != -signal.SIGKILL:
            raise fdit.ITError(f"funneld exited {p.proc.returncode}, not by "
                               f"the fault:\n{p.log_tail()}")
    at = progress(setup, r)
    if at >= total and setup.caught_up(r, ends):
        return None
    if kind != "outside":
        UNIT[kind] = max(UNIT[kind], (at - done) / count)
    kinds[kind] = kinds.get(kind, 0) + 1
    return kind, at


def test_200k_events_20_kills():
    seed = int(os.environ.get("FUNNELD_IT_SEED", time.time_ns() % 100000))
    print(f"FUNNELD_IT_SEED={seed}", flush=True)
    rng = random.Random(seed)
    work = fdit.work_dir()
    inputs = fdit.input_topics("torture")
    a = itlib.Setup("torture_a", work, inputs=inputs)
    b = itlib.Setup("torture_b", work, inputs=inputs,
                    processing="batch.max_events = 500\n",
                    kafka="group.instance.id = {prefix}\n"
                          "session.timeout.ms = 6000\n")
    for s in (a, b):
        s.create_topics()
        s.write_config()
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", EVENTS,
                  "--seed", 3, "--lead-topic", inputs[0], "--crm-topic",
                  inputs[1], "--schema-dir", itlib.SCHEMAS],
                 timeout=300, log_path=work / "gen.log")
    r = fdit.redis_client()
    ends = a.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends
    a.run_to_end(r, timeout=600)

    kinds, kills = {}, []
    attempts = 0
    while len(kills) < KILLS:
        attempts += 1
        assert attempts <= 4 * KILLS, f"only {len(kills)} mid-stream kills"
        k = one_kill(b, r, ends, rng, kinds, KILLS - len(kills))
        if k is None:
            break
        kills.append(k)
    print(f"run B killed {len(kills)} times: {kinds}; at {kills}",
          flush=True)
    assert len(kills) >= KILLS, f"the stream ended after {len(kills)} kills"
    assert kinds.get("commit") and kinds.get("outbox"), kinds
    p = start(b)
    b.wait_caught_up(p, r, ends, timeout=600)
    b.stop(p)

    da = itlib.normalise(itlib.dump(r, a.prefix), a.group)
    db = itlib.normalise(itlib.dump(r, b.prefix), b.group)
    lines = itlib.diff(da, db)
    assert not lines, "run B (killed) differs from run A:\n  " + \
        "\n  ".join(lines)

    avro = fdit.Avro()
    for topic, schema in (("promotions", "promotion_event"),
                          ("attribution", "attribution_event")):
        ra = by_event_id(avro, schema, fdit.consume_all(
            getattr(a, topic), timeout=120, idle=3.0))
        rb = by_event_id(avro, schema, fdit.consume_all(
            getattr(b, topic), timeout=120, idle=3.0))
        assert ra and set(ra) == set(rb), (topic, len(ra), len(rb))
        for eid, values in rb.items():
            assert all(v == ra[eid][0] for v in values), (topic, eid)


if __name__ == "__main__":
    fdit.main(globals())
