#!/usr/bin/env python3
"""Redis coming back empty (no persistence) is detected, not silent.

A private redis-server holds funneld's state; mid-run it is stopped, its
files are deleted and it starts again empty. More events arrive. funneld
finds no offsets in Redis for partitions whose group has committed offsets
in Kafka and, with the default processing.on_missing_offsets = stop, exits 1
with a message saying what happened and what to do. Restarted with
on_missing_offsets = rebuild it rebuilds the whole state from the earliest
offsets, equal to the reference model over every event."""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import RefModel  # noqa: E402
from test_e2e_generated import compare_keys, generate  # noqa: E402
from test_outage import PrivateRedis  # noqa: E402


def test_empty_redis_stops_then_rebuilds():
    work = fdit.work_dir()
    priv = PrivateRedis(work)
    priv.start()
    try:
        setup = itlib.Setup("redis_empty", work, partitions=2,
                            redis_port=priv.port)
        setup.create_topics()
        setup.write_config()
        first = generate(setup, work / "first.jsonl", events=3000, seed=21)
        r = priv.client()
        proc = setup.start()
        setup.wait_caught_up(proc, r, setup.end_offsets(), timeout=90)

        priv.stop()
        for f in priv.dir.iterdir():
            if f.is_dir():
                shutil.rmtree(f)
            elif not f.name.endswith((".log", ".out")):
                f.unlink()
        priv.start()
        fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", 1000,
                      "--seed", 22, "--start", "2027-01-04",
                      "--lead-topic", setup.lead_topic,
                      "--crm-topic", setup.crm_topic,
                      "--jsonl", work / "second.jsonl"])
        rc = proc.wait(timeout=90)
        log = proc.log_text()
        assert rc == 1, f"exit code {rc}\n{proc.log_tail()}"
        assert "redis lost its data" in log and \
            "processing.on_missing_offsets = rebuild" in log, \
            proc.log_tail()

        setup.processing = "on_missing_offsets = rebuild\n"
        config = setup.write_config()
        r = priv.client()
        proc = setup.start()
        setup.wait_caught_up(proc, r, setup.end_offsets(), timeout=120)
        setup.stop(proc)
        assert "rebuilding from the earliest retained offset" in \
            proc.log_text()
        import json
        second = [json.loads(line) for line in
                  (work / "second.jsonl").read_text().splitlines()]
        model = RefModel(config).run(
            first + second,
            partitions=itlib.gen_partitions(first + second, setup.partitions))
        compare_keys(model.redis_keys(setup.group), itlib.dump(r, setup.prefix))
    finally:
        priv.stop()


if __name__ == "__main__":
    fdit.main(globals())
