#!/usr/bin/env python3
"""Zombie fencing: two funneld instances share a consumer group while a
generated stream flows (itlib.Flow). Instance Z collects long batches
(processing.batch.max_ms = 3 s), so it has one in hand when it is frozen with
SIGSTOP; it stays frozen past the session timeout, the group gives all its
partitions to instance S, and S processes more events. Then Z gets SIGCONT.

- test_frozen_instance_*: Z is frozen wherever it is. On SIGCONT librdkafka
  itself notices the expired session and revokes the partitions, usually
  before Z's main loop gets to its batch; either that revocation or a
  refused write ("owner epoch moved") must show in its log.
- test_stalled_write_*: Z reaches Redis through a proxy of the test, which
  holds Z's requests from the moment Z's batch is due until after the
  takeover and SIGCONT: Z's batch then certainly reaches Redis after the new
  owner claimed the partitions, and must be refused ("owner epoch moved").

Afterwards every key of the group's Redis prefix must equal those of an
uninterrupted single run over the same stream, and the derived events must
be exactly the same event ids (copies only byte-identical): none of Z's late
writes landed.
"""

import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

EVENTS = 15000
SEED = 31
RATE = 500  # events/s: the flow lasts about 30 s
SESSION_MS = 6000
KAFKA = (f"session.timeout.ms = {SESSION_MS}\n"
         "heartbeat.interval.ms = 1000\n")
PROCESSING = "batch.max_ms = 3000\nbatch.max_events = 100000\n"
FENCED = "owner epoch moved"
REVOKED = "partitions revoked"


def alive(*procs):
    for p in procs:
        if not p.alive():
            raise fdit.ITError(f"funneld died:\n{p.log_tail()}")
    return True


def owners(*procs):
    return sorted(itlib.assigned_pairs(p) for p in procs)


def moved_everywhere(setup, r, before):
    now = setup.offsets(r)
    return all(now.get(f"{t}:{p}", 0) > before.get(f"{t}:{p}", 0)
               for t in (setup.lead_topic, setup.crm_topic)
               for p in range(setup.partitions))


def run_zombie(name, proxy=None):
    with itlib.Cleanup() as c:
        return zombie_scenario(c, name, proxy)


def zombie_scenario(cleanup, name, proxy):
    """Runs the scenario; with proxy, Z's redis traffic goes through it and
    is held from Z's next atomic write (MULTI) until after SIGCONT. Returns Z's log from
    SIGCONT on."""
    work = fdit.work_dir()
    inputs = fdit.input_topics(name)
    a = itlib.Setup(f"{name}_a", work, inputs=inputs)
    g = itlib.Setup(f"{name}_g", work, inputs=inputs, processing=PROCESSING,
                    kafka=KAFKA)
    for s in (a, g):
        s.create_topics()
        s.write_config()
    z_config = g.config
    if proxy:
        z_config = itlib.config_via(g, proxy.port, "z")
    events = itlib.generated_events(work / "events.jsonl", EVENTS, SEED)
    r = fdit.redis_client()
    flow = cleanup.add(itlib.Flow(g, events, RATE))
    cleanup.add(a, g)

    z = g.start(z_config)
    fdit.wait_for(lambda: alive(z) and owners(z) == [4], 60,
                  "instance Z to own all partition pairs")
    flow.start()
    fdit.wait_for(lambda: sum(g.offsets(r).values()) >= EVENTS // 10, 60,
                  f"the group to pass {EVENTS // 10} events")
    s = g.start()
    fdit.wait_for(lambda: alive(z, s) and owners(z, s) == [2, 2], 60,
                  "Z and S to own 2 partition pairs each")
    before = g.offsets(r)
    fdit.wait_for(lambda: alive(z, s) and moved_everywhere(g, r, before), 60,
                  "both instances to commit after the rebalance")
    if proxy:
        # Hold Z's redis traffic from its next batch commit on (a MULTI
        # that is not an outbox trim): the batch is WATCHed and in flight
        # when S takes over.
        proxy.hold_on = lambda data: b"$5\r\nMULTI\r\n" in data and \
            b"LTRIM" not in data
        fdit.wait_for(lambda: proxy.held > 0, 30,
                      "Z's next batch commit to wait for redis")

    z.proc.send_signal(signal.SIGSTOP)
    frozen_at, frozen_sent = time.monotonic(), flow.sent
    try:
        fdit.wait_for(lambda: alive(s) and owners(s) == [4], 60,
                      "S to take over all partition pairs from frozen Z")
        took = time.monotonic() - frozen_at
        assert took >= SESSION_MS / 1000 - 1, f"takeover after {took:.1f} s"
        before = g.offsets(r)
        fdit.wait_for(lambda: alive(s) and moved_everywhere(g, r, before),
                      60, "S to commit on every partition after takeover")
        assert flow.sent < EVENTS, "the flow ended while Z was frozen; " \
            "lower RATE"
        mark = len(z.log_text())
    finally:
        z.proc.send_signal(signal.SIGCONT)
    print(f"Z frozen {time.monotonic() - frozen_at:.1f} s (flow sent "
          f"{frozen_sent} .. {flow.sent}); S took over after {took:.1f} s",
          flush=True)
    if proxy:
        # librdkafka revokes on its own now; Z's main loop still waits for
        # its redis reply. Let the takeover news reach Z's consumer first.
        fdit.wait_for(lambda: "SESSTMOUT" in z.log_text()[mark:] or
                      "session timed out" in z.log_text()[mark:], 30,
                      "Z's consumer to notice its expired session")
        proxy.gate.set()

    def reacted():
        alive(z)
        late = z.log_text()[mark:]
        return (FENCED in late or REVOKED in late) and late
    fdit.wait_for(reacted, 60, "Z to notice it lost its partitions")
    # Z rejoins; the two share the group again.
    fdit.wait_for(lambda: alive(z, s) and owners(z, s) == [2, 2], 60,
                  "Z to rejoin the group after the takeover")
    late = z.log_text()[mark:]

    flow.wait(120)
    ends = g.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends
    g.wait_caught_up(s, r, ends, timeout=120)
    alive(z)
    g.stop(z)
    g.stop(s)

    a.run_to_end(r, timeout=120)
    n = itlib.assert_same_state(r, a, r, g)
    outs = itlib.assert_same_outputs(a, g)
    print(f"{n} keys equal; " + "; ".join(
        f"{t}: {ids} event ids, {extra} re-published"
        for t, (ids, extra) in outs.items()), flush=True)
    return late


def first_of(text, *needles):
    found = [(text.find(m), m) for m in needles if m in text]
    return min(found)[1] if found else None


def test_frozen_instance_cannot_write_after_takeover():
    late = run_zombie("zombie_frozen")
    first = first_of(late, FENCED, REVOKED)
    print(f"Z after SIGCONT, first '{first}':\n{late.strip()}", flush=True)
    assert first, late


def test_stalled_write_is_fenced():
    proxy = itlib.Proxy()
    proxy.start()
    try:
        late = run_zombie("zombie_stalled", proxy)
    finally:
        proxy.close()
    print(f"Z after SIGCONT:\n{late.strip()}", flush=True)
    assert FENCED in late, f"Z's late batch was not refused:\n{late}"


if __name__ == "__main__":
    fdit.main(globals())
