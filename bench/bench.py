#!/usr/bin/env python3
"""funneld's benchmark: throughput, CPU, Redis commands and memory per event
against a naive baseline consumer, end-to-end latency at a fixed offered rate,
scaling curves and callgrind instructions per event. bench/run.sh builds and
runs it; docs/PERFORMANCE.md explains the method.

Phases (each on its own topics, Redis prefix and consumer group):
  throughput   funneld-gen pre-produces --events events (seed 1); funneld
               consumes them from the earliest offset until P:offsets:G
               covers every partition's end and the outboxes are empty,
               --runs times (a new group and prefix each; the report's
               funneld column is the run of median rate); then
               funneld-naive (bench/naive.c) consumes the same topics, and
               funneld again with processing.lead_cache = 0 (every lead
               read back from Redis each batch: what the cache saves) and
               with processing.overlap = false (each batch written before
               the next is read: what overlapping saves) and with
               processing.batch.catchup_events = 2000 (batches of
               batch.max_events under a backlog too: what the larger
               catch-up transactions save, and what they cost other Redis
               clients).
  latency      funneld runs; funneld-gen produces at --rate events/s; a
               thread polls P:offsets:G every ~1 ms; latency = first time the
               hash covered a message - its CreateTime, and promotion
               CreateTime - CreateTime of the input event it names as cause.
               The first fixed rate runs again on leads stored in Redis
               (a prefix filled first from a stream of the same lead ids).
  ceiling      funneld over --events events through a proxy that
               records its Redis traffic; redis-cli --pipe replays it into
               a fresh redis-server with nothing else running: Redis's CPU
               per event for funneld's commands alone, against
               redis-benchmark's pipelined SET/ZADD/HSET on that server.
  scaling      funneld over --scale-events events with --leads 10k/100k/1M,
               then with 1 and 2 instances in one group.
  callgrind    funneld under callgrind on 20k and 40k events; Ir per event =
               difference / 20k (start-up cancels out), for the whole
               process and for its main loop alone (steadier).

Nothing here asserts a time: the numbers are reported, not judged.
"""

import argparse
import bisect
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IT_DIR = REPO / "tests" / "integration"
sys.path.insert(0, str(IT_DIR))

CLK_TCK = os.sysconf("SC_CLK_TCK")
PARTITIONS = 4


def log(msg):
    print(f"bench: {msg}", flush=True)


# funneld again on the throughput phase's topics with one setting changed:
# (results key, label, config section, setting). {socket}: redis-server's
# Unix socket (the variant is skipped without one). Section "env": the
# setting is a variable of funneld's environment (glibc's malloc marking its
# heaps for transparent huge pages: packaging/ sets it). Section
# "redis-config": "name value" pairs, comma-separated, set on redis-server
# (CONFIG SET) for the variant's run and restored after it: lead hashes and
# histories as hash tables and skiplists instead of listpacks (run Y: that
# costs Redis more CPU and 2.9x the memory). Section "stored": the leads are
# in Redis already, as after a restart: the variant and its default run
# read a second stream (seed 2, the same lead ids), the variant on a prefix
# that a run over the first stream filled (session 21, before the lead hash
# kept its histories' bounds: 3.85 commands per event instead of 2.98, the
# trims of histories whose size funneld did not know).
VARIANTS = [("nocache", "lead_cache = 0", "processing", "lead_cache = 0"),
            ("nooverlap", "overlap = false", "processing", "overlap = false"),
            ("nocatchup", "batch.catchup_events = 2000", "processing",
             "batch.catchup_events = 2000"),
            ("socket", "redis.socket", "redis", "socket = {socket}"),
            ("hugetlb", "glibc.malloc.hugetlb=1", "env",
             "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"),
            ("nolistpack", "Redis without listpacks", "redis-config",
             "hash-max-listpack-entries 0,zset-max-listpack-entries 0"),
            ("stored", "leads stored in Redis", "stored", "")]


def variant_list(args):
    """VARIANTS, and with --pgo-build the profile-guided build's funneld
    (section "binary": setting is the executable)."""
    if not getattr(args, "pgo_build", None):
        return VARIANTS
    return VARIANTS + [("pgo", "profile-guided build", "binary",
                        str(Path(args.pgo_build).resolve() / "funneld"))]


class BenchError(Exception):
    pass


def names(env, line):
    """Whether env file env exists and has line."""
    return env.exists() and line in env.read_text().splitlines()


# ------------------------------------------------------------ services

class Services:
    """Kafka and Redis: the ones given, else private ones started with the
    integration fixtures (tests/integration/fixture.py) in state."""

    def __init__(self, state, bootstrap=None, redis=None, reuse=False,
                 redis_socket=None):
        self.reuse = reuse
        self.state = Path(state)
        self.state.mkdir(parents=True, exist_ok=True)
        os.environ["FUNNELD_IT_STATE"] = str(self.state)
        self.started = []
        self.bootstrap_arg, self.redis_arg = bootstrap, redis
        self.socket_arg = redis_socket

    def __enter__(self):
        import fixture
        env_k, env_r = self.state / "kafka.env", self.state / "redis.env"
        # Services given: their env files, unless the state's (the
        # integration fixtures') already name them, which keeps the
        # fixtures' PIDs (for fixture.py stop) and redis-server's socket.
        if self.bootstrap_arg:
            if not names(env_k, f"KAFKA_BOOTSTRAP={self.bootstrap_arg}"):
                env_k.write_text(f"KAFKA_BOOTSTRAP={self.bootstrap_arg}\n")
        elif not (self.reuse and env_k.exists()):
            fixture.start_kafka(self.state)
            self.started.append("kafka")
        if self.redis_arg:
            host, _, port = self.redis_arg.rpartition(":")
            if not names(env_r, f"REDIS_PORT={port}") or self.socket_arg:
                env_r.write_text(f"REDIS_HOST={host or '127.0.0.1'}\n"
                                 f"REDIS_PORT={port}\n" +
                                 (f"REDIS_SOCKET={self.socket_arg}\n"
                                  if self.socket_arg else ""))
        elif not (self.reuse and env_r.exists()):
            fixture.start_redis(self.state)
            self.started.append("redis")
        import fdit
        self.bootstrap = fdit.bootstrap()
        self.redis_host, self.redis_port = fdit.redis_host(), fdit.redis_port()
        try:
            self.redis_socket = fdit.redis_socket()
        except KeyError:
            self.redis_socket = None
        self.private_redis = "redis" in self.started
        return self

    def __exit__(self, *exc):
        import fixture
        for svc in reversed(self.started):
            try:
                {"kafka": fixture.stop_kafka,
                 "redis": fixture.stop_redis}[svc](self.state)
            except Exception as e:  # noqa: BLE001 - report, keep stopping
                log(f"warning: stopping {svc}: {e}")


def redis_client():
    import fdit
    return fdit.redis_client()


def commands_processed(r):
    return int(r.info("stats")["total_commands_processed"])


def command_stats(r):
    """{command: (calls, usec)} of INFO commandstats."""
    return {k[len("cmdstat_"):]: (int(v["calls"]), int(v["usec"]))
            for k, v in r.info("commandstats").items()}


def command_deltas(before, after, messages):
    """Per command of a run: calls per event, µs per call and µs per event
    (EXEC's µs are its commands' again, so EXEC shows its calls only)."""
    out = {}
    for cmd, (calls, usec) in after.items():
        c0, u0 = before.get(cmd, (0, 0))
        if calls - c0 > 0:
            out[cmd] = {"calls_per_event": (calls - c0) / messages,
                        "usec_per_call": (usec - u0) / (calls - c0),
                        "usec_per_event": (usec - u0) / messages}
    return out


def redis_used_b(r):
    """Bytes redis-server holds for data (INFO memory used_memory)."""
    return int(r.info("memory")["used_memory"])


def redis_cpu_s(r):
    """CPU seconds redis-server has used (user + sys, all its threads)."""
    c = r.info("cpu")
    return float(c["used_cpu_user"]) + float(c["used_cpu_sys"])


def clear_redis(svc, r, prefix):
    """Frees the memory of a finished phase: FLUSHALL on a private server,
    else only the keys of prefix."""
    if svc.private_redis:
        r.flushall()
        return
    batch = []
    for k in r.scan_iter(match=f"{prefix}:*", count=5000):
        batch.append(k)
        if len(batch) >= 2000:
            r.unlink(*batch)
            batch = []
    if batch:
        r.unlink(*batch)


# ------------------------------------------------------------ processes

def proc_cpu_s(pid):
    """utime + stime of pid in seconds (all its threads)."""
    return sum(proc_cpu_split(pid))


