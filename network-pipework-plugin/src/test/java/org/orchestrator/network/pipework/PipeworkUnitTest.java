package org.orchestrator.network.pipework;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.Ipv6Prefix;
import org.orchestrator.api.network.NetworkException;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.network.pipework.NftIsolation.Pair;

/** Framework-free tests of names, aliases, validation, parsing and the generated nftables input. */
class PipeworkUnitTest {

    private static final Ipv6Prefix PREFIX = Ipv6Prefix.parse("fd00:70:1::/64");
    private static final Inet6Address PEER = Identifiers.ipv6("fd00:70:ff::11");

    static PipeworkSettings settings(Addressing addressing) {
        return settings(addressing, Path.of("/tmp/orch-pw-unit"));
    }

    static PipeworkSettings settings(Addressing addressing, Path stateDirectory) {
        return new PipeworkSettings("net-a", "opw-br0", PREFIX, PipeworkSettings.defaultGateway(PREFIX), "eth1", 1500,
                MacScheme.HASH, addressing, true, "opw-dev0", Ipv6Prefix.parse("fd00:70:ff::/64"), "opw", "orch-pw-a",
                stateDirectory, Duration.ofSeconds(5), true);
    }

    @Test
    void hostInterfaceNamesAreShortStableAndDistinct() {
        PipeworkSettings s = settings(Addressing.STATIC);
        assertThat(s.hostInterface("instance-1")).hasSize(15).startsWith("opw").isEqualTo(s.hostInterface("instance-1"));
        assertThat(s.hostInterface("instance-1")).isNotEqualTo(s.hostInterface("instance-2"));
        PipeworkSettings other = new PipeworkSettings("net-b", "opw-br0", PREFIX, PipeworkSettings.defaultGateway(PREFIX), "eth1",
                1500, MacScheme.HASH, Addressing.STATIC, true, null, null, "opw", "orch-pw-b", Path.of("/tmp"), Duration.ofSeconds(5), true);
        assertThat(other.hostInterface("instance-1")).as("same instance id on another network").isNotEqualTo(s.hostInterface("instance-1"));
    }

    @Test
    void derivedMacIsLocallyAdministeredUnicastAndStable() {
        PipeworkSettings s = settings(Addressing.STATIC);
        String mac = s.derivedMac("x").value();
        int first = Integer.parseInt(mac.substring(0, 2), 16);
        assertThat(first & 0x02).isEqualTo(2);
        assertThat(first & 0x01).isZero();
        assertThat(s.derivedMac("x")).isEqualTo(s.derivedMac("x")).isNotEqualTo(s.derivedMac("y"));
        assertThat(s.macFor("x")).isNotNull();
    }

    @Test
    void invalidSettingsAreRejected() {
        assertThatThrownBy(() -> new PipeworkSettings("net", "a-bridge-name-too-long", PREFIX, PipeworkSettings.defaultGateway(PREFIX),
                "eth1", 1500, MacScheme.HASH, Addressing.STATIC, true, null, null, "opw", "t", Path.of("/tmp"), Duration.ofSeconds(5), true))
                .hasMessageContaining("bridge");
        assertThatThrownBy(() -> new PipeworkSettings("net", "br0", PREFIX, Identifiers.ipv6("fd00:71::1"),
                "eth1", 1500, MacScheme.HASH, Addressing.STATIC, true, null, null, "opw", "t", Path.of("/tmp"), Duration.ofSeconds(5), true))
                .hasMessageContaining("gateway");
        assertThatThrownBy(() -> new PipeworkSettings("net", "br0", PREFIX, PipeworkSettings.defaultGateway(PREFIX),
                "eth1;rm", 1500, MacScheme.HASH, Addressing.STATIC, true, null, null, "opw", "t", Path.of("/tmp"), Duration.ofSeconds(5), true))
                .hasMessageContaining("interface name");
        assertThatThrownBy(() -> new PipeworkSettings("net", "br0", PREFIX, PipeworkSettings.defaultGateway(PREFIX),
                "eth1", 1000, MacScheme.HASH, Addressing.STATIC, true, null, null, "opw", "t", Path.of("/tmp"), Duration.ofSeconds(5), true))
                .hasMessageContaining("MTU");
        assertThatThrownBy(() -> new PipeworkSettings("net", "br0", PREFIX, PipeworkSettings.defaultGateway(PREFIX),
                "eth1", 1500, MacScheme.HASH, Addressing.STATIC, true, null, null, "opw", "bad table;", Path.of("/tmp"), Duration.ofSeconds(5), true))
                .hasMessageContaining("table");
        assertThatThrownBy(() -> Addressing.parse("slaac")).hasMessageContaining("static");
        assertThatThrownBy(() -> MacScheme.parse("x")).hasMessageContaining("hash");
        assertThat(PipeworkSettings.defaultTable("lab.net-1")).isEqualTo("orchestrator_lab_net-1");
        assertThat(PipeworkSettings.defaultGateway(PREFIX)).isEqualTo(Identifiers.ipv6("fd00:70:1::1"));
    }

    @Test
    void aliasRoundTripsAndRejectsForeignText() {
        LinkAlias alias = new LinkAlias("net-a", "inst-1", Identifiers.ipv6("fd00:70:1::2"), null);
        assertThat(alias.encode()).isEqualTo("orchestrator net=net-a id=inst-1 addr=fd00:70:1::2 peer=-");
        assertThat(LinkAlias.parse(alias.encode())).contains(alias);
        LinkAlias withPeer = alias.withPeer(Identifiers.ipv6("fd00:70:ff::11"));
        assertThat(LinkAlias.parse(withPeer.encode())).contains(withPeer);
        assertThat(LinkAlias.parse("some admin's note")).isEmpty();
        assertThat(LinkAlias.parse("orchestrator net=a id=$(reboot) addr=- peer=-")).isEmpty();
        assertThat(LinkAlias.parse("orchestrator net=a id=b addr=not-an-address peer=-")).isEmpty();
        assertThat(LinkAlias.parse(null)).isEmpty();
    }

