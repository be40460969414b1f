"""itlib: shared set-up for funneld's end-to-end integration tests.

A Setup names one test's topics, Redis prefix and consumer group, writes a
funneld config for them, runs funneld until it has consumed every input
message (Redis's P:offsets:G shows the end offsets and the outboxes are
empty) and dumps the Redis keys of a prefix for comparison. Nothing sleeps to
synchronise: every wait polls a condition with a deadline.
"""

import json
import os
import re
import signal
import socket
import threading
import time
import zlib
from pathlib import Path

import fdit

SCHEMAS = (fdit.SOURCE_DIR / "schemas").resolve()

# The scoring model of config/funneld.example.ini (rules, MQL condition,
# hand-raise types), plus a tenant with its own time zone and thresholds.
EXAMPLE_MODEL = """
[attribution]
models = all
lookback_days = 90
half_life_days = 7

[lifecycle]
allow_recycle = true
allow_reopen = false

[mql]
min_fit = 20
min_engagement = 25

[handraise]
types = demo_request,contact_sales

[rule.title_senior]
kind = fit
attribute = job_title
match = regex
value = (^|[^a-z])(vp|vice president|director|head)([^a-z]|$)
points = 15

[rule.title_c_level]
kind = fit
attribute = job_title
match = regex
value = (^|[^a-z])(ceo|cto|cfo|cmo|cro|coo|chief [a-z ]+ officer)([^a-z]|$)
points = 20

[rule.company_size]
kind = fit
attribute = company_size
match = set
values = 51-200,201-500,501-1000,201-1000,1001-5000,1000+,5001+
points = 10

[rule.industry]
kind = fit
attribute = industry
match = set
values = software,saas,fintech,financial_services
points = 10

[rule.country]
kind = fit
attribute = country
match = set
values = US,CA,GB,DE,FR,NL,SE,AU
points = 5

[rule.student]
kind = fit
attribute = job_title
match = contains
value = student
points = -25

[rule.page_view]
kind = engagement
event_type = page_view
points = 1
cap = 20

[rule.pricing_page]
kind = engagement
event_type = pricing_page_view
points = 10
cap = 30

[rule.content_download]
kind = engagement
event_type = content_download
points = 8

[rule.webinar]
kind = engagement
event_type = webinar_attended
points = 12

[rule.email_click]
kind = engagement
event_type = email_click
points = 3
cap = 15

[rule.email_open]
kind = engagement
event_type = email_open
points = 1
cap = 5

[rule.form_submit]
kind = engagement
event_type = form_submit
points = 5

[rule.demo_request]
kind = engagement
event_type = demo_request
points = 30

[rule.unsubscribe]
kind = engagement
event_type = unsubscribe
points = -15

[tenant.t2]
timezone = America/New_York
mql.min_fit = 25
mql.min_engagement = 40
attribution.lookback_days = 30
attribution.half_life_days = 3

[tenant.t3]
timezone = Asia/Kolkata
mql.min_total = 45
"""


# How long the event-time merge waits for an empty, not yet caught-up input
# partition: funneld's default. (Until a partition's first fetch or end
# arrives after assignment the merge always waits for it, so the default is
# enough for the documented event-time order from the very first batch.)
IDLE_MS = int(os.environ.get("FUNNELD_IT_IDLE_MS", "500"))


