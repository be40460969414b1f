"""fdit: helpers for funneld's integration tests (tests/integration/test_*.py).

The CTest fixtures (fixture.py) start one Kafka broker and one redis-server
per ctest run and write their ports to $FUNNELD_IT_STATE/{kafka,redis}.env.
Each test script gets its own names (see Names) so that tests sharing the
broker and the redis-server never see each other's topics or keys.

A test script defines test_* functions and ends with fdit.main(globals()):
each test runs in order, a failure prints its traceback, and the last line
is "N passed, N failed"; the exit code is non-zero when any failed.
"""

import io
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections import namedtuple
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("FUNNELD_SOURCE_DIR",
                                 Path(__file__).resolve().parents[2]))


class ITError(AssertionError):
    """A failed expectation of an integration test."""


# ------------------------------------------------------------ fixture state

def state_dir():
    d = os.environ.get("FUNNELD_IT_STATE")
    if not d:
        raise ITError("FUNNELD_IT_STATE is not set: run integration tests "
                      "through ctest (ctest --test-dir build -L integration), "
                      "which starts the Kafka and Redis fixtures")
    return Path(d)


def _read_env(name):
    path = state_dir() / f"{name}.env"
    if not path.exists():
        raise ITError(f"{path} is missing: the {name} fixture is not running; "
                      f"start it with tests/integration/fixture.py start {name}"
                      " or run the test through ctest")
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values


def bootstrap():
    """The test broker's bootstrap.servers, e.g. "127.0.0.1:41234"."""
    return _read_env("kafka")["KAFKA_BOOTSTRAP"]


def redis_port():
    return int(_read_env("redis")["REDIS_PORT"])


def redis_socket():
    """The fixture redis-server's Unix socket path."""
    return _read_env("redis")["REDIS_SOCKET"]


def redis_host():
    return _read_env("redis").get("REDIS_HOST", "127.0.0.1")


def funneld_bin():
    """Path of the funneld executable under test (CTest sets FUNNELD_BIN)."""
    return _bin("FUNNELD_BIN", "funneld")


def funneld_gen_bin():
    return _bin("FUNNELD_GEN_BIN", "funneld-gen")


def _bin(var, name):
    path = os.environ.get(var)
    if not path or not Path(path).exists():
        raise ITError(f"{var} is not set or does not exist ({path!r}): build "
                      f"the {name} target and run the test through ctest")
    return path


# ------------------------------------------------------------ unique names

_counter = itertools.count(1)


def unique(prefix="it"):
    """A name no other test (or earlier run) uses: prefix-<8 hex>-<n>."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}-{next(_counter)}"


class Names:
    """Per-test names: topics "<prefix>.<name>", consumer groups and a redis
    key prefix "<prefix>:" (matching funneld's redis.prefix setting)."""

    def __init__(self, test_name=None):
        base = test_name or Path(sys.argv[0]).stem or "it"
        base = re.sub(r"[^A-Za-z0-9_-]", "_", base)[:40]
        self.prefix = unique(base)

    def topic(self, name):
        return f"{self.prefix}.{name}"

    def group(self, name="funneld"):
        return f"{self.prefix}.{name}"

    @property
    def redis_prefix(self):
        return self.prefix

    def key(self, *parts):
        return ":".join((self.prefix,) + tuple(str(p) for p in parts))


# ------------------------------------------------------------ waiting

def wait_for(predicate, timeout, what, interval=0.1):
    """Polls predicate until it returns a true value (returned) or timeout
    seconds pass; then raises ITError naming what was awaited and the last
    value seen."""
    end = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= end:
            raise ITError(f"timed out after {timeout:g} s waiting for {what} "
                          f"(last value: {last!r})")
        time.sleep(interval)


# ------------------------------------------------------------ Kafka

def admin(bootstrap_servers=None, client_conf=None):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers":
                        bootstrap_servers or bootstrap(),
                        **(client_conf or {})})


