"""Runs inside a sandbox: tries each action of its JSON argument and prints what happened.

Each outcome is "ok", or the errno name / exception name that stopped the action.
"""

import errno
import json
import os
import socket
import subprocess
import sys


def outcome(action):
    try:
        action()
    except OSError as exc:
        return (
            errno.errorcode.get(exc.errno, type(exc).__name__) if exc.errno else type(exc).__name__
        )
    except MemoryError:
        return "MemoryError"
    return "ok"


def forks(count):
    """ "ok" when ``count`` children could be forked at once, else the errno that stopped it."""
    children = []
    try:
        for _ in range(count):
            pid = os.fork()
            if pid == 0:
                os.close(writer)
                os.read(reader, 1)  # wait until the parent is done forking
                os._exit(0)
            children.append(pid)
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, "OSError")
    finally:
        os.close(writer)
        for pid in children:
            os.waitpid(pid, 0)


reader, writer = os.pipe()


def main():
    cfg = json.loads(sys.argv[1])
    found = {}

    def read(path):
        with open(path) as handle:
            handle.read()

    def write(path):
        with open(path, "w") as handle:
            handle.write("written from the sandbox")

    def tcp(port):
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass

    def unix(path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        finally:
            sock.close()

    def udp():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.sendto(b"x", ("127.0.0.1", 9))
        finally:
            sock.close()

    def run(path):
        subprocess.run([path], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def allocate():
        block = bytearray(cfg["alloc_mb"] * 1024 * 1024)
        block[-1] = 1

    found["read_grant"] = outcome(lambda: read(cfg["read_ok"]))
    found["write_grant"] = outcome(lambda: write(cfg["write_ok"]))
    found["write_outside"] = outcome(lambda: write(cfg["write_outside"]))
    found["write_into_read_grant"] = outcome(lambda: write(cfg["write_read_only"]))
    found["read_outside"] = outcome(lambda: read(cfg["read_outside"]))
    for port in cfg["tcp"]:
        found[f"tcp_{port}"] = outcome(lambda port=port: tcp(port))
    found["unix_postgres"] = outcome(lambda: unix(cfg["unix"]))
    found["udp"] = outcome(udp)
    found["exec_allowed"] = outcome(lambda: run(cfg["exec_allowed"]))
    found["exec_denied"] = outcome(lambda: run(cfg["exec_denied"]))
    found["memory"] = outcome(allocate)
    found["processes"] = forks(cfg["forks"])
    found["open_files"] = outcome(
        lambda: [os.open(os.devnull, os.O_RDONLY) for _ in range(cfg["files"])]
    )
    found["env_allowed"] = os.environ.get("ALLOWED_ENV", "absent")
    found["env_denied"] = os.environ.get("DENIED_ENV", "absent")
    found["uid"] = os.getuid()
    print(json.dumps(found))


main()
