package org.orchestrator.dhcp.dnsmasq;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;

/**
 * Runs the real hook script (perl) against the real socket server and lease book: good events,
 * hostile input, the spool while the plugin is down, and {@code init}.
 */
class HookScriptTest {

    private static final String DUID = "00:01:00:01:2c:aa:bb:cc:02:00:00:00:00:01";
    private static final String SERVER_DUID = "00:01:00:01:2c:00:00:01:02:00:00:00:00:fe";
    private static final Path PWNED = Path.of("/tmp/orch-dq-pwned");

    private Path dir;
    private RecordingSink sink;
    private LeaseBook book;
    private HookServer server;

    @BeforeEach
    void setUp() throws IOException {
        assertThat(Path.of("/usr/bin/perl")).as("perl (perl-base) is needed by the hook").exists();
        dir = Files.createTempDirectory(Path.of("/tmp"), "orch-dq-hook-");
        Files2.directory(dir, Files2.OPEN_DIR);
        Files2.directory(dir.resolve("private"), Files2.PRIVATE_DIR);
        DnsmasqSource.installHook(dir.resolve("dnsmasq-hook"));
        sink = new RecordingSink();
        Files.deleteIfExists(PWNED);
        startPlugin();
    }

    @AfterEach
    void tearDown() throws IOException {
        if (server != null) {
            server.close();
        }
        Files2.deleteTree(dir);
        Files.deleteIfExists(PWNED);
    }

    private void startPlugin() {
        book = new LeaseBook("lab", "odq-br0", sink, Clock.systemUTC(), dir.resolve("server-duid"), dir.resolve("private/spool"));
        book.load();
        try {
            server = HookServer.start(dir.resolve("private/hook.sock"), book::handle, "lab");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        book.drainSpool();
    }

    private void stopPlugin() {
        server.close();
        server = null;
    }

    /** The hook's result. */
    record Run(int exit, String out, String err) {
    }

    private Run hook(List<String> args, Map<String, String> env) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(dir.resolve("dnsmasq-hook").toString());
        cmd.addAll(args);
        return run(cmd, env);
    }

