#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal, as a user at a terminal would.

Usage: pty-run.py JSON, where JSON is
  {"argv": [...], "rows": R, "cols": C, "timeout": S,
   "steps": [{"wait": REGEX} | {"send": TEXT} | {"resize": [R, C]} | {"sleep": S} | {"mode": NAME} | {"signal": NUM}]}
The command gets the pty's slave as its controlling terminal and stdio. A
"wait" blocks until the output so far matches; "mode" records whether the
terminal is in raw mode (no ICANON, no ECHO) at that point under NAME.
Prints JSON: output, exitCode, modes, and restored (the terminal's
attributes after the command equal those before it).
"""
import json, os, pty, re, select, signal, struct, subprocess, sys, termios, time, fcntl

cfg = json.loads(sys.argv[1])
deadline = time.time() + cfg.get("timeout", 60)
master, slave = pty.openpty()
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", cfg.get("rows", 24), cfg.get("cols", 80), 0, 0))
before = termios.tcgetattr(slave)


def controlling_tty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


proc = subprocess.Popen(cfg["argv"], stdin=slave, stdout=slave, stderr=slave, preexec_fn=controlling_tty, close_fds=True)
out = b""
modes = {}


def pump(wait):
    global out
    r, _, _ = select.select([master], [], [], wait)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:
            return False
        out += data
    return True


def fail(msg):
    proc.kill()
    print(json.dumps({"error": msg, "output": out.decode("utf-8", "replace"), "exitCode": None, "modes": modes, "restored": None}))
    sys.exit(0)


for step in cfg.get("steps", []):
    if "wait" in step:
        pattern = re.compile(step["wait"].encode())
        while not pattern.search(out):
            if time.time() > deadline:
                fail("timed out waiting for %r" % step["wait"])
            if proc.poll() is not None and not pump(0.1):
                fail("command exited before %r appeared" % step["wait"])
            pump(0.1)
    elif "send" in step:
        os.write(master, step["send"].encode())
    elif "resize" in step:
        rows, cols = step["resize"]
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    elif "sleep" in step:
        end = time.time() + step["sleep"]
        while time.time() < end:
            pump(0.05)
    elif "signal" in step:
        os.kill(proc.pid, step["signal"])
    elif "mode" in step:
        lflag = termios.tcgetattr(slave)[3]
        modes[step["mode"]] = "raw" if not (lflag & termios.ICANON) and not (lflag & termios.ECHO) else "cooked"

while proc.poll() is None:
    if time.time() > deadline:
        fail("timed out waiting for the command to exit")
    pump(0.1)
while pump(0.1) and select.select([master], [], [], 0)[0]:
    pass
after = termios.tcgetattr(slave)
print(json.dumps({"output": out.decode("utf-8", "replace"), "exitCode": proc.returncode, "modes": modes, "restored": before == after}))
