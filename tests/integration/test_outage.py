#!/usr/bin/env python3
"""Outages mid-stream, while a generated stream flows (itlib.Flow).

Redis: the test starts its own redis-server (AOF on, its own port and
directory), stops it with SIGTERM for OUTAGE_S seconds while funneld is
processing and starts it again on the same port with the same directory.
funneld must say that it waits and retries, keep running, reconnect, and end
with every key equal to an uninterrupted run over the same stream (into the
shared fixture redis-server) and with the same derived event ids.

Redis connection lost right after funneld produced the outbox (the trim that
follows is cut by a proxy of the test, itlib.Proxy) with no more input
arriving: funneld must reconnect by itself and drain the outbox.

Kafka: the test starts its own single-node broker (fixture.py's start_kafka
in a private state directory), restarts it mid-stream on the same ports and
data directory, and expects the same.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import fixture  # noqa: E402
import itlib  # noqa: E402

EVENTS = 12000
SEED = 41
RATE = 500  # events/s: the flow lasts about 24 s
OUTAGE_S = 12
BROKER_DOWN_S = 8  # from SIGTERM to the restart (then ~5 s until it serves)
KAFKA = "session.timeout.ms = 6000\nheartbeat.interval.ms = 1000\n"


class PrivateRedis:
    """A redis-server of this test only, with AOF, restartable on the same
    port and directory."""

    def __init__(self, work):
        self.dir = Path(work) / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = fixture.free_port()
        self.proc = None

    def start(self):
        server = os.environ.get("REDIS_SERVER", shutil.which("redis-server"))
        with open(self.dir / "redis.out", "ab") as out:
            self.proc = subprocess.Popen(
                [server, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--appendonly", "yes", "--save", "", "--daemonize", "no",
                 "--dir", str(self.dir), "--logfile",
                 str(self.dir / "redis.log")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise fdit.ITError(f"redis-server exited with "
                                   f"{self.proc.returncode}:\n"
                                   f"{fixture.tail(self.dir / 'redis.log')}")
            return fixture.redis_ping(self.port)
        fdit.wait_for(up, 20, f"redis-server on port {self.port}")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise fdit.ITError("redis-server ignored SIGTERM for 30 s")
        return self.proc.returncode if self.proc else None

    def client(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port,
                           decode_responses=True, socket_timeout=10)


class PrivateKafka:
    """A single-node broker of this test only (fixture.start_kafka in a
    private state directory), restartable on the same ports and data."""

    def __init__(self, work):
        self.state = Path(work) / "kafka-state"
        self.dir = self.state / "kafka"

    def start(self):
        fixture.start_kafka(self.state)
        env = dict(line.split("=", 1) for line in
                   (self.state / "kafka.env").read_text().splitlines())
        self.bootstrap = env["KAFKA_BOOTSTRAP"]

    def stop(self):
        fixture.kill_pidfile(self.dir / "kafka.pid",
                             str(self.dir / "server.properties"),
                             "private Kafka broker")

    def restart(self):
        """Starts the stopped broker again: same config, ports and data."""
        d = self.dir
        jvm = [fixture.java_bin(), "-Djava.awt.headless=true",
               f"-Dlog4j.configuration=file:{d / 'log4j.properties'}",
               f"-Dkafka.logs.dir={d}", "-cp",
               str(fixture.kafka_libs() / "*")]
        proc = fixture.spawn_detached(
            jvm + fixture.JVM_HEAP + ["kafka.Kafka",
                                      str(d / "server.properties")],
            d / "broker.out", d)
        (d / "kafka.pid").write_text(f"{proc.pid}\n")

        def up():
            if proc.poll() is not None:
                raise fdit.ITError(f"the broker exited with {proc.returncode}"
                                   f":\n{fixture.tail(d / 'server.log')}")
            return fixture.kafka_ready(self.bootstrap)
        fdit.wait_for(up, 90, f"the private broker on {self.bootstrap}",
                      interval=0.25)

    def close(self):
        fixture.stop_kafka(self.state)


def health(base, path="/healthz"):
    """(HTTP status, parsed JSON) of funneld's /healthz or /readyz."""
    import json
    status, ctype, body = itlib.http_get(base + path)
    assert ctype == "application/json", (path, status, ctype, body)
    return status, json.loads(body)


