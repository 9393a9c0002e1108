#!/usr/bin/env python3
"""An mDNS browser for the end-to-end tests (python-zeroconf, a real
DNS-SD client): does swarmcast announce itself, and does it withdraw the
announcement when it stops?

  mdns.py find  TYPE PREFIX PORT PATH [TIMEOUT]
      Browse TYPE (e.g. `_http._tcp.local.`) on every interface of the
      network namespace it runs in for at most TIMEOUT s (default 15) until
      an instance whose name starts with PREFIX resolves with port PORT and
      TXT `path` = PATH. Prints what it found; exit 0, else why not and 1.
  mdns.py watch TYPE PREFIX PORT [TIMEOUT]
      Find such an instance (port PORT, any path) within TIMEOUT s (default
      30), print `found NAME ...` (flushed, for a script waiting on it), then
      keep browsing: exit 0 when the instance is removed (its goodbye, TTL 0),
      or 1 after TIMEOUT s more without it.

IPv4 only (224.0.0.251): the namespaces of the tests route that group out
of their veth. Registers nothing, so it never answers or announces.
"""
import queue
import sys
import time

from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceStateChange,
    Zeroconf,
)


def say(text):
    print(text, flush=True)


def usage():
    say(__doc__.strip())
    sys.exit(2)


def text_of(value):
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class Browse:
    """One browser of TYPE whose events land in a queue, read by the main
    thread (resolving in the browser's own callback would hold it up)."""

    def __init__(self, service_type):
        self.type = service_type
        self.events = queue.Queue()
        self.zc = Zeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
        self.browser = ServiceBrowser(self.zc, service_type, handlers=[self._on_change])

    def _on_change(self, zeroconf, service_type, name, state_change):
        self.events.put((name, state_change))

    def next_event(self, deadline):
        """The next (name, change) before `deadline` (time.monotonic()), or None."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            return self.events.get(timeout=min(left, 0.5))
        except queue.Empty:
            return ("", None)

    def resolve(self, name, deadline):
        """The instance's ServiceInfo (SRV, TXT, addresses), or None."""
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            return None
        return self.zc.get_service_info(self.type, name, timeout=min(left_ms, 3000))

    def close(self):
        self.browser.cancel()
        self.zc.close()


def describe(info):
    props = {text_of(k): text_of(v) for k, v in (info.properties or {}).items()}
    return "%s port=%s host=%s addresses=%s txt=%s" % (
        info.name, info.port, info.server, ",".join(info.parsed_addresses()), props)


def check(info, port, path):
    """Why the instance is not what is wanted, or None when it is."""
    if info.port != port:
        return "port %s, expected %s" % (info.port, port)
    if path is not None:
        got = text_of((info.properties or {}).get(b"path"))
        if got != path:
            return "TXT path=%r, expected %r" % (got, path)
    return None


def find(browse, prefix, port, path, deadline):
    """Wait for a matching instance; its ServiceInfo, or (None, why)."""
    why = "no instance of %s starting with %r seen" % (browse.type, prefix)
    pending = set()  # names seen, not yet resolved (again after an update)
    wrong = {}  # name → why it is not the instance wanted
    while True:
        event = browse.next_event(deadline)
        if event is None:
            return None, "; ".join(wrong.values()) or why
        name, change = event
        if change in (ServiceStateChange.Added, ServiceStateChange.Updated) and name.startswith(prefix):
            pending.add(name)
        elif change is ServiceStateChange.Removed:
            pending.discard(name)
            wrong.pop(name, None)
        for candidate in sorted(pending):
            info = browse.resolve(candidate, deadline)
            if info is None:
                why = "%s seen but did not resolve (SRV/TXT)" % candidate
                continue
            pending.discard(candidate)
            reason = check(info, port, path)
            if reason is None:
                return info, None
            wrong[candidate] = "%s: %s (%s)" % (candidate, reason, describe(info))


def main(argv):
    if len(argv) < 2 or argv[1] not in ("find", "watch"):
        usage()
    mode = argv[1]
    args = argv[2:]
    if mode == "find" and len(args) not in (4, 5):
        usage()
    if mode == "watch" and len(args) not in (3, 4):
        usage()
    service_type, prefix, port = args[0], args[1], int(args[2])
    if mode == "find":
        path = args[3]
        timeout = float(args[4]) if len(args) == 5 else 15.0
    else:
        path = None
        timeout = float(args[3]) if len(args) == 4 else 30.0

    browse = Browse(service_type)
    try:
        info, why = find(browse, prefix, port, path, time.monotonic() + timeout)
        if info is None:
            say("not found within %gs: %s" % (timeout, why))
            return 1
        say("found %s" % describe(info))
        if mode == "find":
            return 0
        # The goodbye: the browser reports Removed once a TTL-0 record of
        # the instance arrives.
        deadline = time.monotonic() + timeout
        while True:
            event = browse.next_event(deadline)
            if event is None:
                say("%s was not withdrawn within %gs" % (info.name, timeout))
                return 1
            name, change = event
            if change is ServiceStateChange.Removed and name == info.name:
                say("removed %s" % name)
                return 0
    finally:
        browse.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
