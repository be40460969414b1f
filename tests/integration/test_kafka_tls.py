#!/usr/bin/env python3
"""Kafka over SASL_SSL: funneld's [kafka] settings and funneld-gen's -X
options reach librdkafka unchanged. A private broker (privbroker.py) with a
SASL/PLAIN over TLS listener and keys made at test time; funneld-gen
produces a generated stream over it, funneld consumes it and publishes its
PromotionEvents over it, and the Redis state must show every input message
processed (offsets, stats) with the promotions the reference model expects.
A wrong SASL password must stop funneld with a message that says so."""

import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
import privbroker  # noqa: E402
from refmodel import RefModel  # noqa: E402

EVENTS = 2000
SEED = 11
PARTITIONS = 2
BROKER = None  # the private SASL_SSL broker, started in __main__


def kafka_lines(conf):
    return "".join(f"{k} = {v}\n" for k, v in conf.items())


class TlsSetup(itlib.Setup):
    """A Setup whose own Kafka clients (topics, watermarks) and funneld's
    config use the private broker's SASL_SSL listener."""

    def __init__(self, name, work, password=privbroker.PASSWORD):
        self.security = BROKER.client_conf(password=password)
        super().__init__(name, work, partitions=PARTITIONS,
                         kafka=kafka_lines(self.security),
                         bootstrap=BROKER.bootstrap)

    def client(self, **extra):
        return {"bootstrap.servers": BROKER.bootstrap,
                **BROKER.client_conf(), **extra}

    def create_topics(self):
        # fdit's: it also waits until every partition answers a ListOffsets
        # (funneld-gen lost acknowledged events in topics whose metadata
        # named a leader before its log existed).
        fdit.create_topics([self.lead_topic, self.crm_topic, self.promotions,
                            self.attribution, self.alerts, self.dlq],
                           partitions=PARTITIONS,
                           bootstrap_servers=BROKER.bootstrap,
                           client_conf=BROKER.client_conf())

    def watermark_topics(self):
        return [self.lead_topic, self.crm_topic]

    def consume(self, topic, expected, timeout=30):
        """expected records of topic, read over SASL_SSL (then 1 s more to
        catch extra ones)."""
        from confluent_kafka import Consumer
        c = Consumer(self.client(**{"group.id": fdit.unique("tls-reader"),
                                    "auto.offset.reset": "earliest",
                                    "isolation.level": "read_committed",
                                    "enable.auto.commit": False}))
        out = []
        try:
            c.subscribe([topic])
            end = time.monotonic() + timeout
            extra_until = None
            while time.monotonic() < end:
                if len(out) >= expected and extra_until is None:
                    extra_until = time.monotonic() + 1.0
                if extra_until and time.monotonic() >= extra_until:
                    break
                msg = c.poll(0.2)
                if msg is None:
                    continue
                if msg.error():
                    raise fdit.ITError(f"consuming {topic}: {msg.error()}")
                out.append(msg)
        finally:
            c.close()
        return out


def gen_security_args(conf):
    args = []
    for k, v in conf.items():
        args += ["-X", f"{k}={v}"]
    return args


def test_funneld_over_sasl_ssl():
    work = fdit.work_dir()
    setup = TlsSetup("kafka_tls", work)
    setup.create_topics()
    setup.write_config()
    jsonl = work / "events.jsonl"
    fdit.run_gen(["--brokers", BROKER.bootstrap,
                  *gen_security_args(setup.security),
                  "--events", EVENTS, "--seed", SEED,
                  "--lead-topic", setup.lead_topic,
                  "--crm-topic", setup.crm_topic,
                  "--schema-dir", itlib.SCHEMAS, "--jsonl", jsonl],
                 timeout=60, log_path=work / "gen.log")
    events = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(events) == EVENTS, len(events)
    ends = setup.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends

    r = fdit.redis_client()
    proc = setup.start()
    setup.wait_caught_up(proc, r, ends, timeout=60)
    setup.stop(proc)
    assert setup.offsets(r) == {k: v for k, v in ends.items() if v > 0}, \
        (setup.offsets(r), ends)

    model = RefModel(setup.config).run(
        events, partitions=itlib.gen_partitions(events, setup.partitions))
    stats = {k: int(v) for k, v in
             r.hgetall(f"{setup.prefix}:stats:{setup.group}").items()}
    assert stats == dict(model.stats), (stats, dict(model.stats))
    assert not r.exists(f"{setup.prefix}:stats:{setup.group}:dlq")

    want = {p["event_id"] for p in model.promotions}
    assert want, "the generated stream promotes nobody: pick another seed"
    avro = fdit.Avro()
    recs = setup.consume(setup.promotions, len(want))
    got = Counter(avro.decode("promotion_event", m.value())[1]["event_id"]
                  for m in recs)
    dup = [i for i, c in got.items() if c > 1]
    assert not dup, f"PromotionEvents published twice: {dup[:10]}"
    assert set(got) == want, (f"missing {sorted(want - set(got))[:10]}, "
                              f"unexpected {sorted(set(got) - want)[:10]}")
    print(f"over SASL_SSL: {EVENTS} events in, stats {stats}, "
          f"{len(got)} PromotionEvents out", flush=True)


def test_wrong_password_stops_funneld():
    work = fdit.work_dir()
    setup = TlsSetup("kafka_tls_badpw", work, password="not-the-secret")
    setup.create_topics()  # with the right password: only funneld's is wrong
    t0 = time.monotonic()
    proc = setup.start(setup.write_config())
    try:
        rc = proc.wait(timeout=60)
    finally:
        if proc.alive():
            proc.stop()
    took = time.monotonic() - t0
    log = proc.log_text()
    assert rc == 1, f"funneld exited with {rc} on a wrong password:\n{log}"
    # What funneld does now: librdkafka logs the broker's refusal at once
    # ("SASL authentication error: Authentication failed: Invalid username
    # or password"), funneld waits out its 10 s metadata timeout and exits 1
    # with "cannot read topic metadata from kafka: ... check
    # kafka.bootstrap.servers and that the brokers are up", which does not
    # point at the credentials (reported to the lead).
    assert "Authentication failed: Invalid username or password" in log, log
    assert "cannot read topic metadata from kafka" in log, log
    assert took < 30, f"funneld took {took:.1f} s to give up:\n{log}"
    print(f"wrong password: exit {rc} after {took:.1f} s; last lines:\n"
          f"{proc.log_tail(3)}", flush=True)


if __name__ == "__main__":
    with privbroker.SaslSslBroker(fdit.work_dir("kafka_tls_broker")) as b:
        BROKER = b
        fdit.main(globals())