def wait_component(p, base, component, state, timeout):
    """Waits until /healthz reports component (redis, kafka) in state and
    checks that /readyz and /metrics agree; returns the /healthz document."""
    seen = {}

    def reported():
        alive(p)
        seen["doc"] = health(base)[1]
        return seen["doc"][component]["state"] == state
    fdit.wait_for(reported, timeout,
                  f"/healthz to report {component} {state}")
    live, doc = health(base)
    ready, rdoc = health(base, "/readyz")
    up = itlib.metric(itlib.scrape(base), "funneld_up", component=component)
    print(f"{component} {state}: /healthz {live} {doc}\n"
          f"  /readyz {ready} {rdoc['status']} {rdoc['reasons']}", flush=True)
    assert live == 200, "liveness must not fail because a dependency is down"
    if state == "down":
        assert doc["status"] == "degraded", doc
        assert ready == 503, rdoc
        assert any(r.startswith(component) for r in rdoc["reasons"]), rdoc
        assert up == 0
    else:
        assert up == 1
    return doc


def alive(*procs):
    for p in procs:
        if not p.alive():
            raise fdit.ITError(f"funneld died:\n{p.log_tail()}")
    return True


def test_redis_outage_mid_stream():
    work = fdit.work_dir()
    inputs = fdit.input_topics("outage_redis")
    srv = PrivateRedis(work)
    srv.start()
    try:
        with itlib.Cleanup() as c:
            run_redis_outage(c, work, inputs, srv)
    finally:
        srv.stop()


def run_redis_outage(cleanup, work, inputs, srv):
    a = itlib.Setup("outage_redis_a", work, inputs=inputs)
    b = itlib.Setup("outage_redis_b", work, inputs=inputs,
                    redis_port=srv.port)
    for s in (a, b):
        s.create_topics()
        s.write_config()
    events = itlib.generated_events(work / "events.jsonl", EVENTS, SEED)
    rb = srv.client()
    flow = cleanup.add(itlib.Flow(b, events, RATE))
    cleanup.add(a, b)

    p = b.start()
    base = itlib.http_base(p)
    p.wait_log(r"assigned 4 partition pair", timeout=60)
    flow.start()
    fdit.wait_for(lambda: alive(p) and
                  sum(b.offsets(rb).values()) >= EVENTS // 5, 60,
                  f"funneld to pass {EVENTS // 5} events")
    fdit.wait_for(lambda: health(base, "/readyz")[0] == 200, 30,
                  "/readyz to answer 200 while everything is up")
    rc = srv.stop(signal.SIGTERM)
    down_at, down_sent = time.monotonic(), flow.sent
    assert rc == 0, f"redis-server exited with {rc} on SIGTERM"
    mark = len(p.log_text())
    waiting = fdit.wait_for(
        lambda: alive(p) and "retrying in" in p.log_text()[mark:], 30,
        "funneld to log that it waits for redis")
    doc = wait_component(p, base, "redis", "down", 20)
    assert doc["redis"].get("error"), doc
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    alive(p)
    srv.start()
    up_sent = flow.sent
    fdit.wait_for(lambda: alive(p) and
                  "reconnected to redis" in p.log_text()[mark:], 30,
                  "funneld to reconnect to redis")
    wait_component(p, base, "redis", "up", 20)
    print(f"redis down {time.monotonic() - down_at:.1f} s while the flow "
          f"sent events {down_sent} .. {up_sent}", flush=True)
    print("funneld during the outage:\n" + "\n".join(
        line for line in p.log_text()[mark:].splitlines()
        if "redis" in line)[:3000], flush=True)
    assert waiting
    assert up_sent < EVENTS, "the flow ended during the outage; lower RATE"

    flow.wait(120)
    ends = b.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends
    b.wait_caught_up(p, rb, ends, timeout=120)
    fdit.wait_for(lambda: health(base, "/readyz")[0] == 200, 30,
                  "/readyz to answer 200 again after the outage")
    b.stop(p)

    ra = fdit.redis_client()
    a.run_to_end(ra, timeout=120)
    n = itlib.assert_same_state(ra, a, rb, b)
    outs = itlib.assert_same_outputs(a, b)
    print(f"{n} keys equal; " + "; ".join(
        f"{t}: {ids} event ids, {extra} re-published"
        for t, (ids, extra) in outs.items()), flush=True)