def proc_cpu_split(pid):
    """(utime, stime) of pid in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    f = stat.rsplit(")", 1)[1].split()
    return int(f[11]) / CLK_TCK, int(f[12]) / CLK_TCK


def proc_hwm_kb(pid):
    m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) if m else 0


class Bench:
    def __init__(self, args, svc):
        self.a = args
        self.svc = svc
        self.build = Path(args.build).resolve()
        self.funneld = Path(args.funneld).resolve() if args.funneld \
            else self.build / "funneld"
        self.gen = self.build / "funneld-gen"
        self.naive = self.build / "bench" / "funneld-naive"
        pgo = [Path(v[3]) for v in variant_list(args) if v[2] == "binary"]
        for b in (self.funneld, self.gen, self.naive, *pgo):
            if not b.exists():
                raise BenchError(f"{b} does not exist: build it first "
                                 f"(cmake --build {self.build}) or run "
                                 "bench/run.sh, which builds")
        os.environ["FUNNELD_BIN"] = str(self.funneld)
        os.environ["FUNNELD_GEN_BIN"] = str(self.gen)
        self.work = svc.state / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.r = redis_client()
        self.results = {}
        self.topics = []  # created by this run: drop_topics deletes them

    # -------------------------------------------------------- helpers

    def setup(self, name, partitions=PARTITIONS, processing="", kafka=""):
        import itlib
        s = itlib.Setup(name, self.work, partitions=partitions,
                        bootstrap=self.svc.bootstrap,
                        redis_port=self.svc.redis_port,
                        processing=processing, kafka=kafka)
        self.create_topics(s)
        s.write_config()
        return s

    def create_topics(self, s):
        self.topics += s.own_topics()
        s.create_topics()

    def drop_topics(self):
        """Deletes the topics this run created (after each phase): a broker
        given with --bootstrap keeps none of them, and the fixture broker
        does not pile up hundreds of partitions over repeated runs."""
        import fdit
        if self.topics:
            fdit.delete_topics(self.topics, timeout=60,
                               bootstrap_servers=self.svc.bootstrap)
            self.topics = []

    def produce(self, s, events, seed=1, rate=0, leads=0, timeout=1800):
        import fdit
        args = ["--brokers", self.svc.bootstrap, "--events", events,
                "--seed", seed + self.a.seed_offset, "--rate", rate,
                "--lead-topic", s.lead_topic,
                "--crm-topic", s.crm_topic, "--schema-dir", REPO / "schemas"]
        if leads:
            args += ["--leads", leads]
        t0 = time.monotonic()
        fdit.run_gen(args, timeout=timeout,
                     log_path=self.work / f"{s.names.prefix}.gen.log")
        return time.monotonic() - t0

    def run_funneld(self, s, instances=1, timeout=1800, wrapper=(),
                    poll_s=0.02, on_start=None, on_done=None, stall_s=120,
                    env=None):
        """Runs funneld (instances processes, one group) over everything in
        s's input topics, with env's variables added to its environment;
        returns the measurements."""
        import fdit
        ends = s.end_offsets()
        messages = sum(ends.values())
        r = self.r
        cmds0 = commands_processed(r)
        rcpu0 = redis_cpu_s(r)
        cstats0 = command_stats(r)
        mem0 = redis_used_b(r)
        procs = []
        t_start = time.time()
        for i in range(instances):
            procs.append(fdit.Process(
                [*wrapper, str(self.funneld), "-c", str(s.config)],
                self.work / f"{s.names.prefix}.{i}.log",
                env={**os.environ, **env} if env else None))
        if on_start:
            on_start(procs)
        key = f"{s.prefix}:offsets:{s.group}"
        deadline = time.monotonic() + timeout
        try:
            self._wait_done(s, procs, ends, key, deadline, stall_s, poll_s)
        except BaseException:
            for p in procs:
                if p.alive():
                    p.stop(signal.SIGKILL, timeout=30)
            raise
        # own: commands the benchmark sent between the two INFOs
        t_first, cpu_first, own = self._first
        t_done = time.time()
        split = [proc_cpu_split(p.pid) for p in procs]
        cpu = [u + k for u, k in split]
        hwm = [proc_hwm_kb(p.pid) for p in procs]
        cmds = commands_processed(r) - cmds0 - own - 1
        rcpu = redis_cpu_s(r) - rcpu0
        cstats = command_deltas(cstats0, command_stats(r), messages)
        # what the run's keys take in Redis (the caller clears them after)
        mem = redis_used_b(r) - mem0
        if on_done:
            on_done(procs)
        for p in procs:
            rc = p.stop(signal.SIGTERM, timeout=600)
            if rc != 0:
                raise BenchError(f"funneld exited with {rc} on SIGTERM:\n"
                                 f"{p.log_tail()}")
        t_first = t_first or t_start
        cpu_first = cpu_first or 0.0
        return {"messages": messages, "instances": instances,
                "wall_s": t_done - t_start, "wall_from_first_s": t_done - t_first,
                "startup_s": t_first - t_start,
                "eps": messages / max(t_done - t_first, 1e-9),
                "eps_incl_startup": messages / max(t_done - t_start, 1e-9),
                "cpu_s": sum(cpu), "cpu_from_first_s": sum(cpu) - cpu_first,
                "cpu_user_s": sum(u for u, _ in split),
                "cpu_sys_s": sum(k for _, k in split),
                "cpu_us_per_event": sum(cpu) / messages * 1e6,
                "cpu_us_per_event_from_first":
                    (sum(cpu) - cpu_first) / messages * 1e6,
                "redis_cmds": cmds, "redis_cmds_per_event": cmds / messages,
                "redis_cpu_us_per_event": rcpu / messages * 1e6,
                "redis_busy": rcpu / max(t_done - t_start, 1e-9),
                "redis_commands": cstats, "redis_mem_b": mem,
                "redis_exec_us": cstats.get("exec", {}).get("usec_per_call"),
                "peak_rss_kb": max(hwm), "procs": procs}

    def _wait_done(self, s, procs, ends, key, deadline, stall_s, poll_s):
        """Polls until funneld caught up; sets self._first = (time of the
        first offset, CPU then, commands sent). Raises BenchError when a
        process died, nothing moved for stall_s or the deadline passed."""
        r, own = self.r, 0
        t_first = cpu_first = None
        progress, progress_at = -1, time.monotonic()
        while True:
            for p in procs:
                if not p.alive():
                    raise BenchError(f"funneld exited with "
                                     f"{p.proc.returncode}:\n{p.log_tail()}")
            got = {k: int(v) for k, v in r.hgetall(key).items()}
            own += 1
            if sum(got.values()) != progress:
                progress, progress_at = sum(got.values()), time.monotonic()
            if t_first is None and any(got.values()):
                t_first = time.time()
                cpu_first = sum(proc_cpu_s(p.pid) for p in procs)
            if all(got.get(k, 0) >= hi for k, hi in ends.items() if hi > 0):
                own += PARTITIONS
                if s.outbox_depth(r) == 0:
                    break
            now = time.monotonic()
            if now > deadline or now - progress_at > stall_s:
                logs = ", ".join(str(p.log_path) for p in procs)
                raise BenchError(
                    f"funneld made no progress for {now - progress_at:.0f} s"
                    f" (stored offsets {got}, end offsets {ends}); logs: "
                    f"{logs}")
            time.sleep(poll_s)
        self._first = (t_first, cpu_first, own)

    def run_naive(self, s, timeout=3600, receive_only=False):
        """funneld-naive over everything in s's input topics; with
        receive_only it decodes nothing and touches no Redis (what
        receiving the stream costs)."""
        ends = s.end_offsets()
        messages = sum(ends.values())
        cmds0 = commands_processed(self.r)
        rcpu0 = redis_cpu_s(self.r)
        name = "receive" if receive_only else "naive"
        out = self.work / f"{s.names.prefix}.{name}.out"
        errf = self.work / f"{s.names.prefix}.{name}.log"
        prefix = f"{s.prefix}-naive"
        mode = (["--receive-only"] if receive_only else
                ["--schema-dir", str(REPO / "schemas"), "--redis-host",
                 self.svc.redis_host, "--redis-port",
                 str(self.svc.redis_port), "--prefix", prefix])
        t0 = time.time()
        with open(out, "wb") as o, open(errf, "wb") as e:
            p = subprocess.run(
                [str(self.naive), "--brokers", self.svc.bootstrap,
                 "--group", f"{s.group}-{name}", "--lead-topic", s.lead_topic,
                 "--crm-topic", s.crm_topic, "--expect", str(messages),
                 *mode],
                stdout=o, stderr=e, timeout=timeout)
        wall = time.time() - t0
        if p.returncode != 0:
            raise BenchError(f"funneld-naive exited with {p.returncode}:\n"
                             f"{errf.read_text(errors='replace')[-3000:]}")
        st = json.loads(out.read_text().strip().splitlines()[-1])
        cmds = commands_processed(self.r) - cmds0 - 1
        rcpu = redis_cpu_s(self.r) - rcpu0
        span = st["last_wall"] - st["first_wall"]
        return {"messages": messages, "wall_s": wall,
                "wall_from_first_s": span, "startup_s": st["first_wall"] - t0,
                "eps": messages / max(span, 1e-9),
                "eps_incl_startup": messages / max(wall, 1e-9),
                "cpu_s": st["cpu_s"], "cpu_from_first_s": st["cpu_from_first_s"],
                "cpu_user_s": st["cpu_user_s"], "cpu_sys_s": st["cpu_sys_s"],
                "cpu_us_per_event": st["cpu_s"] / messages * 1e6,
                "cpu_us_per_event_from_first":
                    st["cpu_from_first_s"] / messages * 1e6,
                "redis_cmds": cmds, "redis_cmds_per_event": cmds / messages,
                "redis_cmds_self_count": st["redis_cmds"],
                "redis_cpu_us_per_event": rcpu / messages * 1e6,
                "redis_busy": rcpu / max(wall, 1e-9),
                "peak_rss_kb": st["maxrss_kb"], "duplicates": st["duplicates"],
                "prefix": prefix}

    def stage_totals(self, prefix):
        out = {}
        for t in ("t1", "t2", "t3"):
            for f, v in self.r.hgetall(f"{prefix}:{{{t}}}:total").items():
                if ":" not in f:
                    out[f] = out.get(f, 0) + int(v)
        return out

    # -------------------------------------------------------- phases

    def phase_throughput(self):
        n = self.a.events
        s = self.setup("bench_tput")
        log(f"throughput: producing {n} events (funneld-gen --rate 0)")
        prod_s = self.produce(s, n)
        log(f"throughput: produced in {prod_s:.1f} s; running funneld")
        f = self.run_funneld(s)
        f.pop("procs")
        log(f"throughput: funneld {f['eps']:.0f} events/s, "
            f"{f['cpu_us_per_event']:.1f} µs CPU/event")
        parity = {"funneld": self.stage_totals(s.prefix)}
        clear_redis(self.svc, self.r, s.prefix)
        # The same binary again on the same topics (a new group and
        # prefix): one run's rate moves with the hour on a shared box, and
        # the first run after producing was the slowest in every run of
        # this benchmark so far. The table shows the run of median rate.
        runs = [f]
        for i in range(1, self.a.runs):
            r = self.run_variant(s, f"bench_again{i}", "")
            log(f"throughput: funneld run {i + 1} {r['eps']:.0f} events/s, "
                f"{r['cpu_us_per_event']:.1f} µs CPU/event")
            runs.append(r)
        med = sorted(runs, key=lambda r: r["eps"])[(len(runs) - 1) // 2]
        log("throughput: running funneld-naive")
        nv = self.run_naive(s)
        log(f"throughput: naive {nv['eps']:.0f} events/s, "
            f"{nv['cpu_us_per_event']:.1f} µs CPU/event")
        rcv = self.run_naive(s, receive_only=True)
        log(f"throughput: receiving alone (funneld-naive --receive-only) "
            f"{rcv['cpu_us_per_event_from_first']:.2f} µs CPU/event")
        variants = {}
        # The stored-leads variant and its default run read a second
        # stream (seed 2: other events, the same lead ids), on a prefix the
        # first stream filled and on an empty one.
        self.stored_from = s
        second = None
        if any(v[2] == "stored" for v in variant_list(self.a)):
            second = self.setup("bench_tput2")
            log(f"throughput: producing a second stream of {n} events "
                "(seed 2) for the stored-leads variant")
            self.produce(second, n, seed=2)
        for key, label, section, setting in variant_list(self.a):
            if "{socket}" in setting and not self.svc.redis_socket:
                log(f"throughput: no Unix socket of redis-server known "
                    f"(--redis-socket): {label} skipped")
                continue
            setting = setting.format(socket=self.svc.redis_socket)
            # The variant against a default run right next to it, as the
            # A/B pairs of runs W and X (the box's speed drifts within
            # minutes: the median default run of minutes ago is no
            # baseline for it); which of the two runs first alternates.
            first = len(variants) % 2 == 0
            log(f"throughput: running funneld with {label} and the "
                f"default {'after' if first else 'before'} it")
            inp = second if section == "stored" else s
            if not first:
                base = self.run_variant(inp, f"bench_base_{key}", "")
            v = self.run_variant(inp, f"bench_{key}", setting, section)
            if first:
                base = self.run_variant(inp, f"bench_base_{key}", "")
            log(f"throughput: funneld with {label} {v['eps']:.0f} "
                f"events/s, {v['cpu_us_per_event']:.1f} µs CPU/event "
                f"(the default next to it: {base['eps']:.0f})")
            v["base"] = base
            variants[key] = v
        parity["naive"] = self.stage_totals(nv["prefix"])
        self.results["throughput"] = {
            "events": n, "produce_s": prod_s, "funneld": med,
            "runs": [{k: r[k] for k in ("eps", "cpu_us_per_event",
                                        "cpu_us_per_event_from_first",
                                        "redis_cpu_us_per_event")}
                     for r in runs],
            "median_run": runs.index(med) + 1, "naive": nv,
            "receive": rcv, **variants,
            "stage_totals": parity}
        clear_redis(self.svc, self.r, nv["prefix"])

    def run_variant(self, s, name, setting, section="processing"):
        """funneld over s's input topics with its own group, prefix and
        output topics, and setting (may be empty) in [processing] or
        [redis], or section "env": setting is NAME=VALUE in funneld's
        environment, or section "redis-config": redis-server's settings
        for this run, or section "stored": on a prefix that a run over the
        throughput phase's first stream (self.stored_from) filled first,
        unmeasured, so that the leads of s are stored in Redis, or section
        "binary": setting is another funneld executable."""
        if section == "binary":
            with self.running(setting):
                return self.run_variant(s, name, "")
        if section == "redis-config":
            pairs = [kv.split() for kv in setting.split(",")]
            old = {k: self.r.config_get(k)[k] for k, _ in pairs}
            for k, v in pairs:
                self.r.config_set(k, v)
            try:
                return self.run_variant(s, name, "")
            finally:
                for k, v in old.items():
                    self.r.config_set(k, v)
        prefix = None
        if section == "stored":
            warm = self.variant_setup(self.stored_from, f"{name}_warm")
            warm.write_config()
            self.run_funneld(warm).pop("procs")
            prefix = warm.prefix
        v_setup = self.variant_setup(s, name, prefix)
        env = None
        if section == "env":
            env = dict([setting.split("=", 1)])
        elif setting:  # Setup.processing / Setup.redis: that section's lines
            setattr(v_setup, section, f"{setting}\n")
        v_setup.write_config()
        v = self.run_funneld(v_setup, env=env)
        v.pop("procs")
        clear_redis(self.svc, self.r, v_setup.prefix)
        return v

    @contextlib.contextmanager
    def running(self, executable):
        """self.funneld is executable (a variant of section "binary")
        within the block."""
        default, self.funneld = self.funneld, Path(executable)
        try:
            yield
        finally:
            self.funneld = default

    def variant_setup(self, s, name, prefix=None):
        """A setup over s's input topics with its own group and output
        topics (created), and its own Redis prefix unless given; its
        config is written by the caller."""
        import itlib
        v_setup = itlib.Setup(name, self.work,
                              inputs=(s.lead_topic, s.crm_topic),
                              partitions=PARTITIONS,
                              bootstrap=self.svc.bootstrap,
                              redis_port=self.svc.redis_port)
        if prefix:
            v_setup.prefix = prefix
        self.create_topics(v_setup)
        return v_setup

    def phase_latency(self):
        out = []
        for r in self.a.rate.split(","):
            if r == "auto":
                tp = self.results.get("throughput")
                if not tp:
                    continue
                rate = round(tp["funneld"]["eps"] / 2, -2) or 1000
            else:
                rate = float(r)
            # Each point more than once: one run's tail moves with the
            # moment on a shared box (p99 27-60 ms in consecutive runs of
            # one binary, run X).
            for i in range(self.a.latency_runs):
                out.append({**self.latency_at(rate), "run": i + 1})
        # The first fixed rate again on leads stored in Redis (production's
        # state after a restart, or for leads out of the lead cache): every
        # other point sees new leads only.
        fixed = [r for r in self.a.rate.split(",") if r != "auto"]
        if fixed:
            for i in range(self.a.latency_runs):
                out.append({**self.latency_at(float(fixed[0]), stored=True),
                            "run": i + 1})
        self.results["latency"] = out

    def latency_at(self, rate, stored=False):
        """One latency run at rate; stored: on a prefix that a run over a
        first stream (seed 1, as many events, the same lead ids) filled
        first, unmeasured."""
        import fdit
        dur = self.a.latency_seconds
        n = int(rate * dur)
        prefix = None
        if stored:
            log(f"latency: filling a prefix with {n} events (seed 1) for "
                "the stored-leads run")
            warm = self.setup("bench_latwarm")
            self.produce(warm, n, seed=1)
            self.run_funneld(warm).pop("procs")
            prefix = warm.prefix
        # "kafka.X = v" goes to [kafka] as X (librdkafka's), the rest to
        # [processing]
        kvs = [kv.strip() for kv in self.a.latency_settings.split(",")
               if kv.strip()]
        s = self.setup("bench_lat", processing="".join(
            f"{kv}\n" for kv in kvs if not kv.startswith("kafka.")),
            kafka="".join(f"{kv[len('kafka.'):]}\n" for kv in kvs
                          if kv.startswith("kafka.")))
        if prefix:
            s.prefix = prefix
            s.write_config()
        floor = self.floor_at(rate, n)
        log(f"latency: funneld running, producing {n} events at {rate}/s")
        p = fdit.start_funneld(s.config, log_path=self.work /
                               f"{s.names.prefix}.log")
        try:
            p.wait_log(r"assigned \d+ partition pair", timeout=120)
            key = f"{s.prefix}:offsets:{s.group}"
            changes, stop = {}, threading.Event()

            def poller():
                r = redis_client()
                last = {}
                while not stop.is_set():
                    h = r.hgetall(key)
                    t = time.time()
                    for k, v in h.items():
                        v = int(v)
                        if last.get(k) != v:
                            last[k] = v
                            changes.setdefault(k, []).append((v, t))
                    time.sleep(0.001)

            th = threading.Thread(target=poller, daemon=True)
            th.start()
            cpu0, rcpu0 = proc_cpu_s(p.pid), redis_cpu_s(self.r)
            self.produce_at(s, n, rate)
            ends = s.end_offsets()
            s.wait_caught_up(p, self.r, ends, timeout=300)
            cpu = {"funneld_us_per_event":
                   (proc_cpu_s(p.pid) - cpu0) / max(n, 1) * 1e6,
                   "redis_us_per_event":
                   (redis_cpu_s(self.r) - rcpu0) / max(n, 1) * 1e6}
            stop.set()
            th.join(10)
            own = own_ages(p, sum(ends.values()))
        finally:
            s.stop(p) if p.alive() else None
        inputs = read_topics(self.svc.bootstrap,
                             [s.lead_topic, s.crm_topic], want_event_id=True)
        redis_lat, steady, created = [], [], {}
        first = min(m["ts"] for m in inputs)
        warm_until = first + WARMUP_MS
        per_s = {}  # second of the run (by CreateTime) -> Redis latencies
        for m in inputs:
            if m["event_id"] not in created:
                created[m["event_id"]] = m["ts"]
            ch = changes.get(f"{m['topic']}:{m['partition']}", [])
            i = bisect.bisect_right(ch, (m["offset"], float("inf")))
            if i < len(ch):
                redis_lat.append(ch[i][1] * 1000 - m["ts"])
                per_s.setdefault(int((m["ts"] - first) // 1000),
                                 []).append(redis_lat[-1])
                if m["ts"] >= warm_until:
                    steady.append(redis_lat[-1])
        promos = read_topics(self.svc.bootstrap, [s.promotions],
                             decode="promotion_event")
        promo_lat, unmatched, promo_s = [], 0, {}
        for m in promos:
            t0 = created.get(m["value"]["cause_event_id"])
            if t0 is None:
                unmatched += 1
            else:
                promo_lat.append(m["ts"] - t0)
                promo_s.setdefault(int((t0 - first) // 1000),
                                   []).append(promo_lat[-1])
        last = max(m["ts"] for m in inputs)
        clear_redis(self.svc, self.r, s.prefix)
        log(f"latency at {rate:.0f}/s: Redis p50 "
            f"{pct(redis_lat).get('p50_ms', 0):.1f} ms")
        return {
            "rate": rate, "stored": stored, "events": n,
            "inputs": len(inputs),
            "achieved_rate": len(inputs) / max((last - first) / 1000, 1e-3),
            "redis": pct(redis_lat), "redis_steady": pct(steady),
            "promotion": pct(promo_lat),
            "promotions": len(promos), "unmatched_promotions": unmatched,
            "polls": sum(len(v) for v in changes.values()),
            "funneld_age": own, "floor": floor, "cpu": cpu,
            "per_second": [dict(second=k, **pct(v))
                           for k, v in sorted(per_s.items())],
            "promotion_per_second": [dict(second=k, **pct(v))
                                     for k, v in sorted(promo_s.items())]}

    def produce_at(self, s, n, rate):
        """The latency phase's measured stream (seed 2): n events into s's
        topics at rate events/s."""
        self.produce(s, n, seed=2, rate=rate,
                     timeout=self.a.latency_seconds * 4 + 120)

    def floor_at(self, rate, n):
        """The same offered rate and stream (seed 2) into a plain consumer
        (funneld-naive --ages: no decoding, no Redis), right before
        funneld's run: when any consumer on this box could first have had
        each event, the floor under funneld's latency in the same minutes."""
        import fdit
        s = self.setup("bench_floor")
        ages = self.work / f"{s.names.prefix}.ages"
        p = fdit.Process(
            [str(self.naive), "--brokers", self.svc.bootstrap, "--group",
             f"{s.group}-floor", "--lead-topic", s.lead_topic, "--crm-topic",
             s.crm_topic, "--expect", str(n), "--ages", str(ages)],
            self.work / f"{s.names.prefix}.floor.log")
        try:
            p.wait_log(r"assigned \d+ partitions", timeout=120)
            log(f"latency: a plain consumer running, producing {n} events "
                f"at {rate}/s")
            self.produce_at(s, n, rate)
            if p.wait(120) != 0:
                raise BenchError("funneld-naive --ages exited with "
                                 f"{p.proc.returncode}:\n{p.log_tail()}")
        finally:
            p.stop()
        rows = [ln.split() for ln in ages.read_text().splitlines()]
        first = min(int(ts) for ts, _ in rows)
        return pct([float(age) for ts, age in rows
                    if int(ts) >= first + WARMUP_MS])

    def phase_scaling(self):
        n = self.a.scale_events
        rows = []
        for leads in (10000, 100000, 1000000):
            s = self.setup(f"bench_leads{leads}")
            self.produce(s, n, leads=leads)
            f = self.run_funneld(s)
            f.pop("procs")
            f["leads_pool"] = leads
            f["leads_created"] = self.stage_totals(s.prefix).get("lead", 0)
            rows.append(f)
            log(f"scaling: leads {leads}: {f['eps']:.0f} events/s "
                f"({f['leads_created']} leads created)")
            clear_redis(self.svc, self.r, s.prefix)
        inst = []
        s = self.setup("bench_inst")
        self.produce(s, n)
        for k in (1, 2):
            if k > 1:
                s.group = s.names.group(f"funneld{k}")
                s.prefix = f"{s.names.prefix}-{k}"
                s.write_config()
            try:
                f = self.run_funneld(s, instances=k)
            except BenchError as e:
                log(f"scaling: {k} instance(s) FAILED: {e}")
                inst.append({"instances": k, "failed": str(e)})
                clear_redis(self.svc, self.r, s.prefix)
                continue
            f.pop("procs")
            inst.append(f)
            log(f"scaling: {k} instance(s): {f['eps']:.0f} events/s")
            clear_redis(self.svc, self.r, s.prefix)
        self.results["scaling"] = {"events": n, "leads": rows,
                                   "instances": inst}

    def phase_memory(self):
        """Many distinct leads through one instance: peak RSS against the
        lead cache bound (processing.lead_cache, default 200000)."""
        n, pool = self.a.mem_events, self.a.mem_leads
        s = self.setup("bench_mem")
        log(f"memory: producing {n} events over a pool of {pool} lead ids")
        self.produce(s, n, leads=pool)
        f = self.run_funneld(s, timeout=7200)
        f.pop("procs")
        f["leads_pool"] = pool
        f["leads_created"] = self.stage_totals(s.prefix).get("lead", 0)
        log(f"memory: {f['leads_created']} leads, peak RSS "
            f"{f['peak_rss_kb'] / 1024:.0f} MiB")
        clear_redis(self.svc, self.r, s.prefix)
        self.results["memory"] = f

    def phase_perf(self):
        """funneld over --scale-events events with perf record attached
        (user and kernel time, call graphs); the top symbols by self time
        go into the report."""
        if not shutil.which("perf"):
            self.results["perf"] = {"skipped": "perf not installed"}
            return
        s = self.setup("bench_perf")
        self.produce(s, self.a.scale_events)
        data = self.work / f"{s.names.prefix}.perf.data"
        rec = {}

        def start(procs):
            rec["p"] = subprocess.Popen(
                ["perf", "record", "-g", "-o", str(data), "-p",
                 str(procs[0].pid)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)

        def done(procs):
            rec["p"].send_signal(signal.SIGINT)
            rec["p"].wait(120)

        f = self.run_funneld(s, on_start=start, on_done=done)
        f.pop("procs")
        rep = subprocess.run(["perf", "report", "-i", str(data), "--stdio",
                              "--no-children", "--percent-limit", "0.8",
                              "-g", "none", "--sort", "dso,symbol"],
                             capture_output=True, text=True)
        lines = [re.sub(r"(\s+-)+$", "", ln.rstrip())
                 for ln in rep.stdout.splitlines()
                 if re.match(r"\s+[\d.]+%", ln)]
        if not lines:
            self.results["perf"] = {"skipped": "perf record gave no samples "
                                    f"({rep.stderr.strip()[:300]})"}
        else:
            self.results["perf"] = {"events": f["messages"], "eps": f["eps"],
                                    "top": lines[:30], "file": str(data)}
        clear_redis(self.svc, self.r, s.prefix)

    def phase_ceiling(self):
        """Redis alone on funneld's command stream: funneld runs over
        --events events (the throughput phase's stream) through a proxy
        that records what it sends Redis (per connection); the recording
        is replayed into a fresh private redis-server by redis-cli --pipe
        (nothing else running: no funneld, no broker work), and
        redis-benchmark's pipelined single-key commands run on that server
        after it, as the reference of the same moment. Redis's CPU per
        event there bounds funneld's throughput on this machine whatever
        funneld costs: one Redis core does at most 1 / (that CPU) events
        per second. Default funneld runs over the same stream right before
        and right after the replay say how close funneld comes to it (the
        box's speed drifts within minutes: the throughput phase's runs are
        no measure of it)."""
        import fixture
        import itlib
        missing = [t for t in ("redis-cli", "redis-benchmark")
                   if not shutil.which(t)]
        if missing:
            self.results["ceiling"] = {
                "skipped": f"{' and '.join(missing)} not installed "
                           "(scripts/setup.sh installs redis-server, which "
                           "brings them)"}
            return
        n = self.a.events
        s = self.setup("bench_ceil")
        self.produce(s, n)
        rec_dir = self.work / f"{s.names.prefix}.recording"
        rec_dir.mkdir(parents=True, exist_ok=True)
        proxy = itlib.Proxy(self.svc.redis_port, record=rec_dir)
        proxy.start()
        v = self.variant_setup(s, "bench_ceil_rec")
        v.write_config()
        try:
            v.config = itlib.config_via(v, proxy.port, "recorded")
            log(f"ceiling: funneld over {n} events, its Redis traffic "
                "recorded")
            f = self.run_funneld(v)
            f.pop("procs")
        finally:
            proxy.close()
        clear_redis(self.svc, self.r, v.prefix)
        files = sorted(rec_dir.glob("conn*.bin"))
        stream = stream_profile(files, f["messages"])
        state = (self.work / f"{s.names.prefix}.replay-redis").resolve()
        fixture.start_redis(state)
        try:
            env = dict(ln.split("=", 1) for ln in
                       (state / "redis.env").read_text().splitlines())
            sock = env["REDIS_SOCKET"]
            import redis
            rr = redis.Redis(unix_socket_path=sock)
            log("ceiling: funneld's default run before the replay")
            before = self.run_variant(s, "bench_ceil_before", "")
            replay = replay_into(rr, sock, files, f["messages"])
            log("ceiling: funneld's default run after the replay")
            after = self.run_variant(s, "bench_ceil_after", "")
            reference = redis_reference(rr, sock,
                                        200000 if self.a.quick else 2000000)
        finally:
            fixture.stop_redis(state)
        shutil.rmtree(rec_dir, ignore_errors=True)
        log(f"ceiling: Redis alone {replay['us_per_event']:.2f} µs/event: "
            f"at most {replay['events_per_s']:.0f} events/s; funneld "
            f"{before['eps']:.0f} before, {after['eps']:.0f} after")
        keep = ("eps", "redis_cpu_us_per_event", "redis_cmds_per_event",
                "redis_busy", "cpu_us_per_event_from_first")
        self.results["ceiling"] = {
            "events": f["messages"],
            "recorded_run": {k: f[k] for k in keep},
            "before": {k: before[k] for k in keep},
            "after": {k: after[k] for k in keep},
            "replay": replay, "reference": reference, "stream": stream,
            "connections": len(files)}

    def phase_callgrind(self):
        if not shutil.which("valgrind"):
            self.results["callgrind"] = {"skipped": "valgrind not installed"}
            return
        self.results["callgrind"] = self.callgrind_figure()
        for key, label, section, setting in variant_list(self.a):
            if section == "binary":
                with self.running(setting):
                    self.results["callgrind"][key] = self.callgrind_figure()

    def callgrind_figure(self):
        """The regression figure of self.funneld: callgrind over the same
        two inputs (cg_events and twice that), the difference per event."""
        runs = []
        for n in (self.a.cg_events, 2 * self.a.cg_events):
            s = self.setup(f"bench_cg{n}")
            self.produce(s, n, seed=1)
            out = self.work / f"{s.names.prefix}.callgrind.out"
            log(f"callgrind: {self.funneld} on {n} events (slow)")
            f = self.run_funneld(s, timeout=3600, poll_s=0.2, stall_s=900,
                                 wrapper=(
                "valgrind", "--tool=callgrind",
                f"--callgrind-out-file={out}"))
            f.pop("procs")
            runs.append((f["messages"], out, callgrind_total(out),
                         callgrind_inclusive(out, MAIN_LOOP) -
                         callgrind_inclusive(out, STATS_CB, missing=0)))
            clear_redis(self.svc, self.r, s.prefix)
        (n1, _, i1, m1), (n2, out2, i2, m2) = runs
        top = subprocess.run(["callgrind_annotate", "--inclusive=no",
                              str(out2)], capture_output=True, text=True)
        lines = [ln for ln in top.stdout.splitlines()
                 if re.match(r"\s*[\d,]+ \(\s*[\d.]+%\)", ln)]
        return {
            "binary": str(self.funneld),
            "events": [n1, n2], "ir": [i1, i2],
            "ir_per_event": (i2 - i1) / (n2 - n1),
            "ir_per_event_incl_startup": i2 / n2,
            "main_loop_ir": [m1, m2],
            "main_loop_ir_per_event": (m2 - m1) / (n2 - n1),
            "top": lines[:15], "file": str(out2)}


# ------------------------------------------------------------ helpers

# funneld's main thread: its inclusive cost leaves out librdkafka's own
# threads, whose work grows with the (slow, under callgrind) wall time of
# the run and makes the total vary by a few per cent between runs. (Until
# run AB this was fd_pipeline_run; link-time optimisation inlines parts of
# the loop into its callers, so main's cost is the one that holds all of
# it; start-up cancels out in the difference of the two runs.)
MAIN_LOOP = "src/main.c:main"
# librdkafka's statistics callback (JSON parsed every 5 s of wall time: the
# slow run under callgrind makes more calls than a run at full speed would)
# is left out of the main thread's figure. Since run AB.
STATS_CB = re.compile(r"src/kafka\.c:stats_cb(\.\S*)?$")


def own_ages(proc, n):
    """funneld's own funneld_event_age_seconds histogram (Kafka timestamp
    to commit) once it counts all n messages: p50 / p99 interpolated
    inside their buckets and the share at or under 50 ms (a bucket bound:
    exact). An error text instead when /metrics does not answer."""
    import fdit
    import itlib
    name = "funneld_event_age_seconds"
    try:
        base = itlib.http_base(proc)
        got = {}

        def counted():
            got["s"] = itlib.scrape(base)
            return itlib.metric(got["s"], name + "_count") >= n
        fdit.wait_for(counted, 30, f"{name} to count all {n} messages")
    except Exception as e:  # noqa: BLE001 - ITError, AssertionError, OSError
        return {"error": str(e)[:300]}
    buckets = sorted((float(dict(lbl)["le"]), v)
                     for (k, lbl), v in got["s"].items()
                     if k == name + "_bucket")
    total = buckets[-1][1]
    out = {"n": int(total), "le_50ms": next(
        (v for le, v in buckets if le == 0.05), 0) / max(total, 1)}
    for q, key in ((0.5, "p50_ms"), (0.99, "p99_ms")):
        want, lo, below = q * total, 0.0, 0
        for le, cum in buckets:
            if cum >= want and cum > below:
                hi = le if le != float("inf") else lo
                out[key] = 1000 * (lo + (hi - lo) * (want - below) /
                                   (cum - below))
                break
            lo, below = le, cum
    return out


def stream_profile(files, messages):
    """Per command of the recorded RESP streams: calls, arguments and
    bytes per event."""
    calls, args, size = {}, {}, {}
    for path in files:
        data = Path(path).read_bytes()
        i = 0
        while i < len(data):
            if data[i:i + 1] != b"*":
                raise BenchError(f"{path}: not a RESP array at byte {i}")
            j = data.index(b"\r\n", i)
            k, start, name = int(data[i + 1:j]), i, ""
            i = j + 2
            for a in range(k):
                j = data.index(b"\r\n", i)
                ln = int(data[i + 1:j])
                if a == 0:
                    name = data[j + 2:j + 2 + ln].decode().upper()
                i = j + 4 + ln
            calls[name] = calls.get(name, 0) + 1
            args[name] = args.get(name, 0) + k
            size[name] = size.get(name, 0) + i - start
    return {name: {"calls_per_event": c / messages,
                   "args_per_event": args[name] / messages,
                   "bytes_per_event": size[name] / messages}
            for name, c in sorted(calls.items(), key=lambda kv: -kv[1])}


def redis_cpu_of(rr):
    i = rr.info("cpu")
    return i["used_cpu_user"] + i["used_cpu_sys"]


def replay_into(rr, sock, files, messages):
    """Sends the recordings to the redis-server at sock with redis-cli
    --pipe, one after the other; its CPU, commands and wall time."""
    rr.config_resetstat()
    cpu0, t0 = redis_cpu_of(rr), time.monotonic()
    errors = 0
    for path in files:
        with open(path, "rb") as fh:
            p = subprocess.run(["redis-cli", "-s", sock, "--pipe"], stdin=fh,
                               capture_output=True, text=True)
        m = re.search(r"errors: (\d+), replies: (\d+)", p.stdout)
        if p.returncode != 0 and not m:
            raise BenchError(f"redis-cli --pipe failed on {path}: "
                             f"{p.stdout[-300:]} {p.stderr[-300:]}")
        errors += int(m.group(1)) if m else 0
    cpu = redis_cpu_of(rr) - cpu0
    wall = time.monotonic() - t0
    cmds = commands_processed(rr)
    return {"redis_cpu_s": cpu, "wall_s": wall, "errors": errors,
            "us_per_event": cpu / messages * 1e6,
            "events_per_s": messages / max(cpu, 1e-9),
            "commands_per_cpu_s": cmds / max(cpu, 1e-9),
            "commands": command_deltas({}, command_stats(rr), messages)}


def redis_reference(rr, sock, n):
    """redis-benchmark's pipelined SET, ZADD and HSET on the same server:
    commands per second of Redis CPU for single-key commands."""
    out = {}
    for cmd in ("set", "zadd", "hset"):
        cpu0 = redis_cpu_of(rr)
        p = subprocess.run(["redis-benchmark", "-s", sock, "-P", "64", "-n",
                            str(n), "-q", "-t", cmd], capture_output=True,
                           text=True)
        cpu = redis_cpu_of(rr) - cpu0
        m = re.findall(r"([\d.]+) requests per second", p.stdout)
        out[cmd] = {"requests_per_s": float(m[-1]) if m else None,
                    "commands_per_cpu_s": n / max(cpu, 1e-9)}
    rr.flushall()
    return out


def callgrind_inclusive(path, func, missing=None):
    """func's inclusive Ir: func a name the function ends with or a
    compiled pattern it matches; missing, if not None, when it is absent."""
    rep = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                          "--threshold=100", str(path)],
                         capture_output=True, text=True)
    for line in rep.stdout.splitlines():
        # "1,234 (56.78%)  [/abs/]src/pipeline.c:fd_pipeline_run [binary]"
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+) \[", line)
        if m and (func.search(m.group(2)) if isinstance(func, re.Pattern)
                  else m.group(2).endswith(func)):
            return int(m.group(1).replace(",", ""))
    if missing is not None:
        return missing
    raise BenchError(f"no inclusive cost of {func} in {path}")


def callgrind_total(path):
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise BenchError(f"no totals in {path}")


# The latency phase also reports the events produced after this warm-up:
# the first ones include funneld's first fetches of the new topics.
WARMUP_MS = 2000


def pct(values):
    if not values:
        return {"n": 0}
    v = sorted(values)

    def q(p):
        return v[min(len(v) - 1, int(p * len(v)))]

    return {"n": len(v), "p50_ms": q(0.50), "p99_ms": q(0.99),
            "max_ms": v[-1], "min_ms": v[0],
            "le_50ms": bisect.bisect_right(v, 50.0) / len(v)}


def avro_event_id(value):
    """The event_id of a Confluent-framed LeadEvent / CrmStageEvent: the
    first field, an Avro string (zigzag varint length, bytes)."""
    i, shift, n = 5, 0, 0
    while True:
        b = value[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    n = (n >> 1) ^ -(n & 1)
    return value[i:i + n].decode()


def read_topics(bootstrap, topics, want_event_id=False, decode=None,
                timeout=300):
    """Every committed message of topics (all partitions, from the start to
    the end), as dicts with topic, partition, offset, ts (CreateTime, ms)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    import fdit
    c = Consumer({"bootstrap.servers": bootstrap,
                  "group.id": fdit.unique("bench-reader"),
                  "enable.auto.commit": False,
                  "isolation.level": "read_committed",
                  "enable.partition.eof": True})
    avro = fdit.Avro() if decode else None
    parts = []
    md = c.list_topics(timeout=10)
    for t in topics:
        for p in md.topics[t].partitions:
            parts.append(TopicPartition(t, p, 0))
    c.assign(parts)
    pending = {(tp.topic, tp.partition) for tp in parts}
    out = []
    end = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < end:
            for msg in c.consume(10000, 0.5):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard((msg.topic(), msg.partition()))
                        continue
                    raise BenchError(f"reading {msg.topic()}: {msg.error()}")
                m = {"topic": msg.topic(), "partition": msg.partition(),
                     "offset": msg.offset(), "ts": msg.timestamp()[1]}
                if want_event_id:
                    m["event_id"] = avro_event_id(msg.value())
                if avro:
                    m["value"] = avro.decode(decode, msg.value())[1]
                out.append(m)
    finally:
        c.close()
    if pending:
        raise BenchError(f"could not read {sorted(pending)} to the end within "
                         f"{timeout} s")
    return out


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = subprocess.run(["git", "-C", str(REPO), "log", "-1",
                          "--format=%h %s"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--short",
                            "--", "src", "include"],
                           capture_output=True, text=True)
    return {"commit": git.stdout.strip()[:100],
            "dirty": " ".join(ln.split()[-1] for ln in
                              dirty.stdout.splitlines()),
            "uname": " ".join(platform.uname()), "nproc": os.cpu_count(),
            "cpu": cpu,
            # funneld inherits the benchmark's environment: glibc's
            # tunables change its allocator (the hugetlb variant)
            "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
            "uptime": subprocess.run(["uptime"], capture_output=True,
                                     text=True).stdout.strip()}


# ------------------------------------------------------------ report

def ratio(a, b):
    return f"{a / b:.2f}x" if b else "n/a"


def per_message_us(d, key, fmt="{:.1f}"):
    """d[key] (CPU seconds of a run) per message of the run, in µs."""
    return fmt.format(d[key] / d["messages"] * 1e6) if key in d else "n/a"


def packaged(tp):
    """The hugetlb variant's CPU per event next to its paired default run:
    funneld as the systemd unit and the Dockerfile start it."""
    v = tp.get("hugetlb")
    if not v or "base" not in v:
        return ""
    return (f"; with `glibc.malloc.hugetlb=1` as packaged "
            f"{v['cpu_us_per_event_from_first']:.1f} µs (the default run "
            f"next to it {v['base']['cpu_us_per_event_from_first']:.1f})")


def targets(res):
    """The issue's targets against this run's figures: a row each, with
    whether it was met; a target whose phase did not run says so."""
    def row(target, measured, met):
        verdict = {True: "met", False: "**not met**",
                   None: "not measured"}[met]
        return f"| {target} | {measured} | {verdict} |"

    L = ["## Against the issue's targets", "",
         "| target | this run | |", "|---|---|---|"]
    tp, ce = res.get("throughput"), res.get("ceiling")
    if tp:
        f, nv = tp["funneld"], tp["naive"]
        cap = ""
        if ce and "replay" in ce:
            cap = (f"; Redis alone takes at most "
                   f"{ce['replay']['events_per_s']:,.0f} (the ceiling)")
        L.append(row("at least 150,000 events/s end to end",
                     f"{f['eps']:,.0f} events/s (median of "
                     f"{len(tp['runs'])}){cap}", f["eps"] >= 150000))
        ratio = f["eps"] / max(nv["eps"], 1e-9)
        L.append(row("at least 10x the naive baseline",
                     f"{ratio:.1f}x ({nv['eps']:,.0f} events/s)",
                     ratio >= 10))
        cpus = sorted(r["cpu_us_per_event_from_first"] for r in tp["runs"])
        rcv = tp.get("receive")
        L.append(row("at most 3 µs funneld CPU per event",
                     f"{f['cpu_us_per_event_from_first']:.1f} µs (runs "
                     f"{cpus[0]:.1f}-{cpus[-1]:.1f}, from the first event)" +
                     (f"; receiving alone "
                      f"{rcv['cpu_us_per_event_from_first']:.2f} µs"
                      if rcv else "") + packaged(tp),
                     f["cpu_us_per_event_from_first"] <= 3.0))
    else:
        L.append(row("events/s, 10x naive, 3 µs CPU/event",
                     "throughput phase not run", None))
    lats = [lat for lat in res.get("latency") or []
            if round(lat["rate"]) == 20000 and lat["redis_steady"].get("n")]
    if lats:
        p99 = [lat["redis_steady"]["p99_ms"] for lat in lats]
        floor = [lat["floor"]["p99_ms"] for lat in lats
                 if (lat.get("floor") or {}).get("n")]
        ok = sum(v <= 50 for v in p99)
        L.append(row("p99 at most 50 ms at 20k events/s",
                     f"p99 {', '.join(f'{v:.1f}' for v in p99)} ms "
                     f"(each run's events after its first "
                     f"{WARMUP_MS // 1000} s, committed in Redis; "
                     f"{ok} of {len(p99)} runs at or under 50)" +
                     (f"; a plain consumer's p99 "
                      f"{', '.join(f'{v:.1f}' for v in floor)} ms"
                      if floor else ""), ok == len(p99)))
    else:
        L.append(row("p99 at most 50 ms at 20k events/s",
                     "no latency run at 20000/s", None))
    mem = res.get("memory")
    if mem:
        mib = mem["peak_rss_kb"] / 1024
        enough = mem["leads_created"] >= 1000000
        L.append(row("1M distinct leads under 512 MB RSS",
                     f"{mem['leads_created']:,} leads, peak RSS "
                     f"{mib:.0f} MiB" + ("" if enough else
                                         " (fewer than 1M leads: raise "
                                         "--mem-leads and --mem-events)"),
                     mib * 1.048576 < 512 if enough else None))
    else:
        L.append(row("1M distinct leads under 512 MB RSS",
                     "memory phase not run (`--phases memory`)", None))
    return L + [""]


def report(res, args):
    L = []
    m = res["machine"]
    L += [f"# funneld benchmark {res['started']}", "",
          f"- machine: `{m['uname']}`", f"- nproc: {m['nproc']}; CPU: {m['cpu']}",
          f"- commit: `{m.get('commit', '?')}`; uncommitted in src/, "
          f"include/: `{m.get('dirty') or 'none'}`",
          f"- GLIBC_TUNABLES in funneld's environment: "
          f"`{m.get('glibc_tunables') or 'none'}` (the hugetlb variant sets "
          "its own)",
          f"- load at start: `{m['uptime']}`",
          f"- load at end: `{res.get('uptime_end', '')}`",
          f"- build: `{args.build}`; command: `{' '.join(res['argv'])}`", ""]
    L += targets(res)
    tp = res.get("throughput")
    if tp:
        f, n = tp["funneld"], tp["naive"]
        vs = [(label, tp.get(key) or {})
              for key, label, _, _ in variant_list(args)]
        L += [f"## Throughput: {tp['events']} pre-produced events, earliest "
              "to end, 1 instance, 4 partitions", "",
              "| metric | funneld | naive | funneld/naive | " +
              "".join(f"funneld, {setting} | funneld/that | "
                      for setting, _ in vs),
              "|---|---:|---:|---:|" + "---:|---:|" * len(vs)]
        rows = [("events/s (first event to done)", "eps", "{:.0f}", False),
                ("events/s (incl. start-up and join)", "eps_incl_startup",
                 "{:.0f}", False),
                ("CPU µs/event (user+sys, whole process)", "cpu_us_per_event",
                 "{:.1f}", True),
                ("CPU µs/event (from first event)",
                 "cpu_us_per_event_from_first", "{:.1f}", True),
                ("  of it user / sys µs/event", "cpu_split", None, True),
                ("Redis commands/event", "redis_cmds_per_event", "{:.2f}",
                 True),
                ("Redis CPU µs/event (redis-server user+sys)",
                 "redis_cpu_us_per_event", "{:.1f}", True),
                ("Redis busy (its CPU s / wall s of the run)", "redis_busy",
                 "{:.2f}", True),
                ("Redis memory the run's keys hold (MiB of used_memory)",
                 "redis_mem_b", None, True),
                ("Redis µs per transaction (EXEC; other clients wait)",
                 "redis_exec_us", "{:.0f}", True),
                ("peak RSS (MiB)", "peak_rss_kb", None, True),
                ("start-up until first event (s)", "startup_s", "{:.2f}",
                 True)]
        for label, k, fmt, _ in rows:
            if k == "cpu_split":
                cells = [f"{per_message_us(d, 'cpu_user_s')} / "
                         f"{per_message_us(d, 'cpu_sys_s')}"
                         if d else "n/a"
                         for d in (f, n, *(v for _, v in vs))]
                L.append(f"| {label} | {cells[0]} | {cells[1]} | | " +
                         "".join(f"{c} | | " for c in cells[2:]).rstrip())
                continue
            a, b = f.get(k), n.get(k)
            if k in ("peak_rss_kb", "redis_mem_b"):
                div = 1024 if k == "peak_rss_kb" else 1 << 20

                def show(v, div=div):
                    return "n/a" if v is None else f"{v / div:.1f}"
            else:
                def show(v):
                    return "n/a" if v is None else fmt.format(v)
            L.append(f"| {label} | {show(a)} | {show(b)} | {ratio(a, b)} | " +
                     "".join(f"{show(v.get(k))} | "
                             f"{ratio(v.get('base', f).get(k), v.get(k)) if v.get(k) else 'n/a'} | "
                             for _, v in vs).rstrip())
        if len(tp.get("runs", [])) > 1:
            L += ["", f"funneld ran {len(tp['runs'])} times over the same "
                  f"events (a new group and prefix each); the funneld column "
                  f"is run {tp['median_run']}, the median rate. All runs, "
                  "events/s (CPU µs/event from the first event; Redis CPU "
                  "µs/event): " + ", ".join(
                      f"{r['eps']:.0f} ({r['cpu_us_per_event_from_first']:.1f}"
                      f"; {r['redis_cpu_us_per_event']:.1f})"
                      for r in tp["runs"]) + "."]
        rcv = tp.get("receive")
        if rcv:
            L += ["", "A plain consumer receiving the same events "
                  "(`funneld-naive --receive-only`: librdkafka's defaults, "
                  "one `rd_kafka_consumer_poll` per message as funneld, no "
                  "decoding, no Redis) spent "
                  f"**{rcv['cpu_us_per_event_from_first']:.2f} µs** of CPU "
                  "per event from its first (user "
                  f"{per_message_us(rcv, 'cpu_user_s', '{:.2f}')} / sys "
                  f"{per_message_us(rcv, 'cpu_sys_s', '{:.2f}')}, "
                  "from start-up), at "
                  f"{rcv['eps']:,.0f} events/s: what receiving the stream "
                  "costs before any of funneld's work, part of its CPU per "
                  "event."]
        paired = [(lb, v) for lb, v in vs if v.get("base")]
        if paired:
            L += ["", "Each variant's ratio (funneld/that) is to a default "
                  "run made right next to it (after it for the first "
                  "variant, before it for the second, and so on), not to "
                  "the funneld column: the box's speed drifts within "
                  "minutes (the stored-leads variant and its default "
                  "run read a second stream, seed 2, with the same lead "
                  "ids; the variant on a prefix a run over the first "
                  "stream filled). Default → variant, events/s (CPU µs/event "
                  "from the first event): " + "; ".join(
                      f"{lb}: {v['base']['eps']:.0f} "
                      f"({v['base']['cpu_us_per_event_from_first']:.1f}) → "
                      f"{v['eps']:.0f} ({v['cpu_us_per_event_from_first']:.1f})"
                      for lb, v in paired) + "."]
        L += ["", f"Pre-producing took {tp['produce_s']:.1f} s. Stage entries "
              "counted (sum over tenants of `P:{T}:total`), a parity check of "
              "the baseline: funneld "
              f"`{json.dumps(tp['stage_totals']['funneld'], sort_keys=True)}`"
              ", naive "
              f"`{json.dumps(tp['stage_totals']['naive'], sort_keys=True)}`"
              " (naive does not score, so it has no MQL entries from "
              "scoring).", ""]
        cs = f.get("redis_commands")
        if cs:
            execs = cs.get("exec", {}).get("calls_per_event", 0) * 1000
            L += ["Redis commands of the funneld run (deltas of `INFO "
                  "commandstats`, the benchmark's polling included; µs "
                  "are the commands' execution only, not reading requests "
                  f"or writing replies). Commits (EXEC): {execs:.1f} per "
                  "1000 events.", "",
                  "| command | calls/event | µs/call | µs/event |",
                  "|---|---:|---:|---:|"]
            top = sorted(((k, v) for k, v in cs.items() if k != "exec"),
                         key=lambda kv: -kv[1]["usec_per_event"])[:12]
            for k, v in top:
                L.append(f"| {k.upper()} | {v['calls_per_event']:.3f} | "
                         f"{v['usec_per_call']:.2f} | "
                         f"{v['usec_per_event']:.2f} |")
            L.append("")
    lats = res.get("latency")
    if lats:
        def cell(d, k):
            return f"{d[k]:.1f}" if k in d else "n/a"
        def share(d):
            return (f"{100 * d['le_50ms']:.2f} %" if "le_50ms" in d
                    else "")

        def point(lat):
            """The rows' first cells: the offered rate and which run."""
            return (f"| {lat['rate']:.0f} | {lat.get('run', 1)}"
                    f"{', stored leads' if lat.get('stored') else ''} | ")
        L += ["## Latency from produce (CreateTime) to effect", "",
              "| offered events/s | run | produced at events/s | to | n | "
              "p50 ms | p99 ms | max ms | at or under 50 ms |",
              "|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
        for lat in lats:
            for label, k in (("received by a plain consumer (the floor: "
                              "funneld-naive --ages, the same rate and "
                              "stream right before; events after the "
                              f"first {WARMUP_MS // 1000} s)", "floor"),
                             ("committed in Redis (P:offsets:G covers it)",
                              "redis"),
                             ("the same, events after the first "
                              f"{WARMUP_MS // 1000} s", "redis_steady"),
                             ("promotion CreateTime on the output topic",
                              "promotion")):
                d = lat.get(k, {"n": 0})
                L.append(point(lat) + f"{lat['achieved_rate']:.0f} | "
                         f"{label} | {d['n']} | {cell(d, 'p50_ms')} | "
                         f"{cell(d, 'p99_ms')} | {cell(d, 'max_ms')} | "
                         f"{share(d)} |")
            own = lat.get("funneld_age") or {}
            if "n" in own:
                L.append(point(lat) + f"{lat['achieved_rate']:.0f} | "
                         "funneld's own "
                         "`funneld_event_age_seconds` (bucket-interpolated) "
                         f"| {own['n']} | {cell(own, 'p50_ms')} | "
                         f"{cell(own, 'p99_ms')} | | {share(own)} |")
        costs = [lat for lat in lats if lat.get("cpu")]
        if costs:
            L += ["", "CPU per event in these runs (from the generator's "
                  "start to funneld caught up; Redis's includes the "
                  "benchmark's poll of P:offsets:G, some 1,000 `HGETALL`s "
                  "a second):", "",
                  "| offered events/s | run | funneld CPU µs/event | Redis "
                  "CPU µs/event |", "|---:|---:|---:|---:|"]
            for lat in costs:
                L.append(point(lat) +
                         f"{lat['cpu']['funneld_us_per_event']:.1f} | "
                         f"{lat['cpu']['redis_us_per_event']:.1f} |")
        L += ["", "funneld's own rows read its `/metrics` histogram of "
              "event ages (from each message's Kafka timestamp to its "
              "batch's answer from Redis) at the end of the run: a cross-"
              "check of the benchmark's poll, and what a deployment can "
              "watch; its buckets around the goal are 25, 50 and 100 ms, so "
              "its percentiles are coarse, its share at or under 50 ms is "
              "exact.",
              "", "The floor is a plain librdkafka consumer's view of the "
              "same rate and stream in its own topics right before "
              "funneld's run: the producer's linger, the broker and the "
              "fetch, which no consumer on this box avoids; funneld's rows "
              "minus it are what funneld adds (the merge's grace, the batch "
              "window, the reads and Redis's transaction).",
              "", "Each point (each run of it: `--latency-runs`) runs "
              "the plain consumer and funneld-gen at the offered rate for "
              "the set seconds, then funneld and funneld-gen again, the "
              "same stream into funneld's own topics. An offered rate "
              "above funneld's throughput builds a backlog, so its latency "
              "grows with the run length: it measures saturation, not "
              "steady-state latency; the `auto` point (half the measured "
              "throughput) does. Runs marked *stored leads* read a stream "
              "(seed 2) on a Redis prefix that funneld filled first from as "
              "many events of seed 1 (the same lead ids): its leads are "
              "read from Redis, not created; every other run sees new "
              "leads. " + "; ".join(
                  f"{lat['rate']:.0f}/s"
                  f"{' (stored leads)' if lat.get('stored') else ''}: "
                  f"{lat['promotions']} promotions "
                  f"({lat['unmatched_promotions']} unmatched), "
                  f"{lat['polls']} offset changes seen" for lat in lats) +
              ". Resolution: CreateTime is in ms; P:offsets:G was polled "
              "about every 1 ms, so Redis latencies are upper bounds by up "
              "to one poll interval plus the poller's scheduling delay. "
              "funneld's [processing] (and kafka.*) settings beyond the benchmark's "
              "config: " + (f"`{args.latency_settings}`"
                             if args.latency_settings else "none") + ".",
              ""]
    ce = res.get("ceiling")
    if ce and "skipped" in ce:
        L += ["## Redis alone on funneld's command stream (the ceiling)", "",
              f"Skipped: {ce['skipped']}.", ""]
    elif ce:
        rp, rec = ce["replay"], ce["recorded_run"]
        L += ["## Redis alone on funneld's command stream (the ceiling)", "",
              f"funneld's Redis traffic over {ce['events']} events, recorded "
              "through a proxy (that run: "
              f"{rec['eps']:.0f} events/s, Redis {rec['redis_cpu_us_per_event']:.2f} "
              f"µs/event, {rec['redis_cmds_per_event']:.2f} commands/event), "
              "replayed by `redis-cli --pipe` into a fresh redis-server over "
              "its Unix socket with nothing else running: **Redis "
              f"{rp['us_per_event']:.2f} µs of CPU per event, so one Redis "
              f"core takes at most {rp['events_per_s']:.0f} events/s** "
              f"whatever funneld costs ({rp['commands_per_cpu_s']:.0f} "
              f"commands per Redis CPU second; replay wall "
              f"{rp['wall_s']:.1f} s for {rp['redis_cpu_s']:.1f} s of Redis "
              f"CPU; {rp['errors']} error replies; funneld used "
              f"{ce.get('connections', '?')} connection(s), replayed one "
              "after the other). 150,000 events/s needs "
              "at most 6.67 µs per event.", "",
              "funneld's default runs over the same stream right before "
              "and right after the replay (the box's speed drifts within "
              "minutes, so only runs next to the replay compare with it):",
              "", "| funneld run | events/s | of the ceiling | Redis CPU "
              "µs/event | Redis busy | funneld CPU µs/event |",
              "|---|---:|---:|---:|---:|---:|"]
        for label in ("before", "after"):
            r = ce.get(label)
            if r:
                L.append(f"| {label} the replay | {r['eps']:.0f} | "
                         f"{r['eps'] / rp['events_per_s']:.0%} | "
                         f"{r['redis_cpu_us_per_event']:.2f} | "
                         f"{r['redis_busy']:.2f} | "
                         f"{r['cpu_us_per_event_from_first']:.2f} |")
        L += ["",
              "Reference on the same server right after (`redis-benchmark "
              "-P 64`, one key per command):", "",
              "| command | requests/s | commands per Redis CPU second | "
              "funneld's stream / it |",
              "|---|---:|---:|---:|"]
        for cmd, v in ce["reference"].items():
            L.append(f"| {cmd.upper()} | {v['requests_per_s'] or 0:.0f} | "
                     f"{v['commands_per_cpu_s']:.0f} | "
                     f"{rp['commands_per_cpu_s'] / v['commands_per_cpu_s']:.2f}x |")
        L += ["", "What the stream sends per event, and what each command "
              "cost Redis in the replay (execution only, `INFO "
              "commandstats`; the rest of the replay's CPU is reading, "
              "parsing and queueing the requests and writing replies):", "",
              "| command | calls/event | arguments/event | bytes/event | "
              "µs/call | µs/event |", "|---|---:|---:|---:|---:|---:|"]
        for name, v in ce["stream"].items():
            c = rp["commands"].get(name.lower(), {})
            # EXEC's µs are those of the commands it ran
            us = ("| (its commands') | |" if name == "EXEC" else
                  f"| {c.get('usec_per_call', 0):.2f} | "
                  f"{c.get('usec_per_event', 0):.2f} |")
            L.append(f"| {name} | {v['calls_per_event']:.3f} | "
                     f"{v['args_per_event']:.2f} | "
                     f"{v['bytes_per_event']:.1f} {us}")
        tot = ce["stream"].values()
        L += [f"| all | {sum(v['calls_per_event'] for v in tot):.3f} | "
              f"{sum(v['args_per_event'] for v in tot):.2f} | "
              f"{sum(v['bytes_per_event'] for v in tot):.1f} | | |", ""]
    mem = res.get("memory")
    if mem:
        L += [f"## Memory: {mem['messages']} events, {mem['leads_created']} "
              "distinct leads, default processing.lead_cache (200000)", "",
              "| leads created | events/s | CPU µs/event | Redis cmds/event | "
              "peak RSS MiB |", "|---:|---:|---:|---:|---:|",
              f"| {mem['leads_created']} | {mem['eps']:.0f} | "
              f"{mem['cpu_us_per_event']:.1f} | "
              f"{mem['redis_cmds_per_event']:.2f} | "
              f"{mem['peak_rss_kb'] / 1024:.1f} |", ""]
    sc = res.get("scaling")
    if sc:
        L += [f"## Scaling ({sc['events']} events per point)", "",
              "| lead-id pool (--leads) | leads created | events/s | "
              "CPU µs/event | Redis cmds/event | peak RSS MiB |",
              "|---:|---:|---:|---:|---:|---:|"]
        for f in sc["leads"]:
            L.append(f"| {f['leads_pool']} | {f['leads_created']} | "
                     f"{f['eps']:.0f} | {f['cpu_us_per_event']:.1f} | "
                     f"{f['redis_cmds_per_event']:.2f} | "
                     f"{f['peak_rss_kb'] / 1024:.1f} |")
        L += ["", "| instances (one group, 4 partitions) | events/s | "
              "CPU µs/event (sum) | vs 1 instance |", "|---:|---:|---:|---:|"]
        base = sc["instances"][0].get("eps", 0)
        for f in sc["instances"]:
            if "failed" in f:
                L.append(f"| {f['instances']} | FAILED | | |")
                continue
            L.append(f"| {f['instances']} | {f['eps']:.0f} | "
                     f"{f['cpu_us_per_event']:.1f} | {ratio(f['eps'], base)} |")
        L += [f"- {f['instances']} instance(s) failed: {f['failed']}"
              for f in sc["instances"] if "failed" in f]
        L.append("")
    cg = res.get("callgrind")
    if cg and "skipped" not in cg:
        L += ["## callgrind (regression figure)", "",
              f"**{cg['ir_per_event']:.0f} instructions (Ir) per event** = "
              f"({cg['ir'][1]} - {cg['ir'][0]}) / ({cg['events'][1]} - "
              f"{cg['events'][0]}) messages, seed 1; including start-up: "
              f"{cg['ir_per_event_incl_startup']:.0f}.", "",
              f"**{cg['main_loop_ir_per_event']:.0f} Ir per event in "
              f"funneld's main thread** (`{MAIN_LOOP.split(':')[1]}`, "
              f"without librdkafka's statistics callback, "
              f"inclusive: the same difference without librdkafka's "
              f"threads, whose share varies with the run's wall time; "
              f"the steadier figure for comparing commits).", ""]
        for key, label, section, _ in variant_list(args):
            v = cg.get(key)
            if section == "binary" and v:
                main_x = v["main_loop_ir_per_event"] / \
                    cg["main_loop_ir_per_event"]
                L += [f"{label} (`{v['binary']}`), the same inputs: "
                      f"**{v['main_loop_ir_per_event']:.0f} Ir per event in "
                      f"the main thread** ({main_x:.3f}x the default "
                      f"build's), {v['ir_per_event']:.0f} in all "
                      f"({v['ir_per_event'] / cg['ir_per_event']:.3f}x).",
                      ""]
        L += [f"Top functions (self Ir, {cg['events'][1]} messages):", "",
              "```"] + cg["top"] + ["```", ""]
    elif cg:
        L += ["## callgrind", "", f"skipped: {cg['skipped']}", ""]
    pf = res.get("perf")
    if pf and "skipped" not in pf:
        L += [f"## perf (self time, {pf['events']} messages, "
              f"{pf['eps']:.0f} events/s while sampled)", "", "```"] + \
            pf["top"] + ["```", ""]
    elif pf:
        L += ["## perf", "", f"skipped: {pf['skipped']}", ""]
    return "\n".join(L)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(REPO / "build-bench"),
                    help="build directory with funneld, funneld-gen and "
                         "bench/funneld-naive (default build-bench)")
    ap.add_argument("--funneld",
                    help="the funneld executable to measure (default "
                         "BUILD/funneld)")
    ap.add_argument("--pgo-build",
                    help="a profile-guided build directory (scripts/"
                         "pgo-build.sh): its funneld also runs as a variant "
                         "of the throughput phase, next to a default run, "
                         "and the callgrind phase measures it too")
    ap.add_argument("--seed-offset", type=int, default=0,
                    help="added to the seed of every generated stream (0): "
                         "other events of the same mix, as scripts/"
                         "pgo-build.sh's training run uses (100)")
    ap.add_argument("--events", type=int, default=1000000,
                    help="events of the throughput phase (1000000; 5000000 "
                         "for the long run)")
    ap.add_argument("--runs", type=int, default=3,
                    help="funneld runs over the throughput phase's events "
                         "(3): the table shows the run of median rate, all "
                         "are listed")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 20000 events, short latency phase, no "
                         "scaling, no callgrind")
    ap.add_argument("--rate", default="20000,auto",
                    help="offered rates of the latency phase, comma-"
                         "separated; auto = half of funneld's measured "
                         "throughput (20000,auto)")
    ap.add_argument("--latency-seconds", type=float, default=15)
    ap.add_argument("--latency-runs", type=int, default=2,
                    help="runs of each latency point, each reported (2; "
                         "--quick: 1)")
    ap.add_argument("--latency-settings", default="",
                    help="[processing] settings of funneld in the latency "
                         "phase, comma-separated, e.g. 'batch.max_ms = 10,"
                         "max_task_idle_ms = 10'; 'kafka.X = v' sets "
                         "librdkafka's X in [kafka] (default: none, the "
                         "defaults)")
    ap.add_argument("--scale-events", type=int, default=300000,
                    help="events per scaling point (300000)")
    ap.add_argument("--cg-events", type=int, default=20000,
                    help="events of the smaller callgrind run (20000)")
    ap.add_argument("--mem-events", type=int, default=9000000,
                    help="events of the memory phase (9000000: over 1M "
                         "distinct leads)")
    ap.add_argument("--mem-leads", type=int, default=3000000,
                    help="lead-id pool of the memory phase (3000000)")
    ap.add_argument("--phases",
                    default="throughput,latency,ceiling,scaling,callgrind,"
                            "perf",
                    help="comma-separated subset of throughput, latency, "
                         "ceiling, scaling, callgrind, perf, memory (not "
                         "run by default: about 10 minutes)")
    ap.add_argument("--state", default=None,
                    help="directory for the private broker / redis-server "
                         "and logs (default <build>/bench-state)")
    ap.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    ap.add_argument("--redis", help="HOST:PORT of a redis-server to use "
                                    "instead of starting one")
    ap.add_argument("--redis-socket",
                    help="with --redis: the Unix socket of that "
                         "redis-server, for the redis.socket variant of the "
                         "throughput phase (a private redis-server has one)")
    ap.add_argument("--results", default=str(REPO / "bench" / "results"),
                    help="directory for <date>.md and .json")
    a = ap.parse_args(argv)
    phases = a.phases.split(",")
    if a.quick:
        if a.events == 1000000:
            a.events = 20000
        a.latency_seconds = min(a.latency_seconds, 3)
        a.runs = a.latency_runs = 1
        phases = [p for p in phases
                  if p in ("throughput", "latency", "ceiling")]
    started = datetime.datetime.now(datetime.timezone.utc)
    res = {"started": started.strftime("%Y-%m-%d %H:%M UTC"),
           "argv": ["bench/bench.py", *(argv if argv is not None
                                        else sys.argv[1:])],
           "machine": machine()}
    # Under ctest (bench.smoke) the integration fixtures' broker and
    # redis-server are already running: use them.
    reuse = not a.state and bool(os.environ.get("FUNNELD_IT_STATE"))
    state = Path(a.state or os.environ.get("FUNNELD_IT_STATE") or
                 Path(a.build) / "bench-state")
    try:
        with Services(state, a.bootstrap, a.redis, reuse,
                      a.redis_socket) as svc:
            b = Bench(a, svc)
            b.results = res
            for ph in phases:
                try:
                    getattr(b, f"phase_{ph}")()
                finally:
                    b.drop_topics()
    except Exception as e:  # noqa: BLE001 - BenchError, FixtureError, ITError
        if not isinstance(e, BenchError) and \
                type(e).__name__ not in ("FixtureError", "ITError"):
            raise
        print(f"bench: FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    res["uptime_end"] = machine()["uptime"]
    text = report(res, a)
    print(text, flush=True)
    out = Path(a.results)
    out.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%d-%H%M") + ("-quick" if a.quick else "")
    (out / f"{stem}.md").write_text(text + "\n")
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1, default=str)
                                      + "\n")
    log(f"results written to {out / stem}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
