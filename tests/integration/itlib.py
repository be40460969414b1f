"""itlib: shared set-up for funneld's end-to-end integration tests.

A Setup names one test's topics, Redis prefix and consumer group, writes a
funneld config for them, runs funneld until it has consumed every input
message (Redis's P:offsets:G shows the end offsets and the outboxes are
empty) and dumps the Redis keys of a prefix for comparison. Nothing sleeps to
synchronise: every wait polls a condition with a deadline.
"""

import os
import signal
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
                 partitions=4, processing="", kafka=""):
        self.names = fdit.Names(name)
        n = self.names
        self.work = Path(work)
        self.partitions = partitions
        self.lead_topic, self.crm_topic = inputs or (n.topic("lead-events"),
                                                     n.topic("crm-events"))
        self.own_inputs = inputs is None
        self.promotions = n.topic("promotions")
        self.attribution = n.topic("attribution")
        self.dlq = n.topic("dlq")
        self.prefix = n.redis_prefix
        self.group = n.group()
        self.model = model
        self.processing = processing
        self.kafka = kafka.format(prefix=self.names.prefix)
        self.config = self.work / f"{n.prefix}.ini"
        self.procs = []

    # -------------------------------------------------------------- set-up

    def create_topics(self):
        outs = [self.promotions, self.attribution, self.dlq]
        ins = [self.lead_topic, self.crm_topic] if self.own_inputs else []
        fdit.create_topics(ins + outs, partitions=self.partitions)

    def write_config(self):
        text = f"""timezone = UTC

[funneld]
group.id = {self.group}

[kafka]
bootstrap.servers = {fdit.bootstrap()}
client.id = {self.names.prefix}
{self.kafka}
[topics]
lead_events = {self.lead_topic}
crm_events = {self.crm_topic}
promotions = {self.promotions}
attribution = {self.attribution}
dlq = {self.dlq}

[redis]
host = {fdit.redis_host()}
port = {fdit.redis_port()}
prefix = {self.prefix}

[schemas]
dir = {SCHEMAS}
id.1 = lead:{SCHEMAS / 'lead_event.avsc'}
id.2 = crm:{SCHEMAS / 'crm_stage_event.avsc'}

[processing]
max_future_days = 3650
max_task_idle_ms = {IDLE_MS}
{self.processing}
[log]
level = {os.environ.get('FUNNELD_IT_LOG_LEVEL', 'info')}
{self.model}"""
        self.config.write_text(text)
        return self.config

    # -------------------------------------------------------------- running

    def start(self):
        p = fdit.start_funneld(self.config,
                               log_path=self.work /
                               f"{self.names.prefix}.{len(self.procs)}.log")
        self.procs.append(p)
        return p

    def end_offsets(self):
        """{"topic:partition": high watermark} of both input topics."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": fdit.bootstrap(),
                      "group.id": fdit.unique("it-watermarks")})
        try:
            out = {}
            for t in (self.lead_topic, self.crm_topic):
                for p in range(self.partitions):
                    _, hi = c.get_watermark_offsets(TopicPartition(t, p),
                                                    timeout=10)
                    out[f"{t}:{p}"] = hi
            return out
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

    def run_to_end(self, r, timeout=90):
        """Starts funneld, waits until it caught up, stops it (exit 0)."""
        ends = self.end_offsets()
        p = self.start()
        self.wait_caught_up(p, r, ends, timeout)
        self.stop(p)
        return p


# ------------------------------------------------------------------ Redis

def dump(r, prefix):
    """Every key under prefix as {key without the prefix: value}: strings as
    str, hashes as dict, sets as set, sorted sets as list of (member, score),
    lists as list. Pipelined: tens of thousands of keys take a second."""
    keys = list(r.scan_iter(match=f"{prefix}:*", count=5000))
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
            read = {"string": lambda k: pipe.get(k),
                    "hash": lambda k: pipe.hgetall(k),
                    "set": lambda k: pipe.smembers(k),
                    "zset": lambda k: pipe.zrange(k, 0, -1, withscores=True),
                    "list": lambda k: pipe.lrange(k, 0, -1)}.get(t)
            if read:  # "none": expired between SCAN and TYPE
                read(k)
                kept.append(k)
        for k, v in zip(kept, pipe.execute()):
            if v is not None and v != {} and v != [] and v != set():
                out[k[len(prefix):]] = v
    return out


def diff(expected, actual, limit=25):
    """Readable lines for the first differences between two key dumps."""
    lines = []
    for k in sorted(set(expected) | set(actual)):
        e, a = expected.get(k), actual.get(k)
        if e == a:
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


def _short(v, n=300):
    s = repr(sorted(v) if isinstance(v, set) else v)
    return s if len(s) <= n else s[:n] + "..."