class Setup:
    """One funneld deployment of a test: input topics (shared between runs
    when given), its own output topics, Redis prefix and consumer group."""

    def __init__(self, name, work, inputs=None, model=EXAMPLE_MODEL,
                 partitions=4, processing="", kafka="", redis_port=None,
                 bootstrap=None):
        self.names = fdit.Names(name)
        n = self.names
        self.work = Path(work)
        self.partitions = partitions
        # inputs: (lead, crm) topics shared between setups, or (lead, crm,
        # spend); without a spend topic funneld runs with topics.spend = off.
        ins = tuple(inputs) if inputs else (n.topic("lead-events"),
                                            n.topic("crm-events"),
                                            n.topic("spend"))
        self.lead_topic, self.crm_topic = ins[:2]
        self.spend_topic = ins[2] if len(ins) > 2 else None
        self.own_inputs = inputs is None
        self.promotions = n.topic("promotions")
        self.attribution = n.topic("attribution")
        self.alerts = n.topic("alerts")
        self.dlq = n.topic("dlq")
        self.prefix = n.redis_prefix
        self.group = n.group()
        self.model = model
        self.processing = processing
        self.kafka = kafka.format(prefix=self.names.prefix)
        self.config = self.work / f"{n.prefix}.ini"
        self.procs = []
        # A private redis-server / broker of the test instead of the shared
        # fixtures (test_outage.py).
        self.redis_port = redis_port
        self.bootstrap = bootstrap
        self.redis = ""  # more [redis] settings, e.g. "socket = PATH\n"

    # -------------------------------------------------------------- set-up

    def create_topics(self):
        fdit.create_topics(self.own_topics(), partitions=self.partitions,
                           bootstrap_servers=self.bootstrap)

    def own_topics(self):
        """The topics create_topics makes: the outputs, and the inputs
        unless they are shared with another setup."""
        outs = [self.promotions, self.attribution, self.alerts, self.dlq]
        return (self.input_topics() if self.own_inputs else []) + outs

    def input_topics(self):
        return [t for t in (self.lead_topic, self.crm_topic, self.spend_topic)
                if t]

    def write_config(self):
        # FUNNELD_IT_IDLE_MS, unless the test sets max_task_idle_ms itself
        idle = "" if "max_task_idle_ms" in self.processing else \
            f"max_task_idle_ms = {IDLE_MS}\n"
        text = f"""timezone = UTC

[funneld]
group.id = {self.group}

[kafka]
bootstrap.servers = {self.bootstrap or fdit.bootstrap()}
client.id = {self.names.prefix}
{self.kafka}
[topics]
lead_events = {self.lead_topic}
crm_events = {self.crm_topic}
spend = {self.spend_topic or 'off'}
promotions = {self.promotions}
attribution = {self.attribution}
alerts = {self.alerts}
dlq = {self.dlq}

[redis]
host = {fdit.redis_host()}
port = {self.redis_port or fdit.redis_port()}
prefix = {self.prefix}
{self.redis}
[schemas]
dir = {SCHEMAS}
id.1 = lead:{SCHEMAS / 'lead_event.avsc'}
id.2 = crm:{SCHEMAS / 'crm_stage_event.avsc'}
id.5 = spend:{SCHEMAS / 'spend_event.avsc'}

[processing]
max_future_days = 3650
{idle}{self.processing}
[log]
level = {os.environ.get('FUNNELD_IT_LOG_LEVEL', 'info')}

[http]
listen = 127.0.0.1:0
{self.model}"""
        self.config.write_text(text)
        return self.config

    # -------------------------------------------------------------- running

    def start(self, config=None, env=None):
        """Starts funneld with the setup's config (or another one, e.g. the
        same deployment through another redis port); env adds environment
        variables (e.g. FUNNELD_FAULT)."""
        p = fdit.start_funneld(config or self.config, env=env,
                               log_path=self.work /
                               f"{self.names.prefix}.{len(self.procs)}.log")
        self.procs.append(p)
        return p

    def client(self, **extra):
        """Configuration of the test's own Kafka clients."""
        return {"bootstrap.servers": self.bootstrap or fdit.bootstrap(),
                **extra}

    def watermark_topics(self):
        """The input topics end_offsets reads."""
        return self.input_topics()

    def end_offsets(self, total=None, timeout=30):
        """{"topic:partition": high watermark} of the input topics. With
        total, reads them again until they sum to total or timeout seconds
        pass (then returns the last read; the caller's assertion reports
        it): a CI run once read two acknowledged messages short."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer(self.client(**{"group.id": fdit.unique("it-watermarks")}))
        deadline = time.monotonic() + timeout
        try:
            while True:
                out = {}
                for t in self.watermark_topics():
                    for p in range(self.partitions):
                        _, hi = c.get_watermark_offsets(
                            TopicPartition(t, p), timeout=10)
                        out[f"{t}:{p}"] = hi
                if total is None or sum(out.values()) == total or \
                        time.monotonic() > deadline:
                    return out
                print(f"itlib: input watermarks sum to "
                      f"{sum(out.values())}, not {total}; reading again",
                      flush=True)
                time.sleep(0.2)
        finally:
            c.close()

    def offsets(self, r):
        return {k: int(v) for k, v in
                r.hgetall(f"{self.prefix}:offsets:{self.group}").items()}

    def outbox_depth(self, r):
        return sum(r.llen(f"{self.prefix}:outbox:{self.group}:{p}")
                   for p in range(self.partitions))

    def caught_up(self, r, ends):
        got = self.offsets(r)
        return all(got.get(k, 0) >= hi for k, hi in ends.items() if hi > 0) \
            and self.outbox_depth(r) == 0

    def wait_caught_up(self, proc, r, ends, timeout=90):
        """Waits until funneld stored the end offset of every input partition
        and drained its outboxes; fails early when funneld died."""
        def done():
            if not proc.alive():
                raise fdit.ITError(f"funneld exited with {proc.proc.returncode}"
                                   f" before catching up:\n{proc.log_tail()}")
            return self.caught_up(r, ends)
        try:
            fdit.wait_for(done, timeout, "funneld to consume every input "
                          f"message ({ends}) and drain its outboxes")
        except fdit.ITError as e:
            raise fdit.ITError(f"{e}\nstored offsets: {self.offsets(r)}\n"
                               f"outbox depth: {self.outbox_depth(r)}\n"
                               f"--- funneld log ---\n{proc.log_tail()}") \
                from None

    def stop(self, proc):
        rc = proc.stop(signal.SIGTERM, timeout=30)
        assert rc == 0, f"funneld exited with {rc} on SIGTERM:\n" \
                        f"{proc.log_tail()}"

    def kill_all(self):
        """SIGKILLs every funneld of this setup still running (clean-up
        after a failed test)."""
        for p in self.procs:
            if p.alive():
                p.stop(signal.SIGKILL, timeout=10)

    def run_to_end(self, r, timeout=90):
        """Starts funneld, waits until it caught up, stops it (exit 0)."""
        ends = self.end_offsets()
        p = self.start()
        self.wait_caught_up(p, r, ends, timeout)
        self.stop(p)
        return p


# ------------------------------------------------------------------- HTTP

HTTP_LINE = re.compile(r"serving /metrics.* on http://([^/]+)/")


def http_base(proc, timeout=30):
    """The base URL of a funneld's HTTP endpoint (it logs the bound port)."""
    found = {}

    def logged():
        if not proc.alive():
            raise fdit.ITError(f"funneld exited before serving HTTP:\n"
                               f"{proc.log_tail()}")
        m = HTTP_LINE.search(proc.log_text())
        if m:
            found["base"] = f"http://{m.group(1)}"
        return bool(m)
    fdit.wait_for(logged, timeout, "funneld to log its HTTP address")
    return found["base"]


