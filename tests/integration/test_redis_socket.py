#!/usr/bin/env python3
"""redis.socket: funneld, its dashboard data and funnelctl reach Redis over
its Unix socket, with the same results as over TCP; a socket that is not
there, or a path too long for one, is refused with what to do.

The fixture's redis-server listens on a Unix socket too (REDIS_SOCKET).
Each config here also names a TCP port nobody listens on, so only the
socket can have carried the data."""

import socket
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import RefModel  # noqa: E402
from test_e2e_generated import compare_keys, generate  # noqa: E402
from test_funnelctl import funnelctl_bin  # noqa: E402


def closed_port():
    """A TCP port nobody listens on: bind, read the number, close."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def socket_setup(name, path):
    setup = itlib.Setup(name, fdit.work_dir(), partitions=2,
                        redis_port=closed_port())
    setup.redis = f"socket = {path}\n"
    setup.create_topics()
    return setup, setup.write_config()


def test_funneld_and_funnelctl_over_the_socket():
    path = fdit.redis_socket()
    setup, config = socket_setup("redis_socket", path)
    events = generate(setup, fdit.work_dir() / "events.jsonl", events=3000,
                      seed=31)
    r = fdit.redis_client()
    proc = setup.start()
    setup.wait_caught_up(proc, r, setup.end_offsets(), timeout=120)
    setup.stop(proc)
    log = proc.log_text()
    assert f"state in redis unix socket {path} under prefix" in log, \
        proc.log_tail()
    model = RefModel(config).run(
        events, partitions=itlib.gen_partitions(events, setup.partitions))
    compare_keys(model.redis_keys(setup.group), itlib.dump(r, setup.prefix))

    # funnelctl: the socket from the config, then from --redis /PATH (the
    # config's closed TCP port would fail without it).
    for argv in (["-c", str(config)],
                 ["--redis", path, "--prefix", setup.prefix, "--group",
                  setup.group]):
        p = subprocess.run([funnelctl_bin(), *argv, "--format", "json",
                            "status"], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        assert setup.group in p.stdout, p.stdout


def test_missing_socket_is_refused():
    # Short: a work directory's path can be longer than a socket's may be.
    missing = Path("/tmp") / f"fdit-{uuid.uuid4().hex[:8]}-none" / "redis.sock"
    setup, config = socket_setup("redis_socket_missing", missing)
    p = fdit.start_funneld(config)
    rc = p.wait(timeout=60)
    log = p.log_text()
    assert rc == 1, f"exit code {rc}\n{log}"
    assert f"cannot connect to redis at unix socket {missing}" in log, log
    assert "start redis-server or set redis.socket" in log, log
    c = subprocess.run([funnelctl_bin(), "-c", str(config), "status"],
                       capture_output=True, text=True, timeout=60)
    assert c.returncode != 0, c.stdout
    assert f"cannot connect to redis at unix socket {missing}" in c.stderr, \
        c.stderr


def test_socket_path_too_long():
    long_path = "/tmp/" + "s" * 120 + "/redis.sock"
    setup, config = socket_setup("redis_socket_long", long_path)
    p = fdit.Process([fdit.funneld_bin(), "--check-config", str(config)],
                     fdit.work_dir() / "check-long.log")
    rc = p.wait(timeout=30)
    log = p.log_text()
    assert rc == 1, f"exit code {rc}\n{log}"
    assert f"redis.socket is {len(long_path)} bytes long; a Unix socket " \
        "path can have at most 107" in log, log


if __name__ == "__main__":
    fdit.main(globals())
