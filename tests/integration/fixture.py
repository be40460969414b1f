#!/usr/bin/env python3
"""Integration test fixtures: a real single-node Kafka broker and a real
redis-server, each on a free loopback port.

    fixture.py start kafka|redis     start (killing a stale one first), wait
                                     until it answers, write <state>/NAME.env
    fixture.py stop kafka|redis      SIGTERM, SIGKILL after a deadline,
                                     remove its data (logs are kept)
    fixture.py status                print the state files

The state directory is $FUNNELD_IT_STATE (CTest sets it to
<build>/tests/integration/it-state) or --state DIR. Kafka's jars come from
<repo>/.cache/kafka-libs (scripts/setup.sh puts them there) or
$FUNNELD_KAFKA_LIBS. Nothing here sleeps to synchronise: every wait polls a
condition until a deadline.
"""

import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KAFKA_START_DEADLINE_S = 90.0
REDIS_START_DEADLINE_S = 20.0
STOP_DEADLINE_S = 30.0
JVM_HEAP = ["-Xms256m", "-Xmx768m"]


class FixtureError(Exception):
    pass


def new_cluster_id():
    """A random KRaft cluster id (base64url of 16 bytes) that does not start
    with '-': kafka-storage's argument parser would take it for an option
    (about 1 id in 64)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def log(msg):
    print(f"fixture: {msg}", flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(predicate, deadline_s, interval_s=0.2):
    """Calls predicate until it returns a true value or deadline_s passes.
    Returns that value, or None on timeout."""
    end = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            return None
        time.sleep(interval_s)


def tail(path, lines=60):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pid_cmdline(pid):
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def read_pid(pidfile):
    try:
        return int(Path(pidfile).read_text().strip())
    except (OSError, ValueError):
        return None


def kill_pidfile(pidfile, marker, what):
    """Stops the process recorded in pidfile if it is still ours (its command
    line contains marker): SIGTERM to its process group, SIGKILL after
    STOP_DEADLINE_S. Removes the pid file."""
    pid = read_pid(pidfile)
    if pid is None:
        return
    if pid_alive(pid) and marker in pid_cmdline(pid):
        log(f"stopping {what} (pid {pid})")
        _signal_group(pid, signal.SIGTERM)
        if not poll(lambda: not pid_alive(pid), STOP_DEADLINE_S, 0.1):
            log(f"{what} (pid {pid}) ignored SIGTERM for "
                f"{STOP_DEADLINE_S:.0f} s; sending SIGKILL")
            _signal_group(pid, signal.SIGKILL)
            poll(lambda: not pid_alive(pid), 10.0, 0.1)
        _reap(pid)
    Path(pidfile).unlink(missing_ok=True)


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn_detached(argv, log_path, cwd):
    """Starts argv in its own session, output to log_path, stdin closed, so
    that it outlives this script and holds no pipe of the caller (CTest)."""
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    return proc


def write_env(state, name, values):
    path = state / f"{name}.env"
    tmp = path.with_suffix(".env.tmp")
    tmp.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    tmp.replace(path)
    log(f"wrote {path}: " + " ".join(f"{k}={v}" for k, v in values.items()))


# ---------------------------------------------------------------- Kafka

def kafka_libs():
    libs = Path(os.environ.get("FUNNELD_KAFKA_LIBS",
                               REPO / ".cache" / "kafka-libs"))
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise FixtureError(
            f"Kafka broker jars not found in {libs}; run scripts/setup.sh "
            "(it resolves them with Maven) or set FUNNELD_KAFKA_LIBS")
    return libs


def java_bin():
    java = os.environ.get("JAVA", shutil.which("java"))
    if not java:
        raise FixtureError("java not found on PATH; run scripts/setup.sh "
                           "(installs openjdk-17-jre-headless) or set JAVA")
    return java


def kafka_properties(d, port, cport):
    return f"""# Written by tests/integration/fixture.py: single-node KRaft test broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={d / "data"}
num.partitions=4
default.replication.factor=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
background.threads=4
log.retention.check.interval.ms=300000
"""


def kafka_log4j(d):
    return f"""# Written by tests/integration/fixture.py: everything to one file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={d / "server.log"}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage=WARN
