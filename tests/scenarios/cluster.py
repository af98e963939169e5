"""An iphttps cluster behind a real HAProxy, in network namespaces.

Standard library only; builds on netns.Topology (its namespace naming,
process handling, client hosts and teardown).  Documentation ranges only:

    cli1..N eth0 198.51.100.x ---+
                                 +-- br0 198.51.100.1  net (IPv4 "internet")
                                      eth1 203.0.113.1
                                        |
                          lb  eth0 203.0.113.2 (HAProxy, TLS on :443)
                              brb  192.0.2.1/24 (backend network)
                               /                \\
            n1 eth0 192.0.2.11 :80          n2 eth0 192.0.2.12 :80
               iphttps server                  iphttps server
               --transport http                --transport http
               prefix 2001:db8:100::/64        prefix 2001:db8:100:1::/64
               eth1 2001:db8:1::11             eth1 2001:db8:1::12
                               \\                /
                          ins  br0 2001:db8:1::2/64 (inside host, a bridge
                               with one port per node)

The node prefixes are the first two /64s of the cluster's /59
(2001:db8:100::/59), as Windows load-balanced clusters use one /64 per node.
tests/scenarios/test_doc_haproxy.py runs docs/deploy-haproxy.md and
docs/deploy-cluster.md on it: HAProxy, the nodes and the clients are the
pages' own commands, and so are the inside host's return routes and the
clients' hosts entries.
"""

import ipaddress

import netns

LB_V4 = netns.SERVER_V4                       # 203.0.113.2, iphttps.test
LB_BACKEND = "192.0.2.1"
INSIDE_HOST = netns.INSIDE_HOST               # 2001:db8:1::2
CLUSTER_PREFIX = ipaddress.ip_network("2001:db8:100::/59")


class NodeSpec:
    """Addresses of cluster node i (1-based): backend IPv4, inside IPv6, /64."""

    def __init__(self, i):
        self.i = i
        self.host = "n%d" % i
        self.backend = "192.0.2.%d" % (10 + i)
        self.inside = "2001:db8:1::%d" % (10 + i)
        self.prefix = list(CLUSTER_PREFIX.subnets(new_prefix=64))[i - 1]


NODES = [NodeSpec(1), NodeSpec(2)]


# ---- topology ------------------------------------------------------------

class ClusterTopology(netns.Topology):
    """net, lb, n1, n2, ins as drawn above, client hosts with add_client();
    without the inside host's return routes and the clients' hosts entry,
    which the pages' commands make."""

    def build(self):
        """Create the namespaces and links (no client host yet)."""
        for h in ["net", "lb"] + [n.host for n in NODES] + ["ins"]:
            self._add_ns(h)
        # net: the IPv4 "internet"; client hosts hang off br0.
        self._bridge("net", "br0", "02:00:00:00:01:01")
        self.run("net", ["ip", "addr", "add", netns.NET_CLIENT_SIDE + "/24",
                         "dev", "br0"])
        self.run("net", ["ip", "link", "set", "br0", "up"])
        self.sysctl("net", "net.ipv4.ip_forward", 1)
        # net <-> lb (the balancer's public address)
        self._veth("net", "eth1", "lb", "eth0")
        self._addr_up("net", "eth1", netns.NET_SERVER_SIDE + "/24")
        self._addr_up("lb", "eth0", LB_V4 + "/24")
        self.run("lb", ["ip", "route", "add", "default",
                        "via", netns.NET_SERVER_SIDE])
        # lb: the backend network, a bridge with one port per node.
        self._bridge("lb", "brb", "02:00:00:00:01:02")
        self._addr_up("lb", "brb", LB_BACKEND + "/24")
        # ins: the inside segment, a bridge with one port per node.
        self._bridge("ins", "br0", "02:00:00:00:01:03")
        self._addr_up("ins", "br0", INSIDE_HOST + "/64")
        for n in NODES:
            self._veth("lb", "b%d" % n.i, n.host, "eth0")
            self.run("lb", ["ip", "link", "set", "b%d" % n.i, "master", "brb",
                            "up"])
            self._addr_up(n.host, "eth0", n.backend + "/24")
            self._veth("ins", "p%d" % n.i, n.host, "eth1")
            self.run("ins", ["ip", "link", "set", "p%d" % n.i, "master",
                             "br0", "up"])
            self._addr_up(n.host, "eth1", n.inside + "/64")

    def _bridge(self, host, dev, mac):
        """A bridge in host with a fixed MAC address.

        Without one, Linux gives a bridge the lowest MAC of its ports, so
        the bridge's address changes when a client host is added; the hosts
        already attached keep the old address in their ARP cache, and their
        frames to it are then dropped (addressed to a port, not to the
        bridge) until the entry expires, 15 to 45 s later."""
        self.run(host, ["ip", "link", "add", dev, "address", mac,
                        "type", "bridge"])

    def _addr_up(self, host, dev, cidr):
        """Add cidr to dev in host (no DAD for IPv6) and set dev up."""
        extra = ["nodad"] if ":" in cidr else []
        self.run(host, ["ip", "addr", "add", cidr, "dev", dev] + extra)
        self.run(host, ["ip", "link", "set", dev, "up"])

    def listening(self, host, port):
        """True when something in host listens on TCP port."""
        p = self.run(host, ["ss", "-Hltn", "sport = :%d" % port], check=False)
        return p.returncode == 0 and bool(p.stdout.strip())

    def _write_hosts(self, name):
        """Client hosts get no hosts file: the pages' commands make it."""
        return None
