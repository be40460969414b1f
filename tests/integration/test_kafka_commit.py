#!/usr/bin/env python3
"""The offsets funneld commits to Kafka (for lag tools and for detecting a
Redis that lost its data) reach the end of the input, at most
processing.kafka_commit_ms after the batch that wrote them.

- With the default interval, funneld left running idle after the last
  batch commits every input partition's end offset to its consumer group
  (the commit that waited for the interval is not lost when no batch
  follows).
- With an interval longer than the test, funneld commits the first batch at
  once and the rest when it stops: after SIGTERM the group's committed
  offsets equal the input's end offsets, which are also the offsets in
  Redis.
- 0 commits after every batch: the end offsets are committed while funneld
  still runs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402


def committed(setup, ends):
    """{"topic:partition": offset} the setup's consumer group committed in
    Kafka for the partitions ends names (-1001 when none)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(setup.client(**{"group.id": setup.group}))
    try:
        tps = [TopicPartition(k.rsplit(":", 1)[0], int(k.rsplit(":", 1)[1]))
               for k in ends]
        return {f"{tp.topic}:{tp.partition}": tp.offset
                for tp in c.committed(tps, timeout=10)}
    finally:
        c.close()


def at_end(setup, ends):
    got = committed(setup, ends)
    return all(got[k] >= hi for k, hi in ends.items()) and got


def run(name, processing, events, seed):
    work = fdit.work_dir()
    setup = itlib.Setup(name, work, partitions=3, processing=processing)
    setup.create_topics()
    setup.write_config()
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", events,
                  "--seed", seed, "--lead-topic", setup.lead_topic,
                  "--crm-topic", setup.crm_topic,
                  "--jsonl", work / f"{name}.jsonl"])
    ends = {k: hi for k, hi in setup.end_offsets().items() if hi > 0}
    assert ends, "the generator wrote no events"
    r = fdit.redis_client()
    proc = setup.start()
    setup.wait_caught_up(proc, r, ends, timeout=120)
    return setup, ends, r, proc


def committed_while_running(name, processing, events, seed):
    """Runs funneld over the events and waits, while it keeps running, for
    its group's committed offsets to reach the input's end."""
    setup, ends, _, proc = run(name, processing, events, seed)
    try:
        got = fdit.wait_for(lambda: at_end(setup, ends), 30,
                            "the group's committed offsets in Kafka to reach "
                            f"the input's end {ends} while funneld runs")
        assert got == ends, (got, ends)
    finally:
        setup.stop(proc)


def test_idle_commit_reaches_the_end():
    committed_while_running("kcommit_idle", "", 4000, 41)


def test_long_interval_commits_at_stop():
    setup, ends, r, proc = run("kcommit_stop",
                               "kafka_commit_ms = 600000\n", 4000, 42)
    setup.stop(proc)
    got = committed(setup, ends)
    assert got == ends, f"committed {got}, input ends {ends}"
    stored = {k: v for k, v in setup.offsets(r).items() if k in ends}
    assert stored == ends, (stored, ends)


def test_every_batch():
    committed_while_running("kcommit_each", "kafka_commit_ms = 0\n", 2000, 43)


if __name__ == "__main__":
    fdit.main(globals())