"""


def kafka_ready(bootstrap):
    """True once the broker answers a metadata request with itself in it."""
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": bootstrap,
                         "socket.connection.setup.timeout.ms": 2000,
                         "log_level": 0})
    try:
        md = admin.list_topics(timeout=2)
    except Exception:  # KafkaException while the broker is not up yet
        return False
    return len(md.brokers) >= 1


def kafka_warm_up(bootstrap):
    """Creates __consumer_offsets and __transaction_state now, so that the
    first test's group join or init_transactions does not wait for it."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    p = Producer({"bootstrap.servers": bootstrap, "log_level": 0,
                  "transactional.id": f"fixture-warm-up-{uuid.uuid4().hex}"})
    p.init_transactions(60)
    c = Consumer({"bootstrap.servers": bootstrap, "log_level": 0,
                  "group.id": f"fixture-warm-up-{uuid.uuid4().hex}"})
    errors = []

    def coordinator_answers():
        try:
            c.committed([TopicPartition("__warm_up__", 0)], timeout=10)
            return True
        except Exception as e:  # noqa: BLE001 - NOT_COORDINATOR while loading
            errors.append(e)
            return False

    try:
        if not poll(coordinator_answers, 60.0, 0.2):
            raise FixtureError(f"group coordinator not ready: {errors[-1]}")
    finally:
        c.close()


def start_kafka(state):
    d = state / "kafka"
    kill_pidfile(d / "kafka.pid", str(d / "server.properties"),
                 "stale Kafka broker")
    shutil.rmtree(d, ignore_errors=True)
    (state / "kafka.env").unlink(missing_ok=True)
    d.mkdir(parents=True)
    libs, java = kafka_libs(), java_bin()
    port, cport = free_port(), free_port()
    while cport == port:
        cport = free_port()
    (d / "server.properties").write_text(kafka_properties(d, port, cport))
    (d / "log4j.properties").write_text(kafka_log4j(d))
    cp = str(libs / "*")
    jvm = [java, "-Djava.awt.headless=true",
           f"-Dlog4j.configuration=file:{d / 'log4j.properties'}",
           "-Dkafka.logs.dir=" + str(d), "-cp", cp]
    t0 = time.monotonic()
    cluster_id = new_cluster_id()
    fmt = subprocess.run(jvm + ["-Xmx256m", "kafka.tools.StorageTool", "format",
                                "-t", cluster_id,
                                "-c", str(d / "server.properties")],
                         cwd=d, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=120)
    if fmt.returncode != 0:
        raise FixtureError("formatting the Kafka storage failed (exit "
                           f"{fmt.returncode}):\n{fmt.stdout}")
    proc = spawn_detached(jvm + JVM_HEAP + ["kafka.Kafka",
                                            str(d / "server.properties")],
                          d / "broker.out", d)
    (d / "kafka.pid").write_text(f"{proc.pid}\n")
    bootstrap = f"127.0.0.1:{port}"
    log(f"Kafka broker pid {proc.pid} starting on {bootstrap} "
        f"(controller {cport}), waiting up to {KAFKA_START_DEADLINE_S:.0f} s")

    def ready():
        if proc.poll() is not None:
            raise FixtureError(
                f"the Kafka broker exited with {proc.returncode} during "
                f"startup.\n--- {d / 'server.log'} ---\n{tail(d / 'server.log')}"
                f"\n--- {d / 'broker.out'} ---\n{tail(d / 'broker.out')}")
        return kafka_ready(bootstrap)

    if not poll(ready, KAFKA_START_DEADLINE_S, 0.25):
        msg = (f"the Kafka broker did not answer on {bootstrap} within "
               f"{KAFKA_START_DEADLINE_S:.0f} s.\n--- {d / 'server.log'} ---\n"
               f"{tail(d / 'server.log')}\n--- {d / 'broker.out'} ---\n"
               f"{tail(d / 'broker.out')}")
        kill_pidfile(d / "kafka.pid", str(d / "server.properties"),
                     "Kafka broker")
        raise FixtureError(msg)
    t1 = time.monotonic()
    try:
        kafka_warm_up(bootstrap)
    except Exception as e:  # noqa: BLE001 - the broker is up; tests retry
        log(f"warning: warming up the group/transaction coordinators: {e}")
    log(f"coordinators warmed up in {time.monotonic() - t1:.1f} s")
    write_env(state, "kafka", {"KAFKA_BOOTSTRAP": bootstrap,
                               "KAFKA_PORT": port,
                               "KAFKA_CONTROLLER_PORT": cport,
                               "KAFKA_PID": proc.pid,
                               "KAFKA_LOG": d / "server.log"})
    log(f"Kafka broker ready on {bootstrap} after "
        f"{time.monotonic() - t0:.1f} s (format + start)")


