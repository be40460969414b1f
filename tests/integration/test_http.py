#!/usr/bin/env python3
"""funneld's HTTP endpoint: /metrics, /healthz, /readyz.

A generated stream (with re-sent duplicates) plus two bad messages goes
through funneld; then every counter of /metrics is checked against what is
observable elsewhere: the stats hash funneld keeps in Redis, the input
topics' end offsets, the records on the output topics (and every message's
age, from its Kafka timestamp to its commit, against the test's span). Lag
and outbox depth must reach 0, /healthz and /readyz must say ok, unknown
paths get 404 and other methods 405, and the endpoint binds to loopback
only. Outages in /healthz are checked by test_outage.py.
"""

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

EVENTS = 3000
SEED = 23


def out_count(topic):
    return len(fdit.consume_all(topic, idle=2.0, timeout=60))


def test_metrics_match_redis_and_topics():
    work = fdit.work_dir()
    setup = itlib.Setup("http", work, partitions=2)
    setup.create_topics()
    setup.write_config()
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", EVENTS,
                  "--seed", SEED, "--dup-rate", "0.02",
                  "--lead-topic", setup.lead_topic,
                  "--crm-topic", setup.crm_topic,
                  "--schema-dir", itlib.SCHEMAS], log_path=work / "gen.log")
    # Two bad messages: random bytes (lead topic), an unknown schema id
    # (CRM topic).
    fdit.produce(setup.lead_topic, [(b"lead-x", b"\x07not avro at all")])
    fdit.produce(setup.crm_topic, [(b"lead-y", b"\x00\x00\x00\x7f\x01\x02")])
    r = fdit.redis_client()
    p = setup.start()
    try:
        base = itlib.http_base(p)
        assert base.startswith("http://127.0.0.1:"), base
        ends = setup.end_offsets()
        setup.wait_caught_up(p, r, ends, timeout=120)

        stats = r.hgetall(f"{setup.prefix}:stats:{setup.group}")
        dlq = r.hgetall(f"{setup.prefix}:stats:{setup.group}:dlq")
        lead_in = sum(v for k, v in ends.items()
                      if k.startswith(setup.lead_topic + ":"))
        crm_in = sum(ends.values()) - lead_in

        def settled():
            s = itlib.scrape(base)
            lags = [v for (n, _), v in s.items()
                    if n == "funneld_consumer_lag"]
            depths = [v for (n, _), v in s.items()
                      if n == "funneld_outbox_depth"]
            # 2 partitions of 3 input topics (lead, CRM, spend)
            return len(lags) == 6 and not any(lags) and \
                len(depths) == 2 and not any(depths)
        fdit.wait_for(settled, 30, "/metrics to show lag 0 and empty "
                      "outboxes for both partitions of every input topic")
        s = itlib.scrape(base)

        def m(name, **labels):
            return int(itlib.metric(s, name, **labels))
        for topic, total, applied_key in (
                (setup.lead_topic, lead_in, "in:lead_events"),
                (setup.crm_topic, crm_in, "in:crm_events")):
            got = {o: m("funneld_events_in_total", topic=topic, outcome=o)
                   for o in ("applied", "duplicate", "dlq")}
            print(f"{topic}: {got} of {total}", flush=True)
            assert sum(got.values()) == total, (topic, got, total)
            assert got["applied"] == int(stats.get(applied_key, 0)), \
                (got, stats)
            assert got["dlq"] == 1, got
        dup = sum(m("funneld_events_in_total", topic=t, outcome="duplicate")
                  for t in (setup.lead_topic, setup.crm_topic))
        assert dup == int(stats.get("duplicates", 0)) and dup > 0, \
            (dup, stats)
        for reason, n in dlq.items():
            assert m("funneld_dlq_total", reason=reason) == int(n), \
                (reason, n, s)
        assert sum(m("funneld_dlq_total", reason=k) for k in dlq) == 2

        promotions = out_count(setup.promotions)
        attributions = out_count(setup.attribution)
        dlq_records = out_count(setup.dlq)
        print(f"out: {promotions} promotions, {attributions} attributions, "
              f"{dlq_records} DLQ", flush=True)
        assert promotions > 0 and attributions > 0
        assert m("funneld_events_out_total",
                 topic=setup.promotions) == promotions
        assert m("funneld_events_out_total",
                 topic=setup.attribution) == attributions
        assert m("funneld_events_out_total", topic=setup.dlq) == dlq_records
        assert dlq_records == 2

        batches = m("funneld_batch_events_count")
        assert batches > 0
        assert m("funneld_batch_events_sum") == sum(ends.values())
        assert m("funneld_commit_seconds_count") == batches
        assert m("funneld_batch_events_bucket", le="+Inf") == batches
        # Every input message's age (Kafka timestamp to commit) once; all
        # were produced by this test, well within 5 minutes, none at 0.
        assert m("funneld_event_age_seconds_count") == sum(ends.values())
        assert m("funneld_event_age_seconds_bucket", le="300") == \
            sum(ends.values()), s
        sum_s = itlib.metric(s, "funneld_event_age_seconds_sum")
        assert 0 < sum_s < 300 * sum(ends.values()), sum_s
        assert m("funneld_partitions_assigned") == 2
        assert m("funneld_up", component="redis") == 1
        assert m("funneld_commits_fenced_total") == 0

        def ok(path):
            status, ctype, body = itlib.http_get(base + path)
            return status == 200 and json.loads(body)["status"] == "ok"
        fdit.wait_for(lambda: ok("/healthz") and ok("/readyz"), 30,
                      "/healthz and /readyz to say ok")
        status, _, body = itlib.http_get(base + "/readyz")
        doc = json.loads(body)
        assert doc["redis"]["state"] == "up" and \
            doc["kafka"]["state"] == "up" and \
            sorted(doc["partitions"]) == [0, 1] and not doc["reasons"], doc
        assert doc["group"] == setup.group, doc

        status, _, body = itlib.http_get(base + "/nope")
        assert status == 404 and "/metrics" in body, (status, body)
        req = urllib.request.Request(base + "/metrics", data=b"x",
                                     method="POST")
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("POST /metrics was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 405, e.code

        setup.stop(p)
    finally:
        setup.kill_all()


def test_port_taken_is_a_clear_start_error():
    """A second funneld configured on the port of the first exits 1 and
    says what to change."""
    work = fdit.work_dir()
    setup = itlib.Setup("http_port", work, partitions=1)
    setup.create_topics()
    cfg = setup.write_config()
    p = setup.start()
    try:
        base = itlib.http_base(p)
        port = base.rsplit(":", 1)[1]
        second = cfg.with_suffix(".taken.ini")
        second.write_text(cfg.read_text().replace(
            "listen = 127.0.0.1:0", f"listen = 127.0.0.1:{port}"))
        q = setup.start(second)
        rc = q.wait(30)
        text = q.log_text()
        print(text.strip().splitlines()[-1], flush=True)
        assert rc == 1, (rc, text)
        assert f"cannot listen on 127.0.0.1:{port}" in text and \
            "http.listen" in text, text
        setup.stop(p)
    finally:
        setup.kill_all()


if __name__ == "__main__":
    fdit.main(globals())
