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
    private static final Duration CMD = Duration.ofSeconds(20);
    private static final List<String> FILES = List.of("/www/index.html", "/www/duid", "/etc/orchestrator/client");

    private static DockerClient docker;

    private DockerProvider provider;
    private DockerProvider archiveOnly;
    private Path escape;

    @BeforeAll
    static void daemon() {
        TestSupport.requireDocker();
        docker = DockerClients.commands(DockerSettings.defaults("orch-dk-test-client", DockerSettings.DEFAULT_HOST));
        TestSupport.sweep(docker, NAME);
    }

    @AfterAll
    static void nothingLeftBehind() throws IOException {
        try {
            TestSupport.sweep(docker, NAME);
            assertThat(TestSupport.containersOf(docker, NAME)).isEmpty();
        } finally {
            docker.close();
        }
    }

    @BeforeEach
    void providers() throws IOException {
        DockerSettings settings = DockerSettings.defaults(NAME, DockerSettings.DEFAULT_HOST)
            .withStopTimeout(Duration.ofSeconds(1));
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

        // the rename happens off the caller's thread, soon
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
    void personaliseLatencyInPlaceAndThroughTheArchiveApi() {
        // Alternate the two ways, so that both see the same load on a shared machine.
        List<String> spares = new ArrayList<>();
        for (int i = 0; i < 2 * SAMPLES; i++) {
            String id = TestSupport.newId("lat");
            provider.provision(spare(id));
            spares.add(id);
        }
        List<Long> archive = new ArrayList<>();
        List<Long> inPlace = new ArrayList<>();
        for (int i = 0; i < 2 * SAMPLES; i++) {
            boolean viaArchive = i % 2 == 0;
            InstanceSpec spec = claim(spares.get(i), TestSupport.duid(100 + i));
            long t0 = System.nanoTime();
            (viaArchive ? archiveOnly : provider).personalise(spec);
            (viaArchive ? archive : inPlace).add((System.nanoTime() - t0) / 1000);
        }
        for (int i = 0; i < 2 * SAMPLES; i++) {
            String container = provider.inspect(spares.get(i)).orElseThrow().providerRef();
            assertThat(exec(container, "cat", "/www/duid")).isEqualTo(TestSupport.duid(100 + i).value() + "\n");
        }
        assertThat(archiveOnly.writesThroughArchive()).isEqualTo(SAMPLES);
        assertThat(provider.writesInPlace()).isEqualTo(SAMPLES);
        double archiveMedian = report("through the archive API", archive);
        double inPlaceMedian = report("in place", inPlace);
        assertThat(inPlaceMedian).isLessThan(archiveMedian);
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
