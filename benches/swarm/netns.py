"""The bench's private network: namespaces, veths, one bridge, tc shaping.

Layout (every name starts with the run's prefix `scsw-<pid>-`, links with
`scsw<pid>`, so parallel runs and everything else on the machine are left
alone):

    <prefix>br            a namespace holding only the bridge `scsw<pid>br`
    <prefix>cl            the client: swarmcast / rqbit / the players
    <prefix>s1 .. s4      one seeder each, behind `tbf` on its veth's egress

All addresses are in 10.213.0.0/24 inside these namespaces; none of them has
a route anywhere else and the root namespace is never touched, so no packet
can leave the machine. `enter(ns)` moves the calling thread into a
namespace (setns through ctypes) so the bench's own sockets live there.
"""
import contextlib
import ctypes
import json
import os
import subprocess

CLONE_NEWNET = 0x40000000
SUBNET = "10.213.0"
CLIENT_IP = f"{SUBNET}.2"
_libc = ctypes.CDLL(None, use_errno=True)


def run(*args, check=True):
    return subprocess.run(args, check=check, timeout=30, capture_output=True, text=True)


def no_ipv6(ns, dev):
    """No IPv6 on a bridge port: no router solicitations or MLD on the bridge
    (loopback keeps ::1 for programs that bind [::])."""
    run("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


class Net:
    """Creates the namespaces on `up()`, deletes every one on `down()`."""

    def __init__(self, n_seeders, prefix=None):
        pid = os.getpid()
        self.prefix = prefix or f"scsw-{pid}-"
        self.link = f"scsw{pid}"
        self.bridge_ns = self.prefix + "br"
        self.client_ns = self.prefix + "cl"
        self.seeder_ns = [f"{self.prefix}s{i + 1}" for i in range(n_seeders)]
        self.made = []
        self.home = None  # fd of the namespace we started in

    def seeder_ip(self, i):
        return f"{SUBNET}.{11 + i}"

    def seeder_dev(self, i):
        return f"{self.link}s{i + 1}"

    def up(self):
        br = self.bridge_ns
        self._add_ns(br)
        run("ip", "-n", br, "link", "add", f"{self.link}br", "type", "bridge")
        no_ipv6(br, f"{self.link}br")
        run("ip", "-n", br, "link", "set", f"{self.link}br", "up")
        self._attach(self.client_ns, f"{self.link}c", CLIENT_IP)
        for i, ns in enumerate(self.seeder_ns):
            self._attach(ns, self.seeder_dev(i), self.seeder_ip(i))

    def _add_ns(self, ns):
        run("ip", "netns", "add", ns)
        self.made.append(ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")

    def _attach(self, ns, dev, ip):
        """A namespace with one veth `dev` into the bridge (peer `dev`+b)."""
        self._add_ns(ns)
        br = self.bridge_ns
        run("ip", "-n", br, "link", "add", dev + "b", "type", "veth", "peer", "name", dev,
            "netns", ns)
        run("ip", "-n", br, "link", "set", dev + "b", "master", f"{self.link}br")
        run("ip", "-n", br, "link", "set", dev + "b", "up")
        no_ipv6(br, dev + "b")
        no_ipv6(ns, dev)
        run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
        run("ip", "-n", ns, "link", "set", dev, "up")

    def client_aliases(self, n):
        """n more addresses on the client's veth (10.213.0.100 …); returns them."""
        ips = [f"{SUBNET}.{100 + k}" for k in range(n)]
        for ip in ips:
            run("ip", "-n", self.client_ns, "addr", "add", f"{ip}/24", "dev", f"{self.link}c")
        return ips

    def shape(self, i, rate, change=False):
        """tbf on seeder i's egress; `rate` in tc units, e.g. "4mbit"."""
        run("tc", "-n", self.seeder_ns[i], "qdisc", "change" if change else "add",
            "dev", self.seeder_dev(i), "root", "handle", "10:", "tbf", "rate", rate,
            "burst", "32kb", "latency", "400ms")

    def client_rx_bytes(self):
        """Bytes the client's veth has received (IP headers included): a
        check on the relays' counts."""
        out = run("ip", "-n", self.client_ns, "-s", "-j", "link", "show", "dev",
                  f"{self.link}c").stdout
        return json.loads(out)[0]["stats64"]["rx"]["bytes"]

    def exec_prefix(self, ns):
        return ["ip", "netns", "exec", ns]

    @contextlib.contextmanager
    def enter(self, ns):
        """Run the block's socket calls (this thread) inside namespace `ns`."""
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            setns(f"/run/netns/{ns}")
            yield
        finally:
            if _libc.setns(back, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back failed")
            os.close(back)

    def move_into(self, ns):
        """Move this (main) thread into `ns` for good; `leave()` returns."""
        if self.home is None:
            self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        setns(f"/run/netns/{ns}")

    def leave(self):
        if self.home is not None:
            _libc.setns(self.home, CLONE_NEWNET)
            os.close(self.home)
            self.home = None

    def down(self):
        """Delete every namespace made (their veths and the bridge go too)."""
        self.leave()
        for ns in reversed(self.made):
            run("ip", "netns", "del", ns, check=False)
        self.made = []
