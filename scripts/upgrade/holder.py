#!/usr/bin/env python3
"""Holds one group's FastCGI socket as its systemd socket unit does (Accept=no) and runs the
function on it as fd 0, the way systemd's service unit does.

    holder.py SOCKET BINFILE LOG PIDFILE [ARGUMENT...]

The function is the binary named in BINFILE. SIGHUP restarts it as `systemctl restart` would:
SIGTERM to the running one (it drains what it accepted), wait for it, start the binary BINFILE
names now. A function that ends by itself is started again a second later (Restart=always,
RestartSec=1). The socket stays open throughout, so nginx's connections wait in its backlog.
SIGUSR1 does the same with a new socket, as restarting the socket unit with its service does
(connections arriving meanwhile are refused): a release whose drain shut the shared socket down
(1.0.0) leaves one no later instance can accept on. PIDFILE holds "<pid> <binary>" of the running
function. SIGTERM stops it and the holder."""
import os
import signal
import socket
import subprocess
import sys
import time

path, binfile, logpath, pidfile = sys.argv[1:5]
arguments = sys.argv[5:]


def listen():
    if os.path.exists(path):
        os.unlink(path)
    made = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    made.bind(path)
    os.chmod(path, 0o666)
    made.listen(1024)
    return made


listener = listen()
wanted = {"restart": False, "stop": False, "socket": False}
signal.signal(signal.SIGHUP, lambda *_: wanted.__setitem__("restart", True))
signal.signal(signal.SIGUSR1, lambda *_: (wanted.__setitem__("socket", True), wanted.__setitem__("restart", True)))
signal.signal(signal.SIGTERM, lambda *_: wanted.__setitem__("stop", True))
log = open(logpath, "ab")


def start():
    with open(binfile) as handle:
        binary = handle.read().strip()
    child = subprocess.Popen([binary] + arguments, stdin=listener.fileno(), stdout=log, stderr=log)
    with open(pidfile + ".partial", "w") as handle:
        handle.write(f"{child.pid} {binary}\n")
    os.replace(pidfile + ".partial", pidfile)
    return child


child = start()
while not wanted["stop"]:
    time.sleep(0.02)
    if wanted["restart"]:
        wanted["restart"] = False
        child.terminate()
        child.wait()
        if wanted["socket"]:
            wanted["socket"] = False
            listener.close()
            listener = listen()
        child = start()
    elif child.poll() is not None:
        time.sleep(1)
        child = start()
child.terminate()
child.wait()