def input_topics(name, **create):
    """A test's own lead and CRM input topics, "<prefix>.lead-events" and
    "<prefix>.crm-events" of Names(name), created (create_topics' keyword
    arguments; 4 partitions unless given) for the setups that share them."""
    names = Names(name)
    inputs = (names.topic("lead-events"), names.topic("crm-events"))
    create_topics(inputs, **create)
    return inputs


def create_topics(names, partitions=4, config=None, timeout=30,
                  bootstrap_servers=None, client_conf=None):
    """Creates topics (replication 1) and waits until the broker's metadata
    shows every one with all its partitions led. bootstrap_servers: another
    broker than the fixture's; client_conf: more client settings for it
    (security)."""
    from confluent_kafka.admin import NewTopic
    a = admin(bootstrap_servers, client_conf)
    names = list(names)
    futures = a.create_topics([NewTopic(n, num_partitions=partitions,
                                        replication_factor=1,
                                        config=dict(config or {}))
                               for n in names], request_timeout=timeout)
    for name, fut in futures.items():
        try:
            fut.result(timeout)
        except Exception as e:  # noqa: BLE001 - reported with the topic name
            raise ITError(f"creating topic {name} failed: {e}") from e

    def all_led():
        md = a.list_topics(timeout=5)
        for n in names:
            t = md.topics.get(n)
            if t is None or t.error is not None or len(t.partitions) != partitions:
                return False
            if any(p.leader < 0 for p in t.partitions.values()):
                return False
        return True

    wait_for(all_led, timeout, f"topics {names} to exist with leaders")

    # The metadata names a leader before that broker has created the
    # partition's log. An idempotent producer (funneld-gen) writing then
    # was seen to lose its first messages of a partition while reporting
    # them delivered (librdkafka resets a partition's sequence numbers when
    # it briefly looks gone), so wait until every partition answers a
    # ListOffsets: then its log exists.
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap_servers or bootstrap(),
                  "group.id": unique("fdit-ready"), **(client_conf or {})})
    pending = [TopicPartition(n, p) for n in names for p in range(partitions)]

    def all_online():
        while pending:
            try:
                c.get_watermark_offsets(pending[-1], timeout=5)
            except KafkaException:
                return False
            pending.pop()
        return True

    try:
        wait_for(all_online, timeout, f"the partitions of {names} to be "
                 "online on their leader")
    finally:
        c.close()
    return names


def delete_topics(names, timeout=30, bootstrap_servers=None):
    # The client must outlive the futures: destroyed at once (a temporary),
    # it took the requests with it and no topic was deleted.
    a = admin(bootstrap_servers)
    futures = a.delete_topics(list(names), request_timeout=timeout)
    for fut in futures.values():
        try:
            fut.result(timeout)
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


def producer(**conf):
    from confluent_kafka import Producer
    base = {"bootstrap.servers": bootstrap(), "enable.idempotence": True,
            "linger.ms": 5}
    base.update(conf)
    return Producer(base)


def send(p, topic, **kwargs):
    """p.produce(topic, **kwargs), waiting while the producer's local queue
    is full (a broker slow to acknowledge, e.g. while the producer waits
    for its id, must not fail a test that produces 100k messages)."""
    while True:
        try:
            p.produce(topic, **kwargs)
            break
        except BufferError:
            p.poll(0.1)
    p.poll(0)


def produce(topic, records, timeout=30, **conf):
    """Produces records [(key, value) or (key, value, headers)] in order and
    waits until all are acknowledged; raises on any delivery error."""
    p = producer(**conf)
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(f"{msg.topic()}[{msg.partition()}]: {err}")

    for rec in records:
        key, value = rec[0], rec[1]
        headers = rec[2] if len(rec) > 2 else None
        send(p, topic, key=key, value=value, headers=headers,
             on_delivery=on_delivery)
    left = p.flush(timeout)
    if left or errors:
        raise ITError(f"producing to {topic} failed: {left} undelivered, "
                      f"errors: {errors[:5]}")


Record = namedtuple("Record", "key value headers partition offset timestamp")