def stop_kafka(state):
    d = state / "kafka"
    kill_pidfile(d / "kafka.pid", str(d / "server.properties"),
                     "Kafka broker")
    shutil.rmtree(d / "data", ignore_errors=True)
    (state / "kafka.env").unlink(missing_ok=True)
    log("Kafka broker stopped, data removed (logs kept in "
        f"{d})")


# ---------------------------------------------------------------- Redis

def redis_ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(state):
    d = state / "redis"
    kill_pidfile(d / "redis.pid", "redis-server", "stale redis-server")
    shutil.rmtree(d, ignore_errors=True)
    (state / "redis.env").unlink(missing_ok=True)
    (d / "data").mkdir(parents=True)
    server = os.environ.get("REDIS_SERVER", shutil.which("redis-server"))
    if not server:
        raise FixtureError("redis-server not found on PATH; run "
                           "scripts/setup.sh (installs redis-server)")
    port = free_port()
    # Also a Unix socket (redis.socket; test_redis_socket.py, the
    # benchmark's variant): in the state directory unless its path would
    # pass sun_path's 107 bytes.
    sock = d / "redis.sock"
    if len(str(sock)) > 100:
        sock = Path(tempfile.mkdtemp(prefix="fdit-redis-")) / "redis.sock"
    t0 = time.monotonic()
    proc = spawn_detached([server, "--port", str(port), "--bind", "127.0.0.1",
                           "--unixsocket", str(sock),
                           "--unixsocketperm", "700",
                           "--save", "", "--appendonly", "no",
                           "--daemonize", "no", "--dir", str(d / "data"),
                           "--logfile", str(d / "redis.log"),
                           "--databases", "64"],
                          d / "redis.out", d)
    (d / "redis.pid").write_text(f"{proc.pid}\n")

    def ready():
        if proc.poll() is not None:
            raise FixtureError(
                f"redis-server exited with {proc.returncode} during startup."
                f"\n{tail(d / 'redis.log')}\n{tail(d / 'redis.out')}")
        return redis_ping(port)

    if not poll(ready, REDIS_START_DEADLINE_S, 0.05):
        msg = (f"redis-server did not answer PING on 127.0.0.1:{port} within "
               f"{REDIS_START_DEADLINE_S:.0f} s.\n{tail(d / 'redis.log')}")
        kill_pidfile(d / "redis.pid", "redis-server", "redis-server")
        raise FixtureError(msg)
    write_env(state, "redis", {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": port,
                               "REDIS_SOCKET": sock, "REDIS_PID": proc.pid,
                               "REDIS_LOG": d / "redis.log"})
    log(f"redis-server ready on 127.0.0.1:{port} after "
        f"{time.monotonic() - t0:.2f} s")


def stop_redis(state):
    d = state / "redis"
    kill_pidfile(d / "redis.pid", "redis-server", "redis-server")
    shutil.rmtree(d / "data", ignore_errors=True)
    # the socket's own directory, when the state's path was too long
    env = state / "redis.env"
    for line in env.read_text().splitlines() if env.exists() else ():
        sock = Path(line.partition("=")[2])
        if line.startswith("REDIS_SOCKET=") and \
                sock.parent.name.startswith("fdit-redis-"):
            shutil.rmtree(sock.parent, ignore_errors=True)
    (state / "redis.env").unlink(missing_ok=True)
    log("redis-server stopped, data removed")


# ---------------------------------------------------------------- main

ACTIONS = {
    ("start", "kafka"): start_kafka, ("stop", "kafka"): stop_kafka,
    ("start", "redis"): start_redis, ("stop", "redis"): stop_redis,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state", default=os.environ.get("FUNNELD_IT_STATE"),
                    help="state directory (default $FUNNELD_IT_STATE)")
    ap.add_argument("action", choices=["start", "stop", "status"])
    ap.add_argument("service", nargs="?", choices=["kafka", "redis"])
    args = ap.parse_args(argv)
    if not args.state:
        ap.error("no state directory: pass --state DIR or set FUNNELD_IT_STATE")
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    if args.action == "status":
        for name in ("kafka", "redis"):
            f = state / f"{name}.env"
            print(f"{name}: " + (f.read_text().replace("\n", " ")
                                 if f.exists() else "not running"))
        return 0
    if not args.service:
        ap.error(f"{args.action} needs a service: kafka or redis")
    try:
        ACTIONS[(args.action, args.service)](state)
    except FixtureError as e:
        print(f"fixture: FAILED to {args.action} {args.service}: {e}",
              file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
