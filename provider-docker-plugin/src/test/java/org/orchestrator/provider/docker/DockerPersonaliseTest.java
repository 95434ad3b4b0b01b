package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import com.github.dockerjava.api.DockerClient;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.ResourceLimits;

/**
 * Warm-pool personalisation against the shared dockerd: in place through {@code /proc/<pid>/root}
 * and through the archive API. Uses only the provider name {@value #NAME}, containers
 * {@code orch-dk-*} and host folders {@code /tmp/orch-dk-escape-*}.
 */
class DockerPersonaliseTest {

    private static final String NAME = "orch-dk-pers";
    private static final int SAMPLES = 12;
    private static final int REMEMBERED_SAMPLES = 20;
    private static final Duration CMD = Duration.ofSeconds(20);
    private static final List<String> FILES = List.of("/www/index.html", "/www/duid", "/etc/orchestrator/client");

    private static DockerClient docker;

    private DockerSettings settings;
    private DockerProvider provider;
    private DockerProvider archiveOnly;
    private Path escape;

    @BeforeAll
    static void daemon() {
        docker = TestSupport.sharedDaemon(NAME);
    }

    @AfterAll
    static void nothingLeftBehind() throws IOException {
        TestSupport.leaveNothing(docker, NAME, () -> { });
    }

    @BeforeEach
    void providers() throws IOException {
        settings = DockerSettings.defaults(NAME, DockerSettings.DEFAULT_HOST).withStopTimeout(Duration.ofSeconds(1));
        provider = new DockerProvider(settings, () -> null);
        archiveOnly = new DockerProvider(settings.withDirectWrite(false), () -> null);
        escape = Files.createDirectory(Path.of("/tmp/orch-dk-escape-" + UUID.randomUUID()));
    }

