"""Which process listens on a local TCP port, so an error can name it (Linux's /proc; elsewhere
nothing is found and the caller says how to look)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # the state column of /proc/net/tcp for a listening socket
STOPPED_STATES = {"T", "t"}  # /proc/PID/stat: stopped by a signal (Ctrl-Z, kill -STOP) or by a debugger


@dataclass(frozen=True)
class Listener:
    pid: int
    command: str  # its command line, arguments joined by spaces
    stopped: bool


def listener(port: int) -> Listener | None:
    """The process with a socket listening on `port`, if this user may see it."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for process in PROC.glob("[0-9]*"):
        try:
            if any(link.readlink().name in inodes for link in (process / "fd").iterdir()):
                return _described(process)
        except OSError:  # another user's process, or one that just ended
            continue
    return None


def _listening_inodes(port: int) -> set[str]:
    """The listening sockets on `port`, as /proc/PID/fd names them ("socket:[INODE]")."""
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(f"socket:[{fields[9]}]")
    return found


def _described(process: Path) -> Listener:
    command = (process / "cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    state = (process / "stat").read_text().rsplit(")", 1)[1].split()[0]  # the name in (...) may hold spaces
    return Listener(int(process.name), command, state in STOPPED_STATES)
