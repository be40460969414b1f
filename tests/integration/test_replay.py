#!/usr/bin/env python3
"""Re-scoring replay (replay.readers_prefix): a funneld with new scoring
rules, its own prefix and group, rebuilds the state from the earliest
offsets next to the live instance, publishes nothing while it catches up,
then points the live namespace's readers at its own (P:active) and
publishes like a live instance.

- A: the live deployment (the example rules), run over a generated stream.
- C: a plain deployment of the new rules (webinars worth 40 points instead
  of 12) over the same input: what the replay must rebuild.
- B: the replay of the new rules for A's namespace, started after A
  processed everything. Its state must equal C's key for key; A's
  P:active must name B; funnelctl with A's config must read B's data; B's
  output topics stay empty until a new event arrives after the switch,
  whose promotion B publishes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from test_funnelctl import Ctl  # noqa: E402

EVENTS = 3000
SEED = 11
OLD_WEBINAR = "event_type = webinar_attended\npoints = 12\n"
NEW_MODEL = itlib.EXAMPLE_MODEL.replace(
    OLD_WEBINAR, "event_type = webinar_attended\npoints = 40\n")
assert NEW_MODEL != itlib.EXAMPLE_MODEL


def replay_config(setup, readers):
    cfg = setup.write_config()
    cfg.write_text(cfg.read_text() + f"\n[replay]\nreaders_prefix = "
                   f"{readers}\n")
    return cfg


def new_lead_event(avro, at):
    return itlib.lead_record(avro, "t1", "replay-new", "replay-new-demo", at,
                             type="demo_request")


def test_replay_rebuilds_and_switches_readers():
    work = fdit.work_dir()
    r = fdit.redis_client()
    a = itlib.Setup("rp_live", work)
    a.create_topics()
    a.write_config()
    events = itlib.generated_events(work / "events.jsonl", EVENTS, SEED)
    flow = itlib.Flow(a, events, 1000000)
    flow.start()
    flow.wait(120)
    a.run_to_end(r, timeout=120)

    inputs = (a.lead_topic, a.crm_topic, a.spend_topic)
    c = itlib.Setup("rp_ref", work, inputs=inputs, model=NEW_MODEL)
    c.create_topics()
    c.write_config()
    c.run_to_end(r, timeout=120)

    # A lead whose score the new rules change.
    def engagement(s, lead):
        return r.hget(f"{s.prefix}:{{t1}}:lead:{lead}", "engagement")
    lead = next(e["lead_id"] for e in events
                if e.get("type") == "webinar_attended" and e.get("lead_id")
                and e["tenant_id"] == "t1"
                and engagement(a, e["lead_id"]) != engagement(c,
                                                              e["lead_id"]))
    ctl_a = Ctl(a.config)
    before = ctl_a.json("lead", "--tenant", "t1", lead)

    b = itlib.Setup("rp_new", work, inputs=inputs, model=NEW_MODEL)
    b.create_topics()
    replay_config(b, a.prefix)
    ends = b.end_offsets()
    proc = b.start()
    proc.wait_log(r"replaying into '" + b.prefix, timeout=60)
    fdit.wait_for(lambda: r.hget(f"{a.prefix}:active", "prefix") == b.prefix,
                  120, f"the replay to switch the readers of {a.prefix}")
    active = r.hgetall(f"{a.prefix}:active")
    assert active["group"] == b.group and int(active["switched_at"]) > 0, \
        active
    proc.wait_log("caught up: readers of", timeout=10)
    b.wait_caught_up(proc, r, ends, timeout=60)

    # The replay's state is what a plain run of the new rules builds.
    want = itlib.normalise(itlib.dump(r, c.prefix), c.group)
    got = itlib.normalise(itlib.dump(r, b.prefix), b.group)
    lines = itlib.diff(want, got)
    assert not lines, "the replay's state differs from a plain run of the " \
        "new rules:\n  " + "\n  ".join(lines)
    assert len(want) > 500 and any(":lead:" in k for k in want), len(want)

    # Readers of A's namespace read B's now.
    after = ctl_a.json("lead", "--tenant", "t1", lead)
    assert after == Ctl(b.config).json("lead", "--tenant", "t1", lead)
    assert after != before

    # Nothing was published while catching up.
    for topic in (b.promotions, b.attribution, b.alerts, b.dlq):
        got = fdit.consume_all(topic, timeout=5, idle=1.0)
        assert not got, f"the replay published {len(got)} records to {topic}"
    assert fdit.consume_all(c.promotions, timeout=30), \
        "the reference run published no promotions"

    # Live from now on: a new event's promotion comes out of the replay.
    avro = fdit.Avro()
    last = max(e["occurred_at"] for e in events)
    fdit.produce(a.lead_topic, [new_lead_event(avro, last + 3600000)])
    recs = fdit.consume_all(b.promotions, expected=2, timeout=60)
    got = sorted((p["lead_id"], p["stage"], p["implied"]) for p in
                 (avro.decode("promotion_event", x.value)[1] for x in recs))
    assert got == [("replay-new", "mql", True), ("replay-new", "sql", False)], \
        got
    b.stop(proc)

    # A restart of the replay runs as the live pipeline at once.
    proc = b.start()
    proc.wait_log("already read this namespace", timeout=60)
    b.stop(proc)


def test_replay_config_errors():
    work = fdit.work_dir()
    a = itlib.Setup("rp_err", work)
    a.create_topics()
    a.write_config()
    r = fdit.redis_client()
    # The live namespace has offsets of group a.group.
    r.hset(f"{a.prefix}:offsets:{a.group}", f"{a.lead_topic}:0", 0)

    same = itlib.Setup("rp_err2", work, inputs=(a.lead_topic, a.crm_topic,
                                                a.spend_topic))
    same.create_topics()
    cfg = replay_config(same, same.prefix)
    p = fdit.start_funneld(cfg, log_path=work / "same.log")
    assert p.wait(60) != 0
    assert "replay.readers_prefix is redis.prefix" in p.log_text(), \
        p.log_tail()
    assert "set redis.prefix to a new one" in p.log_text(), p.log_tail()

    clash = itlib.Setup("rp_err3", work, inputs=(a.lead_topic, a.crm_topic,
                                                 a.spend_topic))
    clash.create_topics()
    clash.group = a.group
    cfg = replay_config(clash, a.prefix)
    p = fdit.start_funneld(cfg, log_path=work / "clash.log")
    assert p.wait(60) != 0
    text = p.log_text()
    assert f"has offsets of consumer group '{a.group}'" in text, p.log_tail()
    assert "give the replay a group of its own" in text, p.log_tail()
    assert not r.exists(f"{a.prefix}:active")


if __name__ == "__main__":
    fdit.main(globals())