    private static Run run(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(15, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("hook did not finish: " + cmd);
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.ISO_8859_1));
    }

    private static Map<String, String> env(String iaid, String expires) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("DNSMASQ_IAID", iaid);
        env.put("DNSMASQ_SERVER_DUID", SERVER_DUID);
        env.put("DNSMASQ_MAC", "02:00:00:00:00:01");
        env.put("DNSMASQ_LEASE_EXPIRES", expires);
        env.put("DNSMASQ_INTERFACE", "odq-br0");
        env.put("DNSMASQ_TAGS", "odq-br0");
        return env;
    }

    private static String future() {
        return Long.toString(Instant.now().plusSeconds(3600).getEpochSecond());
    }

    @Test
    void goodEventReachesTheSinkWithEveryField() throws Exception {
        Run r = hook(List.of("add", DUID, "fd00:71:1::1234", "dev-one"), env("305419896", future()));
        assertThat(r.exit()).isZero();
        LeaseEvent e = sink.await(ev -> true, Duration.ofSeconds(5), "ADDED");
        assertThat(e.type()).isEqualTo(LeaseEventType.ADDED);
        Lease l = e.lease();
        assertThat(l.duid()).isEqualTo(Duid.parse(DUID));
        assertThat(l.iaid()).isEqualTo(305419896L);
        assertThat(l.address()).isEqualTo(Identifiers.ipv6("fd00:71:1::1234"));
        assertThat(l.hostname()).isEqualTo("dev-one");
        assertThat(l.mac().value()).isEqualTo("02:00:00:00:00:01");
        assertThat(l.network()).isEqualTo("odq-br0");
        assertThat(l.source()).isEqualTo("lab");
        assertThat(Files.readString(dir.resolve("server-duid")).strip()).isEqualTo(SERVER_DUID);

        hook(List.of("old", DUID, "fd00:71:1::1234"), env("305419896", future()));
        hook(List.of("del", DUID, "fd00:71:1::1234"), env("305419896", future()));
        sink.awaitAll(ev -> ev.size() == 3, Duration.ofSeconds(5), "three events");
        assertThat(sink.events()).extracting(LeaseEvent::type)
                .containsExactly(LeaseEventType.ADDED, LeaseEventType.RENEWED, LeaseEventType.RELEASED);
        // Replay without client data keeps what was known; unknown actions are ignored.
        assertThat(hook(List.of("tftp", "x", "y"), Map.of()).exit()).isZero();
        assertThat(hook(List.of("arp-add", "02:00:00:00:00:01", "fd00:71:1::9"), Map.of()).exit()).isZero();
        assertThat(sink.events()).hasSize(3);
    }

    @Test
    void delAfterExpiryIsReportedAsExpired() throws Exception {
        String past = Long.toString(Instant.now().minusSeconds(30).getEpochSecond());
        hook(List.of("add", DUID, "fd00:71:1::77"), env("1", future()));
        hook(List.of("del", DUID, "fd00:71:1::77"), env("1", past));
        sink.awaitAll(ev -> ev.size() == 2, Duration.ofSeconds(5), "two events");
        assertThat(sink.events().get(1).type()).isEqualTo(LeaseEventType.EXPIRED);
    }

    @Test
    void hostileInputIsRejectedWithAReasonAndDoesNotBlockAGoodEvent() throws Exception {
        String longHost = "a".repeat(300);
        String longDuid = "00:01:" + "ab:".repeat(1999) + "cd";
        List<List<String>> argvs = List.of(
                List.of("add", "$(touch /tmp/orch-dq-pwned)", "fd00:71:1::1", "h"),
                List.of("add", DUID, "fd00:71:1::1`touch /tmp/orch-dq-pwned`", "h"),
                List.of("add", DUID, "fd00:71:1::1", "h;touch /tmp/orch-dq-pwned"),
                List.of("add", DUID, "fd00:71:1::1", "$(touch /tmp/orch-dq-pwned)"),
                List.of("add", DUID, "fd00:71:1::1", "line\nbreak"),
                List.of("add", DUID, "fd00:71:1::1", longHost),
                List.of("add", longDuid, "fd00:71:1::1"),
                List.of("add", "zz:zz:zz", "fd00:71:1::1"),
                List.of("add", DUID, "192.0.2.1"),
                List.of("add", DUID, "fd00:71:1::1%eth0"),
                List.of("add", DUID, "not-an-address"),
                List.of("add", DUID),
                List.of("add"));
        for (List<String> argv : argvs) {
            Run r = hook(argv, env("7", future()));
            assertThat(r.exit()).as("exit code for %s", argv).isZero();
            assertThat(r.err()).as("reason for %s", argv).contains("plugin refused the event: ERR");
        }
        List<Map<String, String>> envs = List.of(
                Map.of("DNSMASQ_IAID", "$(touch /tmp/orch-dq-pwned)"),
                Map.of("DNSMASQ_IAID", "99999999999"),
                Map.of("DNSMASQ_IAID", "-1"),
                Map.of("DNSMASQ_MAC", "02:00:00:00:00:01;touch /tmp/orch-dq-pwned"),
                Map.of("DNSMASQ_LEASE_EXPIRES", "`touch /tmp/orch-dq-pwned`"),
                Map.of("DNSMASQ_INTERFACE", "eth0\ninjected"),
                Map.of("DNSMASQ_SERVER_DUID", "x".repeat(5000)),
                Map.of("DNSMASQ_TIME_REMAINING", "3600 ; reboot"),
                Map.of("DNSMASQ_DATA_MISSING", "$(touch /tmp/orch-dq-pwned)"));
        for (Map<String, String> bad : envs) {
            Map<String, String> env = env("7", future());
            env.putAll(bad);
            Run r = hook(List.of("add", DUID, "fd00:71:1::2"), env);
            assertThat(r.exit()).isZero();
            assertThat(r.err()).as("reason for %s", bad.keySet()).contains("plugin refused the event: ERR");
        }
        // Non-UTF-8 bytes in an argument and in the environment (raw bytes through sh's printf).
        Run raw = run(List.of("/bin/sh", "-c",
                "DNSMASQ_IAID=7 DNSMASQ_MAC=\"$(printf '\\377\\376')\" exec \"$0\" add \"$(printf '00:01:\\377')\" fd00:71:1::3 \"$(printf 'h\\300\\257')\"",
                dir.resolve("dnsmasq-hook").toString()), Map.of());
        assertThat(raw.err()).contains("plugin refused the event: ERR");
        // Longer than the protocol allows: the hook drops it itself.
        Run big = hook(List.of("add", DUID, "fd00:71:1::4", "h".repeat(70_000)), env("7", future()));
        assertThat(big.exit()).isZero();
        assertThat(big.err()).contains("too long");

        assertThat(PWNED).as("no command was injected").doesNotExist();
        assertThat(sink.events()).as("nothing hostile was delivered").isEmpty();
        assertThat(dir.resolve("private/spool")).as("refused events are not spooled")
                .satisfiesAnyOf(p -> assertThat(p).doesNotExist(), p -> assertThat(p).isEmptyDirectory());

        Run good = hook(List.of("add", DUID, "fd00:71:1::5", "good"), env("7", future()));
        assertThat(good.err()).doesNotContain("ERR");
        LeaseEvent e = sink.await(ev -> true, Duration.ofSeconds(5), "good event after hostile ones");
        assertThat(e.lease().address()).isEqualTo(Identifiers.ipv6("fd00:71:1::5"));
    }

    @Test
    void variablesThePluginDoesNotReadAreNotForwardedSoTheyCannotCostAnEvent() throws Exception {
        // a client chooses its vendor and user classes: 70 kB of them, or more variables than the
        // protocol's 64 records, would make the event too long or refused if the hook sent them
        Map<String, String> env = env("9", future());
        env.put("DNSMASQ_USER_CLASS0", "u".repeat(70_000));
        for (int i = 1; i <= 80; i++) {
            env.put("DNSMASQ_VENDOR_CLASS" + i, "$(touch /tmp/orch-dq-pwned)\377" + i);
        }
        env.put("DNSMASQ_SUPPLIED_HOSTNAME", "bad\nname");
        Run r = hook(List.of("add", DUID, "fd00:71:1::40", "dev40"), env);
        assertThat(r.exit()).isZero();
        assertThat(r.err()).doesNotContain("ERR").doesNotContain("too long").doesNotContain("spooled");
        LeaseEvent e = sink.await(ev -> ev.lease().address().equals(Identifiers.ipv6("fd00:71:1::40")), Duration.ofSeconds(5), "event");
        assertThat(e.lease().hostname()).isEqualTo("dev40");
        assertThat(e.lease().iaid()).isEqualTo(9L);
        assertThat(PWNED).doesNotExist();
    }

    @Test
    void malformedOrSilentPeersDoNotBlockTheServer() throws Exception {
        Path socket = dir.resolve("private/hook.sock");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
        try (SocketChannel silent = SocketChannel.open(StandardProtocolFamily.UNIX);
             SocketChannel garbage = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            silent.connect(UnixDomainSocketAddress.of(socket));
            silent.write(ByteBuffer.wrap("12:action=ad".getBytes(StandardCharsets.US_ASCII)));
            garbage.connect(UnixDomainSocketAddress.of(socket));
            garbage.write(ByteBuffer.wrap("hello\0world\n".getBytes(StandardCharsets.ISO_8859_1)));
            ByteBuffer reply = ByteBuffer.allocate(512);
            long t0 = System.nanoTime();
            while (garbage.read(reply) >= 0 && System.nanoTime() - t0 < 5_000_000_000L) {
                // read until the server closes
            }
            assertThat(new String(reply.array(), 0, reply.position(), StandardCharsets.US_ASCII)).contains("ERR malformed");
            Run good = hook(List.of("add", DUID, "fd00:71:1::6"), env("8", future()));
            assertThat(good.exit()).isZero();
            sink.await(ev -> ev.lease().address().equals(Identifiers.ipv6("fd00:71:1::6")), Duration.ofSeconds(5), "good event");
        }
    }

    @Test
    void eventsWhileThePluginIsDownAreSpooledAndIngestedInOrder() throws Exception {
        stopPlugin();
        hook(List.of("add", DUID, "fd00:71:1::10"), env("1", future()));
        hook(List.of("add", DUID, "fd00:71:1::11"), env("2", future()));
        hook(List.of("del", DUID, "fd00:71:1::10"), env("1", future()));
        // init must succeed (and print nothing) while the plugin is away.
        Run init = hook(List.of("init"), Map.of());
        assertThat(init.exit()).isZero();
        assertThat(init.out()).isEmpty();
        Path spool = dir.resolve("private/spool");
        try (var files = Files.list(spool)) {
            List<Path> evs = files.filter(p -> p.getFileName().toString().endsWith(".ev")).sorted().toList();
            assertThat(evs).hasSize(3);
            for (Path p : evs) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).isEqualTo("rw-------");
            }
        }
        assertThat(sink.events()).isEmpty();

        startPlugin();
        assertThat(sink.events()).extracting(ev -> ev.type() + " " + ev.lease().address().getHostAddress())
                .containsExactly("ADDED fd00:71:1:0:0:0:0:10", "ADDED fd00:71:1:0:0:0:0:11", "RELEASED fd00:71:1:0:0:0:0:10");
        try (var files = Files.list(spool)) {
            assertThat(files.filter(p -> p.getFileName().toString().endsWith(".ev"))).isEmpty();
        }
    }

    @Test
    void storeOutageMakesTheHookSpoolAndTheNextEventCatchesUp() throws Exception {
        sink.setDown(true);
        Run r = hook(List.of("add", DUID, "fd00:71:1::20"), env("1", future()));
        assertThat(r.err()).contains("spooled");
        sink.setDown(false);
        hook(List.of("old", DUID, "fd00:71:1::20"), env("1", future()));
        sink.awaitAll(ev -> ev.size() == 2, Duration.ofSeconds(5), "spooled then live");
        assertThat(sink.events()).extracting(LeaseEvent::type).containsExactly(LeaseEventType.ADDED, LeaseEventType.RENEWED);
    }

    @Test
    void initPrintsTheStoredLeasesInDnsmasqFormat() throws Exception {
        hook(List.of("add", DUID, "fd00:71:1::30", "dev30"), env("42", "1900000000"));
        hook(List.of("add", "00:03:00:01:02:00:00:00:00:02", "fd00:71:1::31"), env("43", "0"));
        sink.awaitAll(ev -> ev.size() == 2, Duration.ofSeconds(5), "two adds");
        Run init = hook(List.of("init"), Map.of());
        assertThat(init.exit()).isZero();
        assertThat(init.out().lines().toList()).containsExactlyInAnyOrder(
                "duid " + SERVER_DUID,
                "1900000000 42 fd00:71:1::30 dev30 " + DUID,
                "0 43 fd00:71:1::31 * 00:03:00:01:02:00:00:00:00:02");
    }
}