def test_redis_lost_during_outbox_trim_on_a_quiet_stream():
    work = fdit.work_dir()
    inputs = fdit.input_topics("outage_trim")
    a = itlib.Setup("outage_trim_a", work, inputs=inputs)
    b = itlib.Setup("outage_trim_b", work, inputs=inputs)
    for s in (a, b):
        s.create_topics()
        s.write_config()
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", 3000, "--seed",
                  SEED, "--lead-topic", inputs[0], "--crm-topic", inputs[1],
                  "--schema-dir", itlib.SCHEMAS], log_path=work / "gen.log")
    r = fdit.redis_client()
    proxy = itlib.Proxy()
    proxy.start()
    try:
        p = b.start(itlib.config_via(b, proxy.port, "proxy"))
        b.wait_caught_up(p, r, b.end_offsets(), timeout=60)
        mark = len(p.log_text())
        # The next outbox trim loses its connection; then nothing more
        # arrives: only funneld itself can notice and reconnect.
        proxy.cut_on = b"LTRIM"
        # A new lead reported at SQL: promotions to mql (implied) and sql.
        sql = {"event_id": "outage-trim-sql-1", "tenant_id": "t1",
               "occurred_at": 1790000000000, "lead_id": "lead-outage-trim",
               "stage": "sql", "opportunity_id": None, "amount_minor": None,
               "currency": None, "owner": None}
        fdit.produce(inputs[1], [(b"lead-outage-trim", fdit.Avro().encode(
            "crm_stage_event", sql, 2))])
        ends = b.end_offsets()
        fdit.wait_for(lambda: proxy.cuts == 1, 30,
                      "funneld's outbox trim to reach the proxy")
        b.wait_caught_up(p, r, ends, timeout=30)
        late = p.log_text()[mark:]
        print(f"funneld after the cut:\n{late.strip()}", flush=True)
        assert "reconnected to redis" in late, late
        b.stop(p)
    finally:
        proxy.close()
        b.kill_all()
    a.run_to_end(r, timeout=60)
    n = itlib.assert_same_state(r, a, r, b)
    outs = itlib.assert_same_outputs(a, b)
    print(f"{n} keys equal; " + "; ".join(
        f"{t}: {ids} event ids, {extra} re-published"
        for t, (ids, extra) in outs.items()), flush=True)


def test_kafka_broker_restart_mid_stream():
    work = fdit.work_dir()
    broker = PrivateKafka(work)
    broker.start()
    try:
        with itlib.Cleanup() as c:
            run_broker_restart(c, work, broker)
    finally:
        broker.close()


def run_broker_restart(cleanup, work, broker):
    inputs = fdit.input_topics("outage_kafka",
                               bootstrap_servers=broker.bootstrap)
    a = itlib.Setup("outage_kafka_a", work, inputs=inputs,
                    bootstrap=broker.bootstrap)
    b = itlib.Setup("outage_kafka_b", work, inputs=inputs,
                    bootstrap=broker.bootstrap, kafka=KAFKA)
    for s in (a, b):
        s.create_topics()
        s.write_config()
    events = itlib.generated_events(work / "events.jsonl", EVENTS, SEED)
    r = fdit.redis_client()
    flow = cleanup.add(itlib.Flow(b, events, RATE))
    cleanup.add(a, b)

    p = b.start()
    base = itlib.http_base(p)
    p.wait_log(r"assigned 4 partition pair", timeout=60)
    flow.start()
    fdit.wait_for(lambda: alive(p) and
                  sum(b.offsets(r).values()) >= EVENTS // 5, 60,
                  f"funneld to pass {EVENTS // 5} events")
    wait_component(p, base, "kafka", "up", 30)
    mark = len(p.log_text())
    down_at, down_sent = time.monotonic(), flow.sent
    broker.stop()
    wait_component(p, base, "kafka", "down", BROKER_DOWN_S + 20)
    time.sleep(max(0.0, BROKER_DOWN_S - (time.monotonic() - down_at)))
    alive(p)
    broker.restart()
    up_sent = flow.sent
    print(f"broker down {time.monotonic() - down_at:.1f} s while the flow "
          f"sent events {down_sent} .. {up_sent}", flush=True)
    assert up_sent < EVENTS, "the flow ended during the outage; lower RATE"

    wait_component(p, base, "kafka", "up", 60)
    flow.wait(180)
    ends = b.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends
    b.wait_caught_up(p, r, ends, timeout=120)
    late = p.log_text()[mark:]
    b.stop(p)
    warned = [line for line in late.splitlines() if " kafka: " in line]
    print("funneld during the outage (first lines):\n" +
          "\n".join(warned[:8]), flush=True)
    assert warned, f"funneld did not notice the broker outage:\n{late}"

    a.run_to_end(r, timeout=120)
    n = itlib.assert_same_state(r, a, r, b)
    outs = itlib.assert_same_outputs(a, b)
    print(f"{n} keys equal; " + "; ".join(
        f"{t}: {ids} event ids, {extra} re-published"
        for t, (ids, extra) in outs.items()), flush=True)


if __name__ == "__main__":
    fdit.main(globals())