def consume_all(topic, expected=None, timeout=30, idle=2.0,
                isolation="read_committed", group=None,
                bootstrap_servers=None):
    """Reads topic from the beginning. With expected, returns as soon as that
    many records arrived (ITError if fewer by timeout). Without, returns when
    no record arrived for idle seconds (or at timeout). Records are
    Record(key, value, headers, partition, offset, timestamp), key and value
    as bytes, headers as a list of (name, bytes)."""
    from confluent_kafka import Consumer, KafkaError
    c = Consumer({"bootstrap.servers": bootstrap_servers or bootstrap(),
                  "group.id": group or unique("fdit-reader"),
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False,
                  "isolation.level": isolation,
                  "enable.partition.eof": False})
    out = []
    try:
        c.subscribe([topic])
        end = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < end:
            if expected is not None and len(out) >= expected:
                break
            if expected is None and out and time.monotonic() - last >= idle:
                break
            msg = c.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise ITError(f"consuming {topic}: {msg.error()}")
            last = time.monotonic()
            out.append(Record(msg.key(), msg.value(), msg.headers() or [],
                              msg.partition(), msg.offset(),
                              msg.timestamp()[1]))
    finally:
        c.close()
    if expected is not None and len(out) < expected:
        raise ITError(f"expected {expected} records on {topic} within "
                      f"{timeout:g} s, got {len(out)}")
    return out


# ------------------------------------------------------------ Avro

def _strip_logical(node):
    if isinstance(node, dict):
        return {k: _strip_logical(v) for k, v in node.items()
                if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical(v) for v in node]
    return node


class Avro:
    """The repo's schemas/*.avsc, parsed with fastavro. Schemas are looked
    up by file stem ("lead_event"), record name ("LeadEvent") or full name
    ("io.funneld.LeadEvent"). With raw=True (default) logical types are
    ignored, so timestamps stay integers (milliseconds)."""

    def __init__(self, schema_dir=None, raw=True):
        import fastavro
        self._fastavro = fastavro
        schema_dir = Path(schema_dir or SOURCE_DIR / "schemas")
        files = sorted(schema_dir.glob("*.avsc"))
        if not files:
            raise ITError(f"no *.avsc in {schema_dir}")
        self.schemas = {}
        named = {}
        pending = [(f, json.loads(f.read_text())) for f in files]
        # Files may refer to each other's named types: parse in passes.
        while pending:
            failed = []
            for f, obj in pending:
                obj = _strip_logical(obj) if raw else obj
                try:
                    parsed = fastavro.parse_schema(obj, named_schemas=named)
                except fastavro.schema.UnknownType:
                    failed.append((f, obj))
                    continue
                self._register(f.stem, parsed)
            if len(failed) == len(pending):
                raise ITError("cannot resolve named types in "
                              f"{[str(f) for f, _ in failed]}")
            pending = failed

    def _register(self, stem, parsed):
        self.schemas[stem] = parsed
        if isinstance(parsed, dict) and "name" in parsed:
            full = parsed["name"]
            self.schemas[full] = parsed
            self.schemas[full.rsplit(".", 1)[-1]] = parsed

    def schema(self, name):
        try:
            return self.schemas[name]
        except KeyError:
            raise ITError(f"no Avro schema named {name!r}; known: "
                          f"{sorted(self.schemas)}") from None

    def encode(self, name, record, schema_id=None):
        """Avro binary of record; Confluent framed when schema_id is given."""
        buf = io.BytesIO()
        if schema_id is not None:
            buf.write(b"\0" + int(schema_id).to_bytes(4, "big"))
        self._fastavro.schemaless_writer(buf, self.schema(name), record)
        return buf.getvalue()

    def decode(self, name, data, framed=True):
        """Decodes data with schema name. Framed data must start with magic
        byte 0 and a 4-byte schema id; returns (schema_id, record), with
        schema_id None when framed=False."""
        schema_id = None
        if framed:
            if len(data) < 5 or data[0] != 0:
                raise ITError(f"not Confluent framed (first bytes "
                              f"{data[:5].hex()})")
            schema_id = int.from_bytes(data[1:5], "big")
            data = data[5:]
        rec = self._fastavro.schemaless_reader(io.BytesIO(data),
                                               self.schema(name))
        return schema_id, rec