def http_get(url, timeout=10):
    """(status, content type, body text) of a GET; HTTP errors included."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return (resp.status, resp.headers.get("Content-Type"),
                    resp.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def scrape(base):
    """/metrics parsed: {(name, frozenset(labels.items())): value}."""
    status, ctype, text = http_get(base + "/metrics")
    assert status == 200, f"/metrics answered {status}: {text[:300]}"
    assert ctype.startswith("text/plain"), ctype
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                                 m.group(3) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


def metric(samples, name, **labels):
    """The value of one sample (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


# ------------------------------------------------------------------ Redis

def dump(r, prefix):
    """Every key under prefix as {key without the prefix: value}: strings as
    str, hashes as dict, sets as set, sorted sets as list of (member, score),
    lists as list, HyperLogLogs (P:{T}:visitors:D) as ("hll", PFCOUNT).
    The event-id dedupe sets of a tenant (P:{T}:dedupe:<first day>, one per
    generation of processing days) come as one set P:{T}:dedupe: which
    generation an id went to depends on the wall clock. Pipelined: tens of thousands of keys take a second. P:watermarks:G is
    left out: a status report (high watermarks as last seen, refreshed every
    second), not state."""
    status = f"{prefix}:watermarks:"
    keys = [k for k in r.scan_iter(match=f"{prefix}:*", count=5000)
            if not (k if isinstance(k, str) else k.decode(errors="replace"))
            .startswith(status)]
    out = {}
    for i in range(0, len(keys), 2000):
        chunk = keys[i:i + 2000]
        pipe = r.pipeline(transaction=False)
        for k in chunk:
            pipe.type(k)
        types = pipe.execute()
        pipe = r.pipeline(transaction=False)
        kept = []
        for k, t in zip(chunk, types):
            if t == "string" and ":visitors:" in str(k):
                pipe.pfcount(k)
                kept.append((k, "hll"))
                continue
            read = {"string": lambda k: pipe.get(k),
                    "hash": lambda k: pipe.hgetall(k),
                    "set": lambda k: pipe.smembers(k),
                    "zset": lambda k: pipe.zrange(k, 0, -1, withscores=True),
                    "list": lambda k: pipe.lrange(k, 0, -1)}.get(t)
            if read:  # "none": expired between SCAN and TYPE
                read(k)
                kept.append((k, t))
        for (k, t), v in zip(kept, pipe.execute()):
            if t == "hll":
                v = ("hll", v)
            if v is not None and v != {} and v != [] and v != set():
                name = k[len(prefix):]
                gen = DEDUPE_KEY.fullmatch(name)
                if gen and t == "set":
                    out.setdefault(gen.group(1), set()).update(v)
                else:
                    out[name] = v
    return out


DEDUPE_KEY = re.compile(r"(:\{[^}]*\}:dedupe):\d{4}-\d{2}-\d{2}")


def diff(expected, actual, limit=25):
    """Readable lines for the first differences between two key dumps."""
    lines = []
    for k in sorted(set(expected) | set(actual)):
        e, a = expected.get(k), actual.get(k)
        if e == a or hll_close(e, a):
            continue
        if isinstance(e, dict) and isinstance(a, dict):
            for f in sorted(set(e) | set(a)):
                if e.get(f) != a.get(f):
                    lines.append(f"{k} [{f}]: expected {e.get(f)!r}, "
                                 f"got {a.get(f)!r}")
        elif e is None:
            lines.append(f"{k}: unexpected key = {_short(a)}")
        elif a is None:
            lines.append(f"{k}: missing, expected {_short(e)}")
        else:
            lines.append(f"{k}: expected {_short(e)}, got {_short(a)}")
        if len(lines) >= limit:
            lines.append("...")
            break
    return lines


def hll_close(e, a):
    """Two ("hll", count) values within a HyperLogLog's error: Redis's
    standard error is 0.81 % for large sets, but its estimate of a few dozen
    ids can be several percent off (108 ids read as 105): 5 %, at least 3.
    Where the exact set is known, compare with Redis's own estimate of it
    instead (test_e2e_generated.redis_hll_counts)."""
    if not (isinstance(e, tuple) and isinstance(a, tuple) and
            e[:1] == a[:1] == ("hll",)):
        return False
    return abs(e[1] - a[1]) <= max(3, 0.05 * max(e[1], a[1]))


def _short(v, n=300):
    s = repr(sorted(v) if isinstance(v, set) else v)
    return s if len(s) <= n else s[:n] + "..."


def normalise(dump, group):
    """A dump with the group name replaced by "G", the owner epochs (which
    differ between runs by design) and the P:meta writer left out: what
    two runs over the same stream must have equal."""
    out = {}
    for k, v in dump.items():
        k = k.replace(group, "G")
        if k.startswith(":epoch:"):
            v = "(epoch)"
        elif k == ":meta":
            v = {f: x for f, x in v.items() if f != "writer"}
        out[k] = v
    return out


# ------------------------------------------------------------------ flow

def lead_record(avro, tenant, lead, event_id, at, type="page_view",
                channel="email"):
    """(key, value) of a LeadEvent of a known lead with no anonymous id,
    campaign, UTM fields or attributes, encoded with schema id 1."""
    return (lead.encode(), avro.encode("lead_event", {
        "event_id": event_id, "tenant_id": tenant, "occurred_at": at,
        "lead_id": lead, "anonymous_id": None, "type": type,
        "channel": channel, "campaign": None, "utm_source": None,
        "utm_medium": None, "utm_campaign": None, "utm_term": None,
        "utm_content": None, "attributes": {}}, schema_id=1))


def generated_events(jsonl, events, seed, spend=False):
    """The events funneld-gen generates for events/seed (--dry-run, as dicts
    in the order it would produce them: nondecreasing event time). With
    spend, SpendEvents too (dicts with a "day" key)."""
    fdit.run_gen(["--dry-run", "--jsonl", jsonl, "--events", events,
                  "--seed", seed, "--schema-dir", SCHEMAS,
                  *(["--spend"] if spend else [])],
                 log_path=Path(jsonl).with_suffix(".gen.log"))
    return [json.loads(line) for line in Path(jsonl).read_text().splitlines()]


def journey_partitions(events, partitions):
    """The input partition of each event such that a whole journey (a lead,
    its CRM events and every anonymous id it identified from) lives in one
    partition pair. funneld's results then do not depend on how fast
    instances progress relative to each other: across partition pairs only
    a close reads other partitions (the anonymous touches), which README's
    "Known limits" leaves to timing when several instances share a group.
    Keys stay as funneld-gen writes them (lead id, else anonymous id).
    SpendEvents (a "day" key) belong to no journey: each tenant's channel
    gets a partition of its own (its key is the channel)."""
    alias = {}
    for e in events:
        if "day" in e:
            continue
        if "stage" not in e and e.get("lead_id") and e.get("anonymous_id"):
            lead = alias.setdefault((e["tenant_id"], e["anonymous_id"]),
                                    e["lead_id"])
            if lead != e["lead_id"]:
                raise fdit.ITError(f"anonymous id {e['anonymous_id']} "
                                   f"identified as {lead} and {e['lead_id']}")
    out = []
    for e in events:
        if "day" in e:
            out.append(zlib.crc32(f"{e['tenant_id']}:{e['channel']}".encode())
                       % partitions)
            continue
        owner = e.get("lead_id") or alias.get(
            (e["tenant_id"], e.get("anonymous_id")), e.get("anonymous_id"))
        out.append(zlib.crc32(f"{e['tenant_id']}:{owner}".encode())
                   % partitions)
    return out


def murmur2(data):
    """Kafka's murmur2 hash (the Java client's Utils.murmur2, which
    librdkafka's murmur2 partitioners follow) of bytes, as an unsigned
    32-bit int."""
    m, mask = 0x5bd1e995, 0xffffffff
    n = len(data)
    h = (0x9747b28c ^ n) & mask
    whole = n - n % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    rest = n % 4
    if rest:
        tail = int.from_bytes(data[whole:], "little")
        h = ((h ^ tail) * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def murmur2_partition(key, partitions):
    """The partition librdkafka's murmur2 / murmur2_random partitioner (the
    Java client's default) picks for a key (str or bytes)."""
    if isinstance(key, str):
        key = key.encode()
    return (murmur2(key) & 0x7fffffff) % partitions


def gen_key(e):
    """The message key funneld-gen gives an event: lead id, else anonymous
    id (lead events); lead id (CRM events); channel (SpendEvents)."""
    if "day" in e:
        return e["channel"]
    if "stage" in e:
        return e["lead_id"]
    return e.get("lead_id") or e.get("anonymous_id")


def gen_partitions(events, partitions):
    """The input partition of each event funneld-gen produced to its topics
    (partitioner murmur2_random of gen_key)."""
    return [murmur2_partition(gen_key(e), partitions) for e in events]


class Flow(threading.Thread):
    """Produces events (dicts from generated_events) to the input topics in
    a background thread at about rate events/s, each to the partition of
    journey_partitions, Confluent framed with schema ids 1 and 2, and 5 for
    SpendEvents (dicts with a "day" key; to setup.spend_topic, key channel).

    Live flow and the event-time merge: funneld's merge does not wait for
    a partition that is at its end, so a CRM event could overtake the
    earlier LeadEvent of the same partition pair still in flight to the
    broker. To keep Kafka's append order per partition pair equal to event
    time (what a real source of one journey gives), the flow waits for the
    broker's acknowledgement of everything sent before it switches topic
    within a partition pair."""

    def __init__(self, setup, events, rate, bootstrap=None):
        super().__init__(daemon=True)
        self.setup = setup
        self.events = events
        self.parts = journey_partitions(events, setup.partitions)
        self.rate = rate
        self.bootstrap = bootstrap or setup.bootstrap or fdit.bootstrap()
        self.sent = 0           # handed to the producer
        self.delivered = 0      # acknowledged by the broker
        self.errors = []
        self.gate = threading.Event()   # cleared: production pauses
        self.gate.set()
        self.finished = threading.Event()
        self.cancelled = False
        self._avro = fdit.Avro()

    def _on_delivery(self, err, msg):
        if err is not None:
            self.errors.append(f"{msg.topic()}[{msg.partition()}]: {err}")
        else:
            self.delivered += 1

    def run(self):
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.bootstrap,
                      "enable.idempotence": True, "linger.ms": 1,
                      "log_level": 0})
        last_topic = {}
        t0 = time.monotonic()
        try:
            for i, (e, part) in enumerate(zip(self.events, self.parts)):
                self.gate.wait()
                if self.cancelled:
                    raise fdit.ITError("flow cancelled")
                # pacing, not synchronisation: the flow's rate
                ahead = t0 + i / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                if "day" in e:
                    if not self.setup.spend_topic:
                        raise fdit.ITError("a SpendEvent to produce but the "
                                           "setup has no spend topic; pass "
                                           "inputs with one or generate "
                                           "without spend")
                    topic, schema, sid = (self.setup.spend_topic,
                                          "spend_event", 5)
                    key = e["channel"]
                elif "stage" in e:
                    topic, schema, sid = (self.setup.crm_topic,
                                          "crm_stage_event", 2)
                    key = e.get("lead_id")
                else:
                    topic, schema, sid = (self.setup.lead_topic,
                                          "lead_event", 1)
                    key = e.get("lead_id") or e.get("anonymous_id")
                # the last topic per partition, whichever of the three
                if last_topic.get(part, topic) != topic:
                    self._flush(p)
                last_topic[part] = topic
                value = self._avro.encode(schema, e, sid)
                fdit.send(p, topic, key=key, value=value, partition=part,
                          on_delivery=self._on_delivery)
                self.sent += 1
            self._flush(p)
        except Exception as e:  # noqa: BLE001 - reported by wait()
            self.errors.append(repr(e))
        finally:
            self.finished.set()

    def _flush(self, p):
        while p.flush(1.0):
            if self.errors:
                raise fdit.ITError(f"producing failed: {self.errors[:3]}")
        if self.errors:
            raise fdit.ITError(f"producing failed: {self.errors[:3]}")

    def cancel(self):
        """Stops producing (clean-up after a failed test)."""
        self.cancelled = True
        self.gate.set()

    def wait(self, timeout):
        """Waits until every event is acknowledged; raises on errors."""
        fdit.wait_for(self.finished.is_set, timeout,
                      f"the flow to produce {len(self.events)} events "
                      f"(sent {self.sent})")
        if self.errors or self.delivered != len(self.events):
            raise fdit.ITError(f"the flow delivered {self.delivered} of "
                               f"{len(self.events)}: {self.errors[:5]}")