    @AfterEach
    void close() throws IOException {
        try {
            for (Instance i : provider.list()) {
                provider.destroy(i.id());
            }
            assertThat(provider.list()).isEmpty();
        } finally {
            provider.close();
            archiveOnly.close();
            try (Stream<Path> files = Files.list(escape)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(escape);
        }
    }

    @Test
    void inPlaceWritesExactlyWhatTheArchiveApiWrites() throws Exception {
        Duid client = TestSupport.duid(40);
        String viaArchive = TestSupport.newId("arc");
        String inPlace = TestSupport.newId("dir");
        provider.provision(spare(viaArchive));
        provider.provision(spare(inPlace));

        Instance a = archiveOnly.personalise(claim(viaArchive, client));
        Instance b = provider.personalise(claim(inPlace, client));
        assertThat(archiveOnly.writesThroughArchive()).isEqualTo(1);
        assertThat(archiveOnly.writesInPlace()).isZero();
        assertThat(provider.writesInPlace()).isEqualTo(1);
        assertThat(provider.writesThroughArchive()).isZero();
        String tail = client.hex().substring(client.hex().length() - 12);
        assertThat(b.name()).isEqualTo("orch-" + inPlace + "." + tail);
        assertThat(b.state()).isEqualTo(InstanceState.RUNNING);
        assertThat(b.providerRef()).isEqualTo(provider.inspect(inPlace).orElseThrow().providerRef());

        // same paths, types, modes, owners, sizes and contents; the contents are IdentityArchive's
        Map<String, String> expected = IdentityArchive.files(claim(inPlace, client));
        assertThat(expected.keySet()).containsExactly("www/index.html", "www/duid", "etc/orchestrator/client");
        String statA = stat(a.providerRef());
        assertThat(statA).contains("644 0 0").contains("regular file");
        assertThat(stat(b.providerRef())).isEqualTo(statA);
        for (String file : FILES) {
            String content = exec(b.providerRef(), "cat", file);
            assertThat(content).isEqualTo(exec(a.providerRef(), "cat", file))
                .isEqualTo(expected.get(file.substring(1)));
        }
        // nothing else appeared next to them (no temporary files left behind)
        assertThat(exec(b.providerRef(), "ls", "-a", "/www", "/etc/orchestrator"))
            .isEqualTo(exec(a.providerRef(), "ls", "-a", "/www", "/etc/orchestrator"));

        // the image's httpd serves the new page at once: it names the device's DUID
        NetnsHandle netns = provider.networkNamespace(inPlace);
        String[] curl = {"nsenter", "--net=" + netns.path(), "curl", "-sS", "-g", "--max-time", "2", "http://[::1]:80/"};
        assertThat(TestSupport.eventually(Duration.ofSeconds(10), () -> Procs.run(CMD, curl).exit() == 0)).isTrue();
        assertThat(Procs.ok(CMD, curl).out()).contains("<code id=duid>" + client.value() + "</code>");

        // the rename happens off the caller's thread, a moment later
        assertThat(TestSupport.eventually(Duration.ofSeconds(10),
            () -> docker.inspectContainerCmd(b.providerRef()).exec().getName().equals("/" + b.name()))).isTrue();
    }

    @Test
    void aSymlinkToTheHostInTheSpareIsNeverFollowed() throws Exception {
        Duid client = TestSupport.duid(41);
        String linkedDir = TestSupport.newId("lnd");
        String linkedFile = TestSupport.newId("lnf");
        String linkedDirRef = provider.provision(spare(linkedDir)).providerRef();
        String linkedFileRef = provider.provision(spare(linkedFile)).providerRef();
        // As the image's own processes could: /www becomes an absolute link to a folder that exists on
        // the host, and (in the other spare) /www/duid a link to a file on the host.
        exec(linkedDirRef, "busybox", "sh", "-c", "busybox rm -rf /www && busybox mkdir -p " + escape
            + " && busybox ln -s " + escape + " /www");
        Path hostFile = Files.writeString(escape.resolve("host-file"), "host\n");
        exec(linkedFileRef, "busybox", "ln", "-sf", hostFile.toString(), "/www/duid");

        // the in-place writer refuses the linked directory outright ...
        long pid = docker.inspectContainerCmd(linkedDirRef).exec().getState().getPidLong();
        assertThatThrownBy(() -> new ProcRootWriter(Path.of("/proc")).write(pid, linkedDirRef,
            IdentityArchive.files(claim(linkedDir, client)))).isInstanceOf(ProcRootWriter.Refused.class)
            .hasMessageContaining("/www is a symbolic link");
        // ... so personalise falls back to the archive API, which resolves the link inside the container
        provider.personalise(claim(linkedDir, client));
        assertThat(provider.writesInPlace()).isZero();
        assertThat(provider.writesThroughArchive()).isEqualTo(1);
        assertThat(exec(linkedDirRef, "cat", escape + "/duid")).isEqualTo(client.value() + "\n");
        assertThat(exec(linkedDirRef, "cat", "/etc/orchestrator/client")).isEqualTo(client.value() + "\n");

        // a link at the file itself is replaced, not followed
        provider.personalise(claim(linkedFile, client));
        assertThat(provider.writesInPlace()).isEqualTo(1);
        assertThat(exec(linkedFileRef, "cat", "/www/duid")).isEqualTo(client.value() + "\n");
        assertThat(exec(linkedFileRef, "busybox", "stat", "-c", "%F", "/www/duid")).isEqualTo("regular file\n");

        // nothing was written on the host
        try (Stream<Path> files = Files.list(escape)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("host-file");
        }
        assertThat(hostFile).hasContent("host");
    }

    @Test
    void adoptionAfterARestartDoesNotDependOnTheName() throws Exception {
        Duid client = TestSupport.duid(42);
        String id = TestSupport.newId("adp");
        Instance spare = provider.provision(spare(id));
        Instance personalised = provider.personalise(claim(id, client));
        assertThat(TestSupport.eventually(Duration.ofSeconds(10),
            () -> docker.inspectContainerCmd(spare.providerRef()).exec().getName().equals("/" + personalised.name())))
            .isTrue();

        // a new provider of the same name knows no container ids: it finds the instance by label only
        try (DockerProvider restarted = new DockerProvider(DockerSettings.defaults(NAME, DockerSettings.DEFAULT_HOST),
            () -> null)) {
            assertThat(restarted.inspect(id)).get().extracting(Instance::providerRef, Instance::name)
                .containsExactly(spare.providerRef(), personalised.name());
            assertThat(restarted.list()).extracting(Instance::id).containsExactly(id);
            assertThat(restarted.networkNamespace(id).pid()).isPositive();
            // idempotent, and no rename is needed any more
            Instance again = restarted.personalise(claim(id, client));
            assertThat(again.providerRef()).isEqualTo(spare.providerRef());
            assertThat(restarted.writesInPlace()).isEqualTo(1);
            assertThat(exec(spare.providerRef(), "cat", "/www/duid")).isEqualTo(client.value() + "\n");
            // provision of the same instance returns the personalised container, not a new one
            assertThat(restarted.provision(spare(id)).providerRef()).isEqualTo(spare.providerRef());
        }

        // a container removed behind our back: the remembered id is stale, personalise says so plainly
        Procs.ok(CMD, "docker", "rm", "-f", spare.providerRef());
        assertThatThrownBy(() -> provider.personalise(claim(id, client))).isInstanceOf(ProviderException.class)
            .hasMessageContaining("does not exist");
    }

    @Test
    void stoppedAndReadOnlySparesAreRefused() {
        Duid client = TestSupport.duid(43);
        String stopped = TestSupport.newId("stp");
        provider.provision(spare(stopped));
        provider.stop(stopped);
        assertThatThrownBy(() -> provider.personalise(claim(stopped, client))).isInstanceOf(ProviderException.class)
            .hasMessageContaining("not running").matches(e -> !((ProviderException) e).isTransient());

        // read-only root: not written in place, and the archive API refuses as it always did; core
        // then provisions instead
        String readOnly = TestSupport.newId("ro");
        provider.provision(new InstanceSpec(readOnly, PoolingProvider.UNASSIGNED, TestSupport.IMAGE, List.of(), Map.of(),
            Map.of(PoolingProvider.POOL_LABEL, "orch-dk-pool"), ResourceLimits.NONE, true, readOnly + ".spare"));
        assertThatThrownBy(() -> provider.personalise(claim(readOnly, client))).isInstanceOf(ProviderException.class);
        assertThat(provider.writesInPlace()).isZero();
    }

    @Test
    void aRememberedRunningSpareIsPersonalisedWithoutAskingTheDaemon() throws Exception {
        Duid client = TestSupport.duid(44);
        String id = TestSupport.newId("mem");
        Instance spare = provider.provision(spare(id));
        long lookups = provider.containerLookups();

        Instance got = provider.personalise(claim(id, client));
        assertThat(provider.containerLookups()).as("inspect or list calls").isEqualTo(lookups);
        assertThat(provider.personalisedFromProc()).isEqualTo(1);
        assertThat(provider.writesInPlace()).isEqualTo(1);
        String tail = client.hex().substring(client.hex().length() - 12);
        assertThat(got).isEqualTo(new Instance(id, NAME, spare.providerRef(), "orch-" + id + "." + tail, spare.client(),
            TestSupport.IMAGE, InstanceState.RUNNING, spare.createdAt(), spare.labels()));
        Map<String, String> expected = IdentityArchive.files(claim(id, client));
        for (String file : FILES) {
            assertThat(exec(spare.providerRef(), "cat", file)).isEqualTo(expected.get(file.substring(1)));
        }
        // what a provider that must inspect the container returns for the same call
        try (DockerProvider stranger = new DockerProvider(settings, () -> null)) {
            assertThat(stranger.personalise(claim(id, client))).isEqualTo(got);
            assertThat(stranger.personalisedFromProc()).isZero();
        }
        // and the device's next step asks nothing either
        assertThat(provider.networkNamespace(id).pid()).isPositive();
        assertThat(provider.containerLookups()).isEqualTo(lookups);
    }

    @Test
    void aSpareRestartedOrReplacedBehindOurBackIsLookedUpAgain() throws Exception {
        Duid first = TestSupport.duid(45);
        Duid second = TestSupport.duid(46);
        String restarted = TestSupport.newId("rst");
        String replaced = TestSupport.newId("rpl");
        Instance a = provider.provision(spare(restarted));
        Instance b = provider.provision(spare(replaced));
        Procs.ok(CMD, "docker", "restart", "-t", "0", a.providerRef());
        Procs.ok(CMD, "docker", "rm", "-f", b.providerRef());
        String newRef;
        try (DockerProvider other = new DockerProvider(settings, () -> null)) {
            newRef = other.provision(spare(replaced)).providerRef();
        }

        long lookups = provider.containerLookups();
        Instance ra = provider.personalise(claim(restarted, first));
        Instance rb = provider.personalise(claim(replaced, second));
        assertThat(provider.containerLookups()).isGreaterThan(lookups);
        assertThat(provider.personalisedFromProc()).isZero();
        assertThat(provider.writesInPlace()).isEqualTo(2);
        assertThat(ra.providerRef()).isEqualTo(a.providerRef());
        assertThat(rb.providerRef()).isEqualTo(newRef).isNotEqualTo(b.providerRef());
        assertThat(List.of(ra.state(), rb.state())).containsOnly(InstanceState.RUNNING);
        assertThat(exec(a.providerRef(), "cat", "/www/duid")).isEqualTo(first.value() + "\n");
        assertThat(exec(newRef, "cat", "/www/duid")).isEqualTo(second.value() + "\n");

        // what was looked up is remembered: personalising again (a retry) asks the daemon nothing
        lookups = provider.containerLookups();
        assertThat(provider.personalise(claim(restarted, first))).isEqualTo(ra);
        assertThat(provider.personalise(claim(replaced, second))).isEqualTo(rb);
        assertThat(provider.containerLookups()).isEqualTo(lookups);
        assertThat(provider.personalisedFromProc()).isEqualTo(2);
    }

    @Test
    void aSpareStoppedBehindOurBackIsRefusedAndLookedUpOnceStartedAgain() throws Exception {
        Duid client = TestSupport.duid(47);
        String id = TestSupport.newId("sbb");
        Instance spare = provider.provision(spare(id));
        Procs.ok(CMD, "docker", "stop", "-t", "0", spare.providerRef());
        assertThatThrownBy(() -> provider.personalise(claim(id, client))).isInstanceOf(ProviderException.class)
            .hasMessageContaining("not running").matches(e -> !((ProviderException) e).isTransient());
        assertThat(provider.writesInPlace() + provider.writesThroughArchive()).isZero();

        Procs.ok(CMD, "docker", "start", spare.providerRef());
        provider.personalise(claim(id, client));
        assertThat(exec(spare.providerRef(), "cat", "/www/duid")).isEqualTo(client.value() + "\n");
        long lookups = provider.containerLookups();
        provider.personalise(claim(id, client));
        assertThat(provider.containerLookups()).isEqualTo(lookups);
        assertThat(provider.personalisedFromProc()).isEqualTo(1);
    }

    @Test
    void theRenameWaitsForItsDelayAndThenHappens() throws Exception {
        String id = TestSupport.newId("ren");
        Instance spare = provider.provision(spare(id));
        Instance got = provider.personalise(claim(id, TestSupport.duid(48)));
        long returned = System.nanoTime();
        assertThat(containerName(spare.providerRef())).isEqualTo("orch-" + id);
        assertThat(provider.renamesPending()).isEqualTo(1);

        assertThat(TestSupport.eventually(Duration.ofSeconds(10), () -> containerName(spare.providerRef())
            .equals(got.name()))).isTrue();
        long waitedMillis = (System.nanoTime() - returned) / 1_000_000;
        assertThat(waitedMillis).isGreaterThanOrEqualTo(DockerProvider.RENAME_DELAY_MILLIS - 50);
        assertThat(provider.renameFailures()).isZero();
    }

    @Test
    void delayedRenamesOfChangedContainersAreNoErrorsAndCloseDropsPendingOnes() throws Exception {
        String removed = TestSupport.newId("rmv");
        String destroyed = TestSupport.newId("dst");
        String renamed = TestSupport.newId("rnm");
        String taken = TestSupport.newId("tkn");
        for (String id : List.of(removed, destroyed, renamed, taken)) {
            provider.provision(spare(id));
        }
        String renamedRef = provider.inspect(renamed).orElseThrow().providerRef();
        String takenRef = provider.inspect(taken).orElseThrow().providerRef();
        Instance r = provider.personalise(claim(removed, TestSupport.duid(49)));
        provider.personalise(claim(destroyed, TestSupport.duid(50)));
        Instance n = provider.personalise(claim(renamed, TestSupport.duid(51)));
        Instance t = provider.personalise(claim(taken, TestSupport.duid(52)));
        // before the renames run: one container removed and one destroyed, one renamed by someone
        // else, and the name meant for the last one taken by another container
        Procs.ok(CMD, "docker", "rm", "-f", r.providerRef());
        provider.destroy(destroyed);
        Procs.ok(CMD, "docker", "rename", renamedRef, "orch-dk-other-" + renamed);
        Procs.ok(CMD, "docker", "create", "--name", t.name(), "--label", "test.owner=orch-dk", TestSupport.IMAGE);
        try {
            assertThat(provider.renamesPending()).isEqualTo(4);
            assertThat(TestSupport.eventually(Duration.ofSeconds(10), () -> provider.renamesPending() == 0)).isTrue();
            assertThat(provider.renameFailures()).isZero();
            assertThat(containerName(renamedRef)).isEqualTo(n.name());
            assertThat(containerName(takenRef)).isEqualTo("orch-" + taken);
        } finally {
            Procs.run(CMD, "docker", "rm", "-f", t.name());
        }

        // close does not wait for renames that are still waiting for their delay: it drops them
        String late = TestSupport.newId("lat");
        DockerProvider closing = new DockerProvider(settings, () -> null);
        String lateRef;
        long closeMillis;
        try {
            lateRef = closing.provision(spare(late)).providerRef();
            closing.personalise(claim(late, TestSupport.duid(53)));
        } finally {
            long t0 = System.nanoTime();
            closing.close();
            closeMillis = (System.nanoTime() - t0) / 1_000_000;
        }
        assertThat(closeMillis).isLessThan(1000);
        Thread.sleep(DockerProvider.RENAME_DELAY_MILLIS + 500);
        assertThat(containerName(lateRef)).isEqualTo("orch-" + late);
    }

    @Test
    void personaliseLatencyInPlaceAndThroughTheArchiveApi() {
        List<List<Long>> micros = personaliseAlternately(SAMPLES, 100, archiveOnly, provider);
        assertThat(archiveOnly.writesThroughArchive()).isEqualTo(SAMPLES);
        assertThat(provider.writesInPlace()).isEqualTo(SAMPLES);
        double archiveMedian = report("through the archive API", micros.get(0));
        double inPlaceMedian = report("in place", micros.get(1));
        assertThat(inPlaceMedian).isLessThan(archiveMedian);
    }

    @Test
    void personaliseLatencyOfRememberedAndUnknownSpares() {
        // provider made the spares and remembers their init processes; stranger (same name, fresh)
        // knows none of them and must ask the daemon first
        try (DockerProvider stranger = new DockerProvider(settings, () -> null)) {
            List<List<Long>> micros = personaliseAlternately(REMEMBERED_SAMPLES, 200, provider, stranger);
            assertThat(provider.writesInPlace()).isEqualTo(REMEMBERED_SAMPLES);
            assertThat(stranger.writesInPlace()).isEqualTo(REMEMBERED_SAMPLES);
            report("in place, process remembered", micros.get(0));
            report("in place, container looked up", micros.get(1));
        }
    }

    /**
     * Has {@link #provider} make {@code 2 * samples} spares, then personalises them alternately
     * with {@code first} and {@code second}, so that both see the same load on a shared machine,
     * for the clients {@code duid(firstClient + i)}; checks what each spare then holds.
     *
     * @return the times in microseconds of {@code first}, then of {@code second}
     */
    private List<List<Long>> personaliseAlternately(int samples, int firstClient, DockerProvider first,
                                                    DockerProvider second) {
        List<String> spares = new ArrayList<>();
        for (int i = 0; i < 2 * samples; i++) {
            String id = TestSupport.newId("lat");
            provider.provision(spare(id));
            spares.add(id);
        }
        List<List<Long>> micros = List.of(new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < 2 * samples; i++) {
            InstanceSpec spec = claim(spares.get(i), TestSupport.duid(firstClient + i));
            long t0 = System.nanoTime();
            (i % 2 == 0 ? first : second).personalise(spec);
            micros.get(i % 2).add((System.nanoTime() - t0) / 1000);
        }
        for (int i = 0; i < 2 * samples; i++) {
            String container = provider.inspect(spares.get(i)).orElseThrow().providerRef();
            assertThat(exec(container, "cat", "/www/duid")).isEqualTo(TestSupport.duid(firstClient + i).value() + "\n");
        }
        return micros;
    }

    /** @return the median in ms */
    private static double report(String way, List<Long> micros) {
        List<Long> sorted = micros.stream().sorted().toList();
        double median = sorted.get(sorted.size() / 2) / 1000.0;
        System.out.printf("personalise %s over %d spares: p50 %.1f ms, min %.1f ms, max %.1f ms; all (ms): %s%n", way,
            sorted.size(), median, sorted.get(0) / 1000.0, sorted.get(sorted.size() - 1) / 1000.0,
            micros.stream().map(m -> String.format("%.1f", m / 1000.0)).toList());
        return median;
    }

    private static String containerName(String container) {
        return docker.inspectContainerCmd(container).exec().getName().substring(1);
    }

    private static String stat(String container) {
        List<String> command = new ArrayList<>(List.of("busybox", "stat", "-c", "%n %a %u %g %s %F"));
        command.addAll(FILES);
        return exec(container, command.toArray(String[]::new));
    }

    private static String exec(String container, String... command) {
        List<String> full = new ArrayList<>(List.of("docker", "exec", container));
        full.addAll(List.of(command));
        return Procs.ok(CMD, full.toArray(String[]::new)).out();
    }

    static InstanceSpec spare(String id) {
        return new InstanceSpec(id, PoolingProvider.UNASSIGNED, TestSupport.IMAGE, List.of(), Map.of(),
            Map.of(PoolingProvider.POOL_LABEL, "orch-dk-pool", "test.owner", "orch-dk"), ResourceLimits.NONE, false,
            id + ".spare");
    }

    static InstanceSpec claim(String id, Duid client) {
        return new InstanceSpec(id, client, TestSupport.IMAGE, List.of(), Map.of(),
            Map.of(PoolingProvider.POOL_LABEL, "orch-dk-pool", "test.owner", "orch-dk"), ResourceLimits.NONE, false,
            "device-" + client.hex().substring(client.hex().length() - 4) + ".test");
    }
}
