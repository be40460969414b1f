#!/usr/bin/env python3
"""Redis refusing writes loses nothing, or stops funneld loudly.

1. Out of memory (maxmemory reached, noeviction): Redis refuses the batch's
   writes while they are queued, so it discards the whole MULTI/EXEC.
   funneld logs it, stores nothing of the batch (offsets included) and
   waits (its reconnect check writes too) with a pause doubling up to 5 s,
   not in a hot loop, saying Redis is out of memory; once memory
   is back the events are applied exactly once, equal to the reference
   model.
2. A key funneld writes holds another type (another program's string where
   the tenant's stage counters belong): HINCRBY fails while EXEC runs, and
   Redis does not undo the batch's other commands. funneld cannot take that
   back, so it says what happened and what to do, and exits 1 rather than
   go on losing counts."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import RefModel  # noqa: E402

T = "refused"
T0 = 1791190800000  # 2026-10-05T09:00:00Z


def crm(eid, lead, stage, at):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "lead_id": lead, "stage": stage, "opportunity_id": None,
            "amount_minor": None, "currency": None, "owner": None}


EVENTS = [crm("r1", "lead-1", "lead", T0),
          crm("r2", "lead-1", "mql", T0 + 1000),
          crm("r3", "lead-2", "sql", T0 + 2000)]


def new_setup(name):
    work = fdit.work_dir()
    setup = itlib.Setup(name, work, partitions=1)
    setup.create_topics()
    return setup, setup.write_config()


def produce_events(setup):
    avro = fdit.Avro()
    fdit.produce(setup.crm_topic,
                 [(e["lead_id"].encode(), avro.encode("crm_stage_event", e, 2))
                  for e in EVENTS])


def test_out_of_memory_batch_is_redone_until_it_lands():
    setup, config = new_setup("refused_oom")
    r = fdit.redis_client()
    old = r.config_get("maxmemory")["maxmemory"]
    old_policy = r.config_get("maxmemory-policy")["maxmemory-policy"]
    try:
        # funneld starts (it writes its layout marker and claims the
        # partition), then Redis runs out of memory, then events arrive
        p = setup.start()
        p.wait_log(r"assigned 1 partition pair", timeout=60)
        r.config_set("maxmemory-policy", "noeviction")
        r.config_set("maxmemory", "1")
        produce_events(setup)
        ends = setup.end_offsets()
        p.wait_log(r"redis refused \d+ command\(s\) of the batch, the first "
                   r"with: OOM", timeout=60)
        # it pauses (reconnecting: its layout check is a write, refused
        # too) with a growing delay, and says why
        fdit.wait_for(lambda: p.log_text().count("OOM command not allowed")
                      >= 4, 60, "funneld to try again")
        assert "redis is out of memory: raise its maxmemory" in p.log_text()
        # nothing of the refused batch is stored, offsets included
        assert not any(setup.offsets(r).values()), setup.offsets(r)
        assert not r.exists(f"{setup.prefix}:{{{T}}}:total")
        r.config_set("maxmemory", old)
        setup.wait_caught_up(p, r, ends, timeout=60)
        attempts = p.log_text().count("OOM command not allowed")
        assert attempts < 50, f"{attempts} attempts: a hot loop"
        total = f"{setup.prefix}:{{{T}}}:total"
        want = RefModel(config).run(EVENTS, partitions=[0] * len(EVENTS)) \
            .redis_keys(setup.group)
        assert r.hgetall(total) == want[f":{{{T}}}:total"], \
            (r.hgetall(total), want[f":{{{T}}}:total"])
        assert r.hget(f"{setup.prefix}:stats:{setup.group}",
                      "in:crm_events") == "3"
        setup.stop(p)
    finally:
        r.config_set("maxmemory", old)
        r.config_set("maxmemory-policy", old_policy)
        setup.kill_all()


def test_wrong_type_key_stops_funneld():
    setup, _ = new_setup("refused_type")
    produce_events(setup)
    r = fdit.redis_client()
    total = f"{setup.prefix}:{{{T}}}:total"
    r.set(total, "not a hash")
    p = setup.start()
    try:
        rc = p.wait(timeout=60)
        log = p.log_text()
        assert rc == 1, (rc, p.log_tail())
        assert "commands failed, the first with: WRONGTYPE" in log, \
            p.log_tail()
        assert f"A key under prefix '{setup.prefix}' holds a value funneld " \
            "did not write" in log, p.log_tail()
        assert "stopping: a batch was written only in part" in log
        assert r.get(total) == "not a hash"
    finally:
        setup.kill_all()


if __name__ == "__main__":
    fdit.main(globals())