# ------------------------------------------------------------------ checks

def assigned_pairs(proc):
    """How many partition pairs funneld proc owns according to its log (the
    last "assigned N partition pair(s)" unless revoked or fenced since)."""
    n = 0
    for line in proc.log_text().splitlines():
        m = re.search(r"assigned (\d+) partition pair", line)
        if m:
            n = int(m.group(1))
        elif "partitions revoked" in line or "owner epoch moved" in line:
            n = 0
    return n


def assert_same_state(r_a, a, r_b, b):
    """Every key of run b's prefix equals run a's (normalised)."""
    da = normalise(dump(r_a, a.prefix), a.group)
    db = normalise(dump(r_b, b.prefix), b.group)
    lines = diff(da, db)
    assert not lines, f"run {b.prefix} differs from the uninterrupted run " \
        f"{a.prefix}:\n  " + "\n  ".join(lines)
    assert any(k.startswith(":{t1}:revenue:") for k in da), sorted(da)[:20]
    return len(da)


def assert_same_outputs(a, b):
    """b's PromotionEvent, AttributionEvent and AlertEvent topics hold
    exactly a's event ids; a published each once; b's re-published copies
    are byte-identical. Returns {topic: (ids, copies b re-published)}."""
    from collections import defaultdict
    avro = fdit.Avro()
    out = {}
    for topic, schema in (("promotions", "promotion_event"),
                          ("attribution", "attribution_event"),
                          ("alerts", "alert_event")):
        got = []
        for s in (a, b):
            ids = defaultdict(list)
            for rec in fdit.consume_all(getattr(s, topic), timeout=60,
                                        idle=2.0,
                                        bootstrap_servers=s.bootstrap):
                ids[avro.decode(schema, rec.value)[1]["event_id"]].append(
                    rec.value)
            got.append(ids)
        ra, rb = got
        assert ra, f"run {a.prefix} published no {topic}"
        dup_a = [i for i, v in ra.items() if len(v) > 1]
        assert not dup_a, f"run {a.prefix} published {topic} twice: " \
            f"{dup_a[:5]}"
        assert set(ra) == set(rb), (
            f"{topic}: only in {a.prefix} {sorted(set(ra) - set(rb))[:5]}, "
            f"only in {b.prefix} {sorted(set(rb) - set(ra))[:5]}")
        differ = [i for i, v in rb.items() if any(x != ra[i][0] for x in v)]
        assert not differ, f"{topic} with other bytes in {b.prefix}: " \
            f"{differ[:5]}"
        out[topic] = (len(ra), sum(len(v) - 1 for v in rb.values()))
    return out