    @Test
    void addressesAreWrittenCompressed() {
        assertThat(Addresses.text(Identifiers.ipv6("fd00:70:1:0:0:0:0:1"))).isEqualTo("fd00:70:1::1");
        assertThat(Addresses.text(Identifiers.ipv6("fd00:0:0:1:0:0:0:1"))).isEqualTo("fd00:0:0:1::1");
        assertThat(Addresses.text(Identifiers.ipv6("fd00:70:1:2:3:4:5:6"))).isEqualTo("fd00:70:1:2:3:4:5:6");
        assertThat(Addresses.text(Identifiers.ipv6("::"))).isEqualTo("::");
        assertThat(Addresses.text(Identifiers.ipv6("fd00:0:1::"))).isEqualTo("fd00:0:1::");
    }

    @Test
    void namespaceHandlesAreValidated() {
        NetnsTarget pid = NetnsTarget.of(NetnsHandle.ofPid(42));
        assertThat(pid.ipNetns()).isEqualTo("42");
        assertThat(pid.inside("ip", "link")).containsExactly("nsenter", "--net=/proc/42/ns/net", "ip", "link");
        assertThat(NetnsTarget.of(new NetnsHandle(0, Path.of("/run/netns/orch-pw-x"))).ipNetns()).isEqualTo("orch-pw-x");
        assertThat(NetnsTarget.of(new NetnsHandle(0, Path.of("/proc/43/ns/net"))).ipNetns()).isEqualTo("43");
        assertThatThrownBy(() -> NetnsTarget.of(new NetnsHandle(7, Path.of("/proc/8/ns/net")))).isInstanceOf(NetworkException.class);
        assertThatThrownBy(() -> NetnsTarget.of(new NetnsHandle(0, Path.of("/tmp/evil")))).isInstanceOf(NetworkException.class);
        assertThatThrownBy(() -> NetnsTarget.of(new NetnsHandle(0, Path.of("/run/netns/../../etc/passwd")))).isInstanceOf(NetworkException.class);
    }

    @Test
    void linkListingIsParsed() {
        String out = "6: opwexh@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noop master opw-br0 state UP mode DEFAULT "
                + "group default qlen 1000\\    link/ether 56:a8:fa:18:45:8f brd ff:ff:ff:ff:ff:ff link-netns x promiscuity 1 \\    veth "
                + "\\    bridge_slave state forwarding hairpin off isolated on locked off \\    alias orchestrator net=n id=i addr=- peer=-\n"
                + "7: eth0: <BROADCAST> mtu 1500\n";
        List<PipeworkAttacher.HostLink> links = PipeworkAttacher.parseLinks(out);
        assertThat(links).hasSize(2);
        assertThat(links.get(0)).isEqualTo(new PipeworkAttacher.HostLink(6, "opwexh", "opw-br0", true, true,
                "orchestrator net=n id=i addr=- peer=-"));
        assertThat(links.get(1).alias()).isNull();
        assertThat(links.get(1).up()).isFalse();
    }

    @Test
    void rulesetIsolatesTheBridgeAndUpdatesAreSetElements() {
        List<String> inputs = new ArrayList<>();
        CommandRunner recorder = (command, stdin) -> {
            inputs.add(String.join(" ", command) + (stdin == null ? "" : "\n" + stdin));
            String listing = "table inet orch-pw-a {\n\tset allowed {\n\t\ttype ipv6_addr . ipv6_addr\n"
                    + "\t\telements = { fd00:70:ff::11 . fd00:70:1::2,\n\t\t\t     fd00:70:ff::12 . fd00:70:1::3 }\n\t}\n}\n";
            return new CommandResult(command, 0, command.contains("list") ? listing : "", "");
        };
        NftIsolation nft = new NftIsolation(recorder, settings(Addressing.STATIC));
        Inet6Address peer = Identifiers.ipv6("fd00:70:ff::11");
        Inet6Address instance = Identifiers.ipv6("fd00:70:1::2");
        String ruleset = nft.ruleset(List.of(new Pair(peer, instance)));
        assertThat(ruleset).startsWith("add table inet orch-pw-a\ndelete table inet orch-pw-a\n")
                .contains("elements = { fd00:70:ff::11 . fd00:70:1::2 }")
                .contains("iifname \"opw-dev0\" oifname \"opw-br0\" ip6 saddr fd00:70:ff::/64 ip6 saddr . ip6 daddr @allowed accept")
                .contains("oifname \"opw-br0\" drop").contains("iifname \"opw-br0\" drop")
                .doesNotContain("udp dport 547");
        assertThat(new NftIsolation(recorder, settings(Addressing.DHCP)).ruleset(List.of())).contains("udp dport 547 accept")
                .doesNotContain("elements");
        assertThat(nft.pairs()).containsExactly(new Pair(peer, instance),
                new Pair(Identifiers.ipv6("fd00:70:ff::12"), Identifiers.ipv6("fd00:70:1::3")));
        inputs.clear();
        nft.allow(new Pair(peer, instance));
        assertThat(inputs).containsExactly("nft -f -\nadd element inet orch-pw-a allowed { fd00:70:ff::11 . fd00:70:1::2 }\n");
        inputs.clear();
        nft.revoke(Set.of(instance), null);
        assertThat(inputs).containsExactly("nft list set inet orch-pw-a allowed",
                "nft -f -\ndelete element inet orch-pw-a allowed { fd00:70:ff::11 . fd00:70:1::2 }\n");
    }

