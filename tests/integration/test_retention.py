#!/usr/bin/env python3
"""Input offsets deleted by the topic's retention before funneld applied
them: funneld says so and goes on from the oldest message left, not from
the newest (librdkafka's default reset, `latest`, would skip all of it)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

T0 = 1767225600000  # 2026-01-01T00:00:00Z


def events(avro, first, last):
    return [itlib.lead_record(avro, "acme", f"L{i % 3}", f"e-{i}",
                              T0 + i * 1000) for i in range(first, last)]


def test_deleted_offsets_resume_at_the_log_start():
    from confluent_kafka import TopicPartition
    work = fdit.work_dir()
    setup = itlib.Setup("retention", work, partitions=1)
    setup.create_topics()
    setup.write_config()
    avro, r = fdit.Avro(), fdit.redis_client()
    stats = f"{setup.prefix}:stats:{setup.group}"

    fdit.produce(setup.lead_topic, events(avro, 0, 5))
    setup.run_to_end(r)
    assert setup.offsets(r) == {f"{setup.lead_topic}:0": 5}
    assert r.hget(stats, "in:lead_events") == "5"

    # While funneld is down, 10 more arrive and retention deletes the
    # oldest 8 (offsets 0-7: 3 of them not applied yet).
    fdit.produce(setup.lead_topic, events(avro, 5, 15))
    admin = fdit.admin()  # kept: its futures resolve while it lives
    futures = admin.delete_records([TopicPartition(setup.lead_topic, 0, 8)])
    for f in futures.values():
        assert f.result(timeout=30).low_watermark == 8

    p = setup.run_to_end(r)
    assert setup.offsets(r) == {f"{setup.lead_topic}:0": 15}
    # 5 before, then offsets 8-14: 7 more
    assert r.hget(stats, "in:lead_events") == "12"
    touches = r.zrange(f"{setup.prefix}:{{acme}}:touches:lead:L2", 0, -1)
    assert [m.split("|")[0] for m in touches] == \
        ["e-2", "e-8", "e-11", "e-14"], touches
    log = p.log_tail(200)
    assert "offsets 5 to 7 were deleted by the topic's retention" in log, \
        log


if __name__ == "__main__":
    fdit.main(globals())
