#!/usr/bin/env python3
"""A commit refused although no rebalance follows: something outside the
consumer group moved the owner epochs (here: the test bumps them in Redis
mid-stream). funneld drops the batch unwritten, waits for a rebalance, and
when none comes within 30 s claims its partitions again from the offsets in
Redis. The end state equals the reference model's: nothing was lost or
applied twice."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import RefModel  # noqa: E402
from test_e2e_generated import compare_keys, generate  # noqa: E402

EVENTS = 6000


def test_refused_commit_without_rebalance_recovers():
    work = fdit.work_dir()
    setup = itlib.Setup("fence", work, partitions=2,
                        processing="batch.max_events = 20\n")
    setup.create_topics()
    config = setup.write_config()
    events = generate(setup, work / "events.jsonl", events=EVENTS, seed=13)
    r = fdit.redis_client()
    ends = setup.end_offsets()
    proc = setup.start()

    def some_progress():
        return sum(setup.offsets(r).values()) > 200
    fdit.wait_for(some_progress, 60, "funneld to commit a few batches")
    for p in range(setup.partitions):
        r.incr(f"{setup.prefix}:epoch:{setup.group}:{p}")
    proc.wait_log(r"owner epoch moved", timeout=30)
    proc.wait_log(r"claiming them again", timeout=60)
    setup.wait_caught_up(proc, r, ends, timeout=120)
    setup.stop(proc)

    model = RefModel(config).run(
        events, partitions=itlib.gen_partitions(events, setup.partitions))
    compare_keys(model.redis_keys(setup.group), itlib.dump(r, setup.prefix))


if __name__ == "__main__":
    fdit.main(globals())