    @Test
    void commandFailuresNameTheCommandAndItsStderr() {
        ProcessCommandRunner runner = new ProcessCommandRunner(Duration.ofSeconds(5));
        assertThatThrownBy(() -> runner.check("sh", "-c", "echo broken >&2; exit 3"))
                .isInstanceOf(NetworkException.class).hasMessageContaining("[sh, -c,").hasMessageContaining("exit code 3")
                .hasMessageContaining("broken");
        assertThat(runner.checkWithInput("hello", "cat")).isEqualTo("hello");
        ProcessCommandRunner quick = new ProcessCommandRunner(Duration.ofMillis(300));
        assertThatThrownBy(() -> quick.check("sleep", "5")).isInstanceOf(NetworkException.class)
                .hasMessageContaining("did not finish").matches(e -> ((NetworkException) e).isTransient());
    }

    @Test
    void standardInputIsFedAndBoundedByTheTimeout() {
        ProcessCommandRunner runner = new ProcessCommandRunner(Duration.ofSeconds(5));
        CommandResult failed = runner.run(List.of("sh", "-c", "read line; echo \"got $line\" >&2; exit 4"), "batch line\n");
        assertThat(failed.exitCode()).isEqualTo(4);
        assertThat(failed.stderr()).isEqualTo("got batch line\n");
        // more than a pipe holds, to a process that reads none of it: the timeout still applies
        String big = "x".repeat(1 << 20);
        assertThat(runner.run(List.of("true"), big).ok()).isTrue();
        ProcessCommandRunner quick = new ProcessCommandRunner(Duration.ofMillis(300));
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> quick.checkWithInput(big, "sleep", "5")).isInstanceOf(NetworkException.class)
                .hasMessageContaining("did not finish");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
        assertThat(runner.checkWithInput(big, "wc", "-c").strip()).isEqualTo(Integer.toString(1 << 20));
    }

    @Test
    void ipBatchLinesAreCheckedQuotedAndFailuresNameTheLine() {
        IpBatch batch = new IpBatch().line("link", "add", "opwabc", "mtu", "1500", "type", "veth", "peer", "name", "eth1",
                        "address", "02:aa:bb:cc:dd:ee", "netns", "4242")
                .line("link", "set", "dev", "opwabc", "alias", "orchestrator net=n id=i addr=fd00:70:1::2 peer=-")
                .line("route", "replace", "default", "via", "fd00:70:1::1", "dev", "eth1");
        assertThat(batch.script()).isEqualTo("link add opwabc mtu 1500 type veth peer name eth1 address 02:aa:bb:cc:dd:ee netns 4242\n"
                + "link set dev opwabc alias \"orchestrator net=n id=i addr=fd00:70:1::2 peer=-\"\n"
                + "route replace default via fd00:70:1::1 dev eth1\n");
        for (String hostile : List.of("a\nlink del dev eth0", "a#b", "\"x", "x'", "a\\", "a;b", "$(x)", "", " ", "a\tb")) {
            assertThatThrownBy(() -> new IpBatch().line("link", "set", "dev", hostile)).as(hostile)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        CommandResult failed = new CommandResult(List.of("ip", "-batch", "-"), 1, "",
                "Cannot find device \"opwabc\"\nCommand failed -:2\n");
        assertThat(batch.failedLine(failed)).isEqualTo(2);
        assertThat(batch.failure(failed)).isInstanceOf(NetworkException.class)
                .hasMessage("command [ip, -batch, -] failed with exit code 1 at line 2 of 3 (link set dev opwabc alias"
                        + " \"orchestrator net=n id=i addr=fd00:70:1::2 peer=-\"): Cannot find device \"opwabc\"")
                .matches(e -> !((NetworkException) e).isTransient());
        CommandResult early = new CommandResult(List.of("nsenter", "--net=/proc/1/ns/net", "ip", "-batch", "-"), 1, "",
                "nsenter: cannot open /proc/1/ns/net: No such file or directory\n");
        assertThat(batch.failedLine(early)).isZero();
        assertThat(batch.failure(early)).hasMessageContaining("[nsenter, --net=/proc/1/ns/net, ip, -batch, -] failed with exit code 1"
                        + " in one of 3 lines (link add opwabc ")
                .hasMessageContaining("route replace default via fd00:70:1::1 dev eth1): nsenter: cannot open /proc/1/ns/net: No such file");
        // ip refusing an argument exits without a line number; the line is the one holding the quoted argument
        CommandResult refused = new CommandResult(List.of("ip", "-batch", "-"), 255, "",
                "Error: argument \"fd00:70:1::1\" is wrong: Device does not exist\n");
        assertThat(batch.failedLine(refused)).isEqualTo(3);
        assertThat(batch.failure(refused)).hasMessageContaining("exit code 255 at line 3 of 3 (route replace default via fd00:70:1::1 dev eth1)");
        CommandResult ambiguous = new CommandResult(List.of("ip", "-batch", "-"), 255, "", "Error: argument \"opwabc\" is wrong\n");
        assertThat(batch.failure(ambiguous)).hasMessageContaining("in one of 3 lines");
    }

    @Test
    void aFreshStaticAttachRunsFourCommandsAndNoLookup(@TempDir Path state) {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        List<String> commands = new ArrayList<>();
        CommandRunner fake = (command, stdin) -> {
            commands.add(String.join(" ", command) + (stdin == null ? "" : "\n" + stdin));
            return new CommandResult(command, 0, "", "");
        };
        InMemoryAddressPool pool = new InMemoryAddressPool();
        PipeworkAttacher attacher = new PipeworkAttacher(settings, fake, pool);
        long pid = ProcessHandle.current().pid();
        Attachment a = attacher.attach(new AttachRequest("i-1", Duid.parse("00:01:02"), NetnsHandle.ofPid(pid), PEER));
        String host = settings.hostInterface("i-1");
        String mac = settings.derivedMac("i-1").value();
        assertThat(a.address()).isEqualTo(Identifiers.ipv6("fd00:70:1::2"));
        assertThat(commands).containsExactly(
                "ip -batch -\n"
                        + "link add " + host + " mtu 1500 type veth peer name eth1 mtu 1500 address " + mac + " netns " + pid + "\n"
                        + "link set dev " + host + " alias \"orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=fd00:70:ff::11\"\n"
                        + "link set dev " + host + " master opw-br0\n"
                        + "link set dev " + host + " type bridge_slave isolated on\n"
                        + "link set dev " + host + " up\n",
                "nsenter --net=/proc/" + pid + "/ns/net sysctl -q -w net.ipv6.conf.all.disable_ipv6=0"
                        + " net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.eth1.disable_ipv6=0 net.ipv6.conf.eth1.accept_dad=0",
                "nsenter --net=/proc/" + pid + "/ns/net ip -6 -batch -\n"
                        + "link set dev lo up\n"
                        + "link set dev eth1 up\n"
                        + "addr replace fd00:70:1::2/64 dev eth1 nodad\n"
                        + "route replace default via fd00:70:1::1 dev eth1\n",
                "nft -f -\nadd element inet orch-pw-a allowed { fd00:70:ff::11 . fd00:70:1::2 }\n");
    }

    @Test
    void aHostBatchFailingHalfwayIsRolledBackAndNamesTheLine(@TempDir Path state) {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        String host = settings.hostInterface("i-1");
        List<String> commands = new ArrayList<>();
        CommandRunner fake = (command, stdin) -> {
            commands.add(String.join(" ", command));
            if (command.contains("-batch")) {
                return new CommandResult(command, 1, "", "Cannot find device \"opw-br0\"\nCommand failed -:3\n");
            }
            return new CommandResult(command, 0, "", "");
        };
        InMemoryAddressPool pool = new InMemoryAddressPool();
        PipeworkAttacher attacher = new PipeworkAttacher(settings, fake, pool);
        assertThatThrownBy(() -> attacher.attach(new AttachRequest("i-1", Duid.parse("00:01:02"),
                NetnsHandle.ofPid(ProcessHandle.current().pid()), PEER)))
                .isInstanceOf(NetworkException.class)
                .hasMessageContaining("at line 3 of 5 (link set dev " + host + " master opw-br0)")
                .hasMessageContaining("Cannot find device");
        assertThat(commands).containsExactly("ip -batch -", "ip link del dev " + host);
        assertThat(pool.allocations("net-a")).isEmpty();
    }

    @Test
    void anExistingHostLinkFoundByCreatingIsRefusedWhenItIsAnotherInstances(@TempDir Path state) {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        String host = settings.hostInterface("i-1");
        List<String> commands = new ArrayList<>();
        boolean[] linkExists = {true};
        CommandRunner fake = (command, stdin) -> {
            commands.add(String.join(" ", command));
            if (command.contains("-batch")) {
                return new CommandResult(command, 2, "", "RTNETLINK answers: File exists\nCommand failed -:1\n");
            }
            if (command.contains("show")) {
                return linkExists[0]
                        ? new CommandResult(command, 0, "9: " + host + "@if2: <BROADCAST,UP> mtu 1500 master opw-br0 \\    "
                                + "alias orchestrator net=net-a id=someone-else addr=fd00:70:1::9 peer=-\n", "")
                        : new CommandResult(command, 1, "", "Device \"" + host + "\" does not exist.");
            }
            return new CommandResult(command, 0, "", "");
        };
        InMemoryAddressPool pool = new InMemoryAddressPool();
        PipeworkAttacher attacher = new PipeworkAttacher(settings, fake, pool);
        AttachRequest request = new AttachRequest("i-1", Duid.parse("00:01:02"), NetnsHandle.ofPid(ProcessHandle.current().pid()), PEER);
        assertThatThrownBy(() -> attacher.attach(request)).isInstanceOf(NetworkException.class)
                .hasMessageContaining("belongs to instance someone-else");
        assertThat(commands).containsExactly("ip -batch -", "ip -o -d link show dev " + host);
        assertThat(pool.allocations("net-a")).as("the attempt's address is released").isEmpty();

        // "File exists" without a host link: the instance end's name is taken inside; a plain failure
        linkExists[0] = false;
        commands.clear();
        assertThatThrownBy(() -> attacher.attach(request)).isInstanceOf(NetworkException.class)
                .hasMessageContaining("at line 1 of 5 (link add " + host).hasMessageContaining("File exists");
        assertThat(commands).containsExactly("ip -batch -", "ip -o -d link show dev " + host, "ip -batch -");
        assertThat(pool.allocations("net-a")).isEmpty();
    }

    @Test
    void attachesOfDifferentInstancesRunAtOnceAndEachGetsItsOwnAddressAndPair(@TempDir Path state) throws Exception {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        InMemoryHost host = new InMemoryHost(settings.nftTable());
        int n = 6;
        // every attach waits inside its host-side ip batch until all of them are there: one attach
        // at a time (a lock around the whole attach) would never get there
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(n);
        CommandRunner meeting = (command, stdin) -> {
            if (command.equals(List.of("ip", "-batch", "-")) && stdin != null && stdin.startsWith("link add")) {
                try {
                    together.await(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new NetworkException("the attaches did not meet: " + e, false, e);
                }
            }
            return host.run(command, stdin);
        };
        InMemoryAddressPool pool = new InMemoryAddressPool();
        PipeworkAttacher attacher = new PipeworkAttacher(settings, meeting, pool);
        NetnsHandle self = NetnsHandle.ofPid(ProcessHandle.current().pid());
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            List<java.util.concurrent.Future<Attachment>> made = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Inet6Address peer = Identifiers.ipv6("fd00:70:ff::" + (0x20 + i));
                String id = "i-" + i;
                made.add(threads.submit(() -> attacher.attach(new AttachRequest(id, Duid.parse("00:01:02"), self, peer))));
            }
            Set<Inet6Address> addresses = new java.util.HashSet<>();
            for (java.util.concurrent.Future<Attachment> f : made) {
                addresses.add(f.get(30, java.util.concurrent.TimeUnit.SECONDS).address());
            }
            assertThat(addresses).as("one address each").hasSize(n);
            assertThat(host.elements()).hasSize(n);
            assertThat(host.links()).hasSize(n);
            assertThat(attacher.list()).hasSize(n);

            List<java.util.concurrent.Future<?>> gone = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = "i-" + i;
                gone.add(threads.submit(() -> attacher.detach(id)));
            }
            for (java.util.concurrent.Future<?> f : gone) {
                f.get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertThat(host.elements()).isEmpty();
            assertThat(host.links()).isEmpty();
            assertThat(pool.allocations("net-a")).isEmpty();
            assertThat(host.unexpected()).isEmpty();
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void detachingAnOrphanKeepsThePairOfTheInstanceThatGotItsAddressAgain(@TempDir Path state) {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        InMemoryHost host = new InMemoryHost(settings.nftTable());
        InMemoryAddressPool pool = new InMemoryAddressPool();
        PipeworkAttacher attacher = new PipeworkAttacher(settings, host, pool);
        NetnsHandle self = NetnsHandle.ofPid(ProcessHandle.current().pid());
        Inet6Address otherPeer = Identifiers.ipv6("fd00:70:ff::12");

        Attachment old = attacher.attach(new AttachRequest("old", Duid.parse("00:01:02"), self, PEER));
        // the store lost the write of old's allocation (H2's write delay): the pool hands the address out again
        pool.release("net-a", "old");
        Attachment young = attacher.attach(new AttachRequest("young", Duid.parse("00:01:03"), self, otherPeer));
        assertThat(young.address()).as("the address handed out twice").isEqualTo(old.address());
        String address = Addresses.text(old.address());
        assertThat(host.elements()).containsExactlyInAnyOrder("fd00:70:ff::11 . " + address, "fd00:70:ff::12 . " + address);

        attacher.detach("old");
        assertThat(host.elements()).as("young's pair survives, old's is gone").containsExactly("fd00:70:ff::12 . " + address);
        assertThat(host.links()).containsExactly(settings.hostInterface("young"));
        assertThat(pool.allocations("net-a")).containsExactly(java.util.Map.entry("young", young.address()));
        assertThat(attacher.list()).extracting(Attachment::instanceId).containsExactly("young");
        assertThat(host.neighboursFlushed()).as("the host resolves the address again, to young's link")
                .containsExactly(address + " dev opw-br0");

        // with no one else holding the address, detach revokes its pair as before
        attacher.detach("young");
        assertThat(host.neighboursFlushed()).hasSize(1);
        assertThat(host.elements()).isEmpty();
        assertThat(host.links()).isEmpty();
        assertThat(pool.allocations("net-a")).isEmpty();
        assertThat(host.unexpected()).isEmpty();
    }

    @Test
    void detachingAnOrphanOfTheSameDeviceKeepsTheSharedPair(@TempDir Path state) {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        InMemoryHost host = new InMemoryHost(settings.nftTable());
        InMemoryAddressPool pool = new InMemoryAddressPool();
        PipeworkAttacher attacher = new PipeworkAttacher(settings, host, pool);
        NetnsHandle self = NetnsHandle.ofPid(ProcessHandle.current().pid());

        // the lost write took the instance row too: core provisioned the same device's client again
        Attachment old = attacher.attach(new AttachRequest("old", Duid.parse("00:01:02"), self, PEER));
        pool.release("net-a", "old");
        Attachment young = attacher.attach(new AttachRequest("young", Duid.parse("00:01:02"), self, PEER));
        assertThat(young.address()).isEqualTo(old.address());
        String pair = "fd00:70:ff::11 . " + Addresses.text(old.address());
        assertThat(host.elements()).containsExactly(pair);

        attacher.detach("old");
        assertThat(host.elements()).as("the pair young needs is old's too: it stays").containsExactly(pair);
        assertThat(host.links()).containsExactly(settings.hostInterface("young"));
        assertThat(host.neighboursFlushed()).containsExactly(Addresses.text(old.address()) + " dev opw-br0");
        assertThat(host.unexpected()).isEmpty();
    }

    // ------------------------------------------------------------ binding a peer to a spare (warm pool)

    private static final Duid DEVICE = Duid.parse("00:01:02");
    private static final NetnsHandle SELF = NetnsHandle.ofPid(ProcessHandle.current().pid());

    /** An attacher over an {@link InMemoryHost}, with every command it runs (and its input) in {@code commands}. */
    private record Recorded(PipeworkSettings settings, InMemoryHost host, InMemoryAddressPool pool, List<String> commands,
                            PipeworkAttacher attacher) {
        static Recorded over(PipeworkSettings settings) {
            InMemoryHost host = new InMemoryHost(settings.nftTable());
            InMemoryAddressPool pool = new InMemoryAddressPool();
            List<String> commands = java.util.Collections.synchronizedList(new ArrayList<>());
            CommandRunner recording = (command, stdin) -> {
                commands.add(String.join(" ", command) + (stdin == null ? "" : "\n" + stdin));
                return host.run(command, stdin);
            };
            return new Recorded(settings, host, pool, commands, new PipeworkAttacher(settings, recording, pool));
        }
    }

    private static Attachment spare(PipeworkAttacher attacher, String id, NetnsHandle netns) {
        Attachment spare = attacher.attach(new AttachRequest(id, PoolingProvider.UNASSIGNED, netns, null));
        assertThat(spare.peer()).isNull();
        return spare;
    }

    private static InstanceRecordStore.InstanceRecord record(Path state, String id) {
        return new InstanceRecordStore(state.resolve("instances")).read(id).orElseThrow();
    }

    @Test
    void bindingAPeerToASpareAddsOnlyTheElementAndTheAlias(@TempDir Path state) {
        Recorded r = Recorded.over(settings(Addressing.STATIC, state));
        String link = r.settings().hostInterface("i-1");

        Attachment spare = spare(r.attacher(), "i-1", SELF);
        assertThat(r.commands()).as("a spare: host batch, sysctl, inside batch; no element without a peer").hasSize(3);
        assertThat(r.host().elements()).isEmpty();
        assertThat(r.host().alias(link)).isEqualTo("orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=-");
        r.commands().clear();
        int allocations = r.pool().allocateCalls();

        Attachment claimed = r.attacher().attach(new AttachRequest("i-1", DEVICE, SELF, PEER));

        assertThat(r.commands()).as("side by side").containsExactlyInAnyOrder(
                "nft -f -\nadd element inet orch-pw-a allowed { fd00:70:ff::11 . fd00:70:1::2 }\n",
                "ip link set dev " + link + " alias orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=fd00:70:ff::11");
        assertThat(claimed).isEqualTo(new Attachment("i-1", "net-a", link, "eth1", spare.mac(), spare.address(), 64,
                spare.gateway(), PEER));
        assertThat(r.host().elements()).containsExactly("fd00:70:ff::11 . fd00:70:1::2");
        assertThat(r.host().alias(link)).isEqualTo("orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=fd00:70:ff::11");
        assertThat(r.attacher().list()).extracting(Attachment::instanceId, Attachment::address, Attachment::peer)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("i-1", spare.address(), PEER));
        assertThat(record(state, "i-1").peer()).isEqualTo(PEER);
        assertThat(r.pool().allocateCalls()).as("the recorded address is used, the pool not asked").isEqualTo(allocations);
        assertThat(r.host().unexpected()).isEmpty();
    }

    @Test
    void bindingAPeerWithoutIsolationOnlySetsTheAlias(@TempDir Path state) {
        PipeworkSettings settings = new PipeworkSettings("net-a", "opw-br0", PREFIX, PipeworkSettings.defaultGateway(PREFIX), "eth1",
                1500, MacScheme.HASH, Addressing.STATIC, false, null, null, "opw", "orch-pw-a", state, Duration.ofSeconds(5), true);
        Recorded r = Recorded.over(settings);
        List<String> commands = r.commands();
        PipeworkAttacher attacher = r.attacher();
        spare(attacher, "i-1", SELF);
        commands.clear();

        assertThat(attacher.attach(new AttachRequest("i-1", DEVICE, SELF, PEER)).peer()).isEqualTo(PEER);

        assertThat(commands).containsExactly("ip link set dev " + settings.hostInterface("i-1")
                + " alias orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=fd00:70:ff::11");
        assertThat(r.host().elements()).isEmpty();
        assertThat(record(state, "i-1").peer()).isEqualTo(PEER);
    }

    @Test
    void bindingAPeerToASpareWhoseLinkWasDeletedRevokesThePairAndMakesTheLinkAgain(@TempDir Path state) {
        Recorded r = Recorded.over(settings(Addressing.STATIC, state));
        String link = r.settings().hostInterface("i-1");
        Attachment spare = spare(r.attacher(), "i-1", SELF);
        r.host().deleteBehindTheBack(link);
        r.commands().clear();

        Attachment claimed = r.attacher().attach(new AttachRequest("i-1", DEVICE, SELF, PEER));

        String element = "{ fd00:70:ff::11 . fd00:70:1::2 }\n";
        assertThat(r.commands()).hasSize(9);
        assertThat(r.commands().subList(0, 2)).as("side by side").containsExactlyInAnyOrder(
                "nft -f -\nadd element inet orch-pw-a allowed " + element,
                "ip link set dev " + link + " alias orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=fd00:70:ff::11");
        assertThat(r.commands().subList(2, 5)).containsExactly(
                "nft list set inet orch-pw-a allowed",
                "nft -f -\ndelete element inet orch-pw-a allowed " + element,
                "ip -o -d link show dev " + link);
        assertThat(r.commands().get(5)).startsWith("ip -batch -\nlink add " + link);
        assertThat(r.commands().get(6)).contains("sysctl");
        assertThat(r.commands().get(7)).contains("ip -6 -batch -");
        assertThat(r.commands().get(8)).isEqualTo("nft -f -\nadd element inet orch-pw-a allowed " + element);
        assertThat(claimed.address()).isEqualTo(spare.address());
        assertThat(claimed.peer()).isEqualTo(PEER);
        assertThat(r.host().links()).containsExactly(link);
        assertThat(r.host().alias(link)).isEqualTo("orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=fd00:70:ff::11");
        assertThat(r.host().elements()).containsExactly("fd00:70:ff::11 . fd00:70:1::2");
        assertThat(r.attacher().list()).extracting(Attachment::peer).containsExactly(PEER);
        assertThat(record(state, "i-1").peer()).isEqualTo(PEER);
        assertThat(r.host().unexpected()).isEmpty();
    }

    @Test
    void aFailingAliasRollsTheElementBackAndFails(@TempDir Path state) {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        InMemoryHost host = new InMemoryHost(settings.nftTable());
        List<String> commands = java.util.Collections.synchronizedList(new ArrayList<>());
        CommandRunner refusingAlias = (command, stdin) -> {
            commands.add(String.join(" ", command));
            if (command.size() == 7 && command.get(5).equals("alias")) {
                return new CommandResult(command, 2, "", "RTNETLINK answers: Operation not permitted\n");
            }
            return host.run(command, stdin);
        };
        PipeworkAttacher attacher = new PipeworkAttacher(settings, refusingAlias, new InMemoryAddressPool());
        spare(attacher, "i-1", SELF);
        commands.clear();

        assertThatThrownBy(() -> attacher.attach(new AttachRequest("i-1", DEVICE, SELF, PEER)))
                .isInstanceOf(NetworkException.class).hasMessageContaining("Operation not permitted")
                .hasMessageContaining("alias");
        assertThat(commands.subList(0, 2)).as("side by side").containsExactlyInAnyOrder("nft -f -", "ip link set dev "
                + settings.hostInterface("i-1") + " alias orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=fd00:70:ff::11");
        assertThat(commands.subList(2, commands.size())).containsExactly("nft list set inet orch-pw-a allowed", "nft -f -");
        assertThat(host.elements()).as("the element is rolled back").isEmpty();
        assertThat(record(state, "i-1").peer()).as("the record still says: no peer").isNull();
        assertThat(host.unexpected()).isEmpty();
    }

    @Test
    void bindingAPeerInAnotherNamespaceTakesTheFullPath(@TempDir Path state) throws Exception {
        Recorded r = Recorded.over(settings(Addressing.STATIC, state));
        Process other = new ProcessBuilder("sleep", "60").start();
        try {
            NetnsHandle elsewhere = NetnsHandle.ofPid(other.pid());
            // control: a spare claimed in its own namespace is bound on the fast path
            spare(r.attacher(), "i-2", elsewhere);
            r.commands().clear();
            r.attacher().attach(new AttachRequest("i-2", DEVICE, elsewhere, Identifiers.ipv6("fd00:70:ff::12")));
            assertThat(r.commands()).hasSize(2);

            String link = r.settings().hostInterface("i-1");
            spare(r.attacher(), "i-1", elsewhere);
            r.commands().clear();
            Attachment claimed = r.attacher().attach(new AttachRequest("i-1", DEVICE, SELF, PEER));

            assertThat(r.commands()).as("looked up, found leading elsewhere, made again in the new namespace")
                    .contains("ip -o -d link show dev " + link,
                            "nsenter --net=/proc/" + ProcessHandle.current().pid() + "/ns/net ip -o link show dev eth1",
                            "ip link del dev " + link)
                    .anyMatch(c -> c.startsWith("ip -batch -\nlink add " + link) && c.contains(" netns "
                            + ProcessHandle.current().pid() + "\n"));
            assertThat(claimed.peer()).isEqualTo(PEER);
            assertThat(r.host().elements()).containsExactlyInAnyOrder("fd00:70:ff::11 . " + Addresses.text(claimed.address()),
                    "fd00:70:ff::12 . fd00:70:1::2");
            assertThat(record(state, "i-1").netns()).isEqualTo(SELF);
            assertThat(r.host().unexpected()).isEmpty();
        } finally {
            other.destroyForcibly();
        }
    }

    @Test
    void theSamePeerAgainOrAnotherPeerTakesTheFullPath(@TempDir Path state) {
        Recorded r = Recorded.over(settings(Addressing.STATIC, state));
        String link = r.settings().hostInterface("i-1");
        String lookup = "ip -o -d link show dev " + link;
        String linkedInto = "nsenter --net=/proc/" + ProcessHandle.current().pid() + "/ns/net ip -o link show dev eth1";
        spare(r.attacher(), "i-1", SELF);
        r.commands().clear();
        r.attacher().attach(new AttachRequest("i-1", DEVICE, SELF, PEER));
        assertThat(r.commands()).as("control: the claim is bound on the fast path").hasSize(2).doesNotContain(lookup);

        r.commands().clear();
        Attachment again = r.attacher().attach(new AttachRequest("i-1", DEVICE, SELF, PEER));
        assertThat(r.commands()).as("same peer again: checked and repaired").startsWith(lookup, linkedInto).hasSize(6)
                .noneMatch(c -> c.startsWith("ip -batch -"));
        assertThat(again.peer()).isEqualTo(PEER);

        Inet6Address otherPeer = Identifiers.ipv6("fd00:70:ff::12");
        r.commands().clear();
        Attachment moved = r.attacher().attach(new AttachRequest("i-1", DEVICE, SELF, otherPeer));
        assertThat(r.commands()).as("another device: the old pair goes").startsWith(lookup, linkedInto)
                .contains("nft -f -\ndelete element inet orch-pw-a allowed { fd00:70:ff::11 . fd00:70:1::2 }\n");
        assertThat(moved.peer()).isEqualTo(otherPeer);
        assertThat(r.host().elements()).containsExactly("fd00:70:ff::12 . fd00:70:1::2");
        assertThat(r.host().alias(link)).endsWith("peer=fd00:70:ff::12");
        assertThat(r.host().unexpected()).isEmpty();
    }

    @Test
    void theNetworkIsolatesExactlyWhenIsolationIsOn() {
        for (boolean on : List.of(true, false)) {
            PipeworkSettings settings = new PipeworkSettings("net-a", "opw-br0", PREFIX, PipeworkSettings.defaultGateway(PREFIX),
                    "eth1", 1500, MacScheme.HASH, Addressing.STATIC, on, null, null, "opw", "orch-pw-a", Path.of("/tmp/orch-pw-unit"),
                    Duration.ofSeconds(5), true);
            PipeworkAttacher attacher = new PipeworkAttacher(settings, new InMemoryHost("orch-pw-a"), new InMemoryAddressPool());
            assertThat(attacher.isolates()).as("isolation %s", on).isEqualTo(on);
            // the DS component is the registered service object: it must answer, not inherit the default (false)
            org.orchestrator.api.network.NetworkAttacher service = new PipeworkNetwork(attacher);
            assertThat(service.isolates()).as("service, isolation %s", on).isEqualTo(on);
        }
    }

    @Test
    void inMemoryPoolHandsOutEachAddressOnce() {
        InMemoryAddressPool pool = new InMemoryAddressPool();
        Set<Inet6Address> excluded = Set.of(PipeworkSettings.defaultGateway(PREFIX), PREFIX.network());
        Inet6Address a = pool.allocate("n", "a", PREFIX, excluded);
        Inet6Address b = pool.allocate("n", "b", PREFIX, excluded);
        assertThat(a).isEqualTo(Identifiers.ipv6("fd00:70:1::2"));
        assertThat(b).isNotEqualTo(a);
        assertThat(pool.allocate("n", "a", PREFIX, excluded)).isEqualTo(a);
        pool.release("n", "a");
        assertThat(pool.allocations("n")).containsOnlyKeys("b");
    }

    @Test
    void configurationMapsToSettingsWithDefaults() {
        PipeworkNetwork.Config config = config(java.util.Map.of("network_name", "lab", "prefix", "fd00:70:9::/64"));
        PipeworkSettings s = PipeworkNetwork.settings(config);
        assertThat(s.network()).isEqualTo("lab");
        assertThat(s.gateway()).isEqualTo(Identifiers.ipv6("fd00:70:9::1"));
        assertThat(s.nftTable()).isEqualTo("orchestrator_lab");
        assertThat(s.addressing()).isEqualTo(Addressing.STATIC);
        assertThat(s.macScheme()).isEqualTo(MacScheme.HASH);
        assertThat(s.isolation()).isTrue();
        assertThat(s.deviceInterface()).isNull();
        assertThat(s.devicePrefix()).isNull();
        assertThat(s.stateDirectory().toString()).endsWith("/orchestrator/pipework/lab");
        assertThatThrownBy(() -> PipeworkNetwork.settings(config(java.util.Map.of("network_name", "lab", "prefix", "fd00:70:9::1/64"))))
                .hasMessageContaining("host bits");
        assertThatThrownBy(() -> PipeworkNetwork.settings(config(java.util.Map.of("network_name", "Lab Net", "prefix", "fd00:70:9::/64"))))
                .hasMessageContaining("name");
    }

    /** A Config as DS would build it: the given values, the annotation's defaults for the rest. */
    private static PipeworkNetwork.Config config(java.util.Map<String, Object> values) {
        return (PipeworkNetwork.Config) java.lang.reflect.Proxy.newProxyInstance(PipeworkNetwork.Config.class.getClassLoader(),
                new Class<?>[] {PipeworkNetwork.Config.class}, (proxy, method, args) -> {
                    Object value = values.get(method.getName());
                    return value != null ? value : method.getDefaultValue();
                });
    }

    @Test
    void anExhaustedPoolFailsAttachBeforeAnyLinkIsMade() {
        List<String> commands = new ArrayList<>();
        CommandRunner fake = (command, stdin) -> {
            commands.add(String.join(" ", command));
            boolean show = command.contains("show");
            return new CommandResult(command, show ? 1 : 0, "", show ? "Device \"x\" does not exist." : "");
        };
        org.orchestrator.api.network.AddressPool exhausted = new InMemoryAddressPool() {
            @Override
            public synchronized Inet6Address allocate(String network, String owner, Ipv6Prefix prefix, Set<Inet6Address> excluded) {
                throw new IllegalStateException("prefix exhausted");
            }
        };
        PipeworkAttacher attacher = new PipeworkAttacher(settings(Addressing.STATIC), fake, exhausted);
        NetnsHandle self = NetnsHandle.ofPid(ProcessHandle.current().pid());
        assertThatThrownBy(() -> attacher.attach(new org.orchestrator.api.network.AttachRequest("i-1",
                org.orchestrator.api.lease.Duid.parse("00:01:02"), self, null)))
                .isInstanceOf(NetworkException.class).hasMessageContaining("prefix exhausted")
                .matches(e -> ((NetworkException) e).isTransient());
        assertThat(commands).noneMatch(c -> c.startsWith("ip link add"));
        assertThatThrownBy(() -> attacher.detach("bad id; reboot")).isInstanceOf(NetworkException.class)
                .hasMessageContaining("invalid instance id");
    }

    @Test
    void aFailingElementPutsTheAliasBackAndFails(@TempDir Path state) {
        PipeworkSettings settings = settings(Addressing.STATIC, state);
        InMemoryHost host = new InMemoryHost(settings.nftTable());
        java.util.concurrent.atomic.AtomicBoolean refuse = new java.util.concurrent.atomic.AtomicBoolean();
        CommandRunner refusingElement = (command, stdin) -> {
            if (refuse.get() && command.get(0).equals("nft") && stdin != null && stdin.startsWith("add element")) {
                return new CommandResult(command, 1, "", "Error: Could not process rule: No buffer space available\n");
            }
            return host.run(command, stdin);
        };
        PipeworkAttacher attacher = new PipeworkAttacher(settings, refusingElement, new InMemoryAddressPool());
        String link = settings.hostInterface("i-1");
        spare(attacher, "i-1", SELF);
        refuse.set(true);

        assertThatThrownBy(() -> attacher.attach(new AttachRequest("i-1", DEVICE, SELF, PEER)))
                .isInstanceOf(NetworkException.class).hasMessageContaining("No buffer space");
        assertThat(host.alias(link)).as("the alias set beside the element is put back")
                .isEqualTo("orchestrator net=net-a id=i-1 addr=fd00:70:1::2 peer=-");
        assertThat(host.elements()).isEmpty();
        assertThat(record(state, "i-1").peer()).isNull();

        refuse.set(false);
        assertThat(attacher.attach(new AttachRequest("i-1", DEVICE, SELF, PEER)).peer()).as("a retry binds it").isEqualTo(PEER);
        assertThat(host.elements()).containsExactly("fd00:70:ff::11 . fd00:70:1::2");
    }
}