class Proxy(threading.Thread):
    """A TCP proxy to a redis-server (the fixture's by default) for faults
    between funneld and Redis. While gate is cleared nothing is forwarded in
    either direction (the bytes wait in the proxy; held counts client
    chunks waiting); last_traffic tells when anything last went through.
    With cut_on set to bytes, the first client chunk containing them is not
    forwarded: both sides of that connection are closed instead (one-shot;
    cuts counts them). With hold_on set to a predicate of a client chunk,
    the first chunk it accepts clears the gate (one-shot): it and everything
    after it wait until gate.set(). With record set to a directory, what
    each client sends goes to record/connNNN.bin too (in connection
    order; complete once close() returned, after the clients left)."""

    def __init__(self, port=None, record=None):
        super().__init__(daemon=True)
        self.record = Path(record) if record else None
        self.conns = 0
        self.pumps = []
        self.gate = threading.Event()
        self.gate.set()
        self.held = 0
        self.cut_on = None
        self.hold_on = None
        self.cuts = 0
        self.last_traffic = time.monotonic()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.target = (fdit.redis_host(), port or fdit.redis_port())

    def run(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.conns += 1
            rec = open(self.record / f"conn{self.conns:03d}.bin", "wb") \
                if self.record else None
            for src, dst, up in ((client, upstream, True),
                                 (upstream, client, False)):
                t = threading.Thread(target=self._pump,
                                     args=(src, dst, up, rec if up else None),
                                     daemon=True)
                t.start()
                self.pumps.append(t)

    def _pump(self, src, dst, up, rec=None):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if up and self.hold_on and self.hold_on(data):
                    self.hold_on = None
                    self.gate.clear()
                if up and not self.gate.is_set():
                    self.held += 1
                self.gate.wait()
                if up and self.cut_on and self.cut_on in data:
                    self.cut_on = None
                    self.cuts += 1
                    break
                self.last_traffic = time.monotonic()
                if rec:
                    rec.write(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            if rec:
                rec.close()
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.gate.set()
        self.sock.close()
        if self.record:
            for t in self.pumps:
                t.join(30)


def config_via(setup, port, suffix):
    """A copy of setup's config whose redis.port is port (e.g. a Proxy)."""
    text = setup.config.read_text()
    old = f"\nport = {setup.redis_port or fdit.redis_port()}\n"
    if old not in text:
        raise fdit.ITError(f"no '{old.strip()}' in {setup.config}")
    path = setup.config.with_suffix(f".{suffix}.ini")
    path.write_text(text.replace(old, f"\nport = {port}\n"))
    return path


class Cleanup:
    """with Cleanup() as c: ... c.add(setup or flow): on leaving, flows are
    cancelled and every funneld of the setups still running is killed
    (a failed test leaves nothing behind)."""

    def __init__(self):
        self.items = []

    def add(self, *items):
        self.items.extend(items)
        return items[0] if len(items) == 1 else items

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for it in reversed(self.items):
            try:
                if isinstance(it, Flow):
                    it.cancel()
                else:
                    it.kill_all()
            except Exception:  # noqa: BLE001 - best-effort clean-up
                pass
        return False