# ------------------------------------------------------------ Redis

def redis_client(db=0, decode_responses=True, **kw):
    import redis
    return redis.Redis(host=redis_host(), port=redis_port(), db=db,
                       decode_responses=decode_responses,
                       socket_timeout=10, **kw)


# ------------------------------------------------------------ funneld

class Process:
    """A started funneld (or funneld-gen) with its output in a log file."""

    def __init__(self, argv, log_path, env=None, cwd=None):
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         env=env, cwd=cwd or SOURCE_DIR)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_log(self, pattern, timeout=30):
        """Waits until the log matches regex pattern; returns the match."""
        rx = re.compile(pattern)

        def seen():
            if not self.alive() and not rx.search(self.log_text()):
                raise ITError(f"{self.argv[0]} exited with "
                              f"{self.proc.returncode} before logging "
                              f"/{pattern}/:\n{self.log_tail()}")
            return rx.search(self.log_text())

        try:
            return wait_for(seen, timeout, f"/{pattern}/ in {self.log_path}")
        except ITError as e:
            raise ITError(f"{e}\n--- log tail ---\n{self.log_tail()}") from None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig, waits up to timeout s (then SIGKILL); returns the exit
        code (negative signal number when killed by a signal)."""
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise ITError(f"{self.argv[0]} did not exit within "
                              f"{timeout:g} s of signal {sig}; killed.\n"
                              f"{self.log_tail()}") from None
        return self.proc.returncode

    def wait(self, timeout=60):
        """Waits for a process that ends by itself; returns its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ITError(f"{self.argv[0]} still running after {timeout:g} s:"
                          f"\n{self.log_tail()}") from None


def work_dir(name=None):
    """A fresh directory for this test's files (configs, logs)."""
    d = state_dir() / "work" / (name or unique(Path(sys.argv[0]).stem))
    d.mkdir(parents=True, exist_ok=True)
    return d


def start_funneld(config_path, args=(), log_path=None, env=None, binary=None):
    """Starts funneld -c config_path [args]; output goes to log_path (default
    next to the config). Stop it with .stop()."""
    config_path = Path(config_path)
    log_path = log_path or config_path.with_suffix(
        f".{uuid.uuid4().hex[:6]}.log")
    full_env = dict(os.environ)
    full_env.update(env or {})
    # FUNNELD_WRAPPER (e.g. "valgrind --error-exitcode=99 --leak-check=full")
    # runs funneld under a checker; scripts/test.sh uses it for valgrind.
    wrapper = os.environ.get("FUNNELD_WRAPPER", "").split()
    return Process([*wrapper, binary or funneld_bin(), "-c", str(config_path),
                    *map(str, args)], log_path, env=full_env)


def run_gen(args, timeout=120, log_path=None):
    """Runs funneld-gen with args to completion; raises on a non-zero exit."""
    log_path = log_path or work_dir() / f"gen.{uuid.uuid4().hex[:6]}.log"
    p = Process([funneld_gen_bin(), *map(str, args)], log_path)
    rc = p.wait(timeout)
    if rc != 0:
        raise ITError(f"funneld-gen exited with {rc}:\n{p.log_tail()}")
    return p


# ------------------------------------------------------------ runner

def main(namespace):
    """Runs every test_* function of namespace (a module's globals()) in
    definition order; prints PASS/FAIL lines and "N passed, N failed"."""
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)]
    if not tests:
        print("fdit: no test_* functions found", flush=True)
        sys.exit(1)
    passed = failed = 0
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
        except Exception:  # noqa: BLE001 - every failure is reported
            failed += 1
            traceback.print_exc()
            print(f"FAIL {name} ({time.monotonic() - t0:.1f} s)", flush=True)
        else:
            passed += 1
            print(f"PASS {name} ({time.monotonic() - t0:.1f} s)", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)
