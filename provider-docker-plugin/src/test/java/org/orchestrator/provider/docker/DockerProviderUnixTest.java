package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipException;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.ResourceLimits;

/**
 * The provider against the shared dockerd on {@code unix:///var/run/docker.sock}. Uses only the
 * provider name {@value #NAME}, containers {@code orch-dk-*} and images {@code orch-dk-export/*}.
 */
class DockerProviderUnixTest {

    private static final String NAME = "orch-dk-unix";

    private static DockerClient docker;

    private final RecordingSink sink = new RecordingSink();
    private Path exportFolder;
    private DockerProvider provider;

    @BeforeAll
    static void daemon() {
        docker = TestSupport.sharedDaemon(NAME);
    }

    @AfterAll
    static void nothingLeftBehind() throws IOException {
        TestSupport.leaveNothing(docker, NAME, () -> assertThat(TestSupport.exportedTags(docker)).isEmpty());
    }

    @BeforeEach
    void provider() throws Exception {
        exportFolder = Files.createTempDirectory("orch-dk-export-");
        provider = new DockerProvider(DockerSettings.defaults(NAME, DockerSettings.DEFAULT_HOST)
            .withExportFolder(exportFolder).withMonitorInterval(Duration.ofMillis(500))
            .withStopTimeout(Duration.ofSeconds(1)), () -> sink);
        provider.start();
        assertThat(TestSupport.eventually(Duration.ofSeconds(10), provider::daemonAvailable)).isTrue();
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
            try (Stream<Path> files = Files.walk(exportFolder)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    @Test
    void provisionListInspectExportDestroyRoundTrip() throws Exception {
        String id = TestSupport.newId("rt");
        InstanceSpec spec = TestSupport.spec(id, TestSupport.duid(1), ResourceLimits.NONE, false);

        Instance created = provider.provision(spec);
        assertThat(created.id()).isEqualTo(id);
        assertThat(created.provider()).isEqualTo(NAME);
        assertThat(created.name()).isEqualTo("orch-" + id).startsWith("orch-dk-");
        assertThat(created.client()).isEqualTo(spec.client());
        assertThat(created.state()).isEqualTo(InstanceState.RUNNING);
        assertThat(created.labels()).containsEntry("org.orchestrator.managed", "true")
            .containsEntry("org.orchestrator.provider", NAME).containsEntry("org.orchestrator.instance", id)
            .containsEntry("org.orchestrator.client", spec.client().value()).containsEntry("test.owner", "orch-dk");

        // idempotent: the same container comes back, not a second one
        assertThat(provider.provision(spec).providerRef()).isEqualTo(created.providerRef());
        assertThat(provider.list()).extracting(Instance::id).containsExactly(id);
        assertThat(provider.inspect(id)).get().extracting(Instance::providerRef).isEqualTo(created.providerRef());
        assertThat(provider.inspect("dk-nothing-here")).isEmpty();

        // a provider of another name does not see it
        try (DockerProvider other = new DockerProvider(DockerSettings.defaults("orch-dk-other", DockerSettings.DEFAULT_HOST), () -> null)) {
            assertThat(other.list()).isEmpty();
            assertThat(other.inspect(id)).isEmpty();
        }

        // stop and start
        provider.stop(id);
        assertThat(provider.inspect(id)).get().extracting(Instance::state).isEqualTo(InstanceState.STOPPED);
        provider.stop(id);
        provider.start(id);
        assertThat(provider.inspect(id)).get().extracting(Instance::state).isEqualTo(InstanceState.RUNNING);
        provider.start(id);
        // provision of a stopped instance starts it again
        provider.stop(id);
        assertThat(provider.provision(spec).state()).isEqualTo(InstanceState.RUNNING);

        // export: image only, then with an archive
        String tag = TestSupport.EXPORT_REPO + id + ":v1";
        ExportResult imageOnly = provider.export(new ExportRequest(id, tag, null));
        assertThat(imageOnly.archive()).isNull();
        InspectImageResponse image = docker.inspectImageCmd(tag).exec();
        assertThat(image.getId()).isEqualTo(imageOnly.imageId());
        assertThat(image.getConfig().getLabels()).containsEntry("org.orchestrator.exported-from", id)
            .containsEntry("org.orchestrator.managed", "").containsEntry("org.orchestrator.provider", "");

        String tag2 = TestSupport.EXPORT_REPO + id + ":v2";
        ExportResult saved = provider.export(new ExportRequest(id, tag2, id + ".tar"));
        assertThat(saved.archive()).isEqualTo(exportFolder.toRealPath().resolve(id + ".tar"));
        assertThat(saved.archive()).isRegularFile();
        assertThat(saved.sizeBytes()).isEqualTo(Files.size(saved.archive())).isGreaterThan(100_000);
        assertThat(tarEntries(saved.archive())).contains("manifest.json");
        try (Stream<Path> files = Files.list(exportFolder)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly(id + ".tar");
        }

        // path traversal: rejected by the request, and again by the provider's own resolution
        assertThatThrownBy(() -> new ExportRequest(id, tag2, "../escape.tar")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ExportRequest(id, tag2, "sub/escape.tar")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ArchivePaths.resolve(exportFolder, "..")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ArchivePaths.resolve(exportFolder, "../escape.tar")).isInstanceOf(IllegalArgumentException.class);
        assertThat(exportFolder.getParent().resolve("escape.tar")).doesNotExist();

        // a provider without export folder refuses archives but not images
        try (DockerProvider noFolder = new DockerProvider(DockerSettings.defaults(NAME, DockerSettings.DEFAULT_HOST), () -> null)) {
            assertThatThrownBy(() -> noFolder.export(new ExportRequest(id, tag2, "x.tar")))
                .isInstanceOf(ProviderException.class).hasMessageContaining("exportFolder")
                .matches(e -> !((ProviderException) e).isTransient());
        }

        // destroy, twice
        provider.destroy(id);
        assertThat(provider.inspect(id)).isEmpty();
        assertThat(provider.list()).isEmpty();
        provider.destroy(id);
        assertThatThrownBy(() -> provider.networkNamespace(id)).isInstanceOf(ProviderException.class)
            .hasMessageContaining("does not exist");
        assertThatThrownBy(() -> provider.start(id)).isInstanceOf(ProviderException.class);

        docker.removeImageCmd(tag).withForce(true).exec();
        docker.removeImageCmd(tag2).withForce(true).exec();
        // none of this was reported as an outside change
        assertThat(sink.about(id)).isEmpty();
    }

    @Test
    void theNetworkNamespaceIsTheContainersCurrentProcessEvenAfterARestartBehindOurBack() {
        String id = TestSupport.newId("ns");
        Instance created = provider.provision(TestSupport.spec(id, TestSupport.duid(3), ResourceLimits.NONE, false));
        long first = docker.inspectContainerCmd(created.providerRef()).exec().getState().getPidLong();
        assertThat(provider.networkNamespace(id).pid()).isEqualTo(first);
        assertThat(provider.networkNamespace(id).pid()).as("asked again").isEqualTo(first);
        assertThat(provider.namespacesFromProc()).as("answered from /proc, not the daemon").isEqualTo(2);

        docker.restartContainerCmd(created.providerRef()).withTimeout(0).exec();
        long second = docker.inspectContainerCmd(created.providerRef()).exec().getState().getPidLong();
        assertThat(second).isNotEqualTo(first);
        assertThat(provider.networkNamespace(id).pid()).as("the remembered process is gone").isEqualTo(second);
        assertThat(provider.namespacesFromProc()).as("the daemon was asked").isEqualTo(2);
        assertThat(provider.networkNamespace(id).pid()).isEqualTo(second);
        assertThat(provider.namespacesFromProc()).as("and its answer remembered").isEqualTo(3);

        docker.stopContainerCmd(created.providerRef()).withTimeout(0).exec();
        assertThatThrownBy(() -> provider.networkNamespace(id)).isInstanceOf(ProviderException.class)
            .hasMessageContaining("not running");
        provider.destroy(id);
    }

    @Test
    void instanceIsConfinedAndServesHttpOverIpv6() throws Exception {
        String id = TestSupport.newId("hard");
        ResourceLimits limits = new ResourceLimits(64L * 1024 * 1024, 0.25, 50);
        InstanceSpec spec = TestSupport.spec(id, TestSupport.duid(2), limits, true);
        Instance instance = provider.provision(spec);

        InspectContainerResponse inspect = docker.inspectContainerCmd(instance.providerRef()).exec();
        HostConfig host = inspect.getHostConfig();
        assertThat(host.getNetworkMode()).isEqualTo("none");
        assertThat(host.getPrivileged()).isFalse();
        assertThat(host.getMemory()).isEqualTo(64L * 1024 * 1024);
        assertThat(host.getNanoCPUs()).isEqualTo(250_000_000L);
        assertThat(host.getPidsLimit()).isEqualTo(50L);
        assertThat(host.getCapDrop()).containsExactly(Capability.ALL);
        assertThat(host.getCapAdd()).containsExactlyInAnyOrder(Capability.NET_BIND_SERVICE, Capability.CHOWN,
            Capability.SETUID, Capability.SETGID);
        assertThat(host.getReadonlyRootfs()).isTrue();
        assertThat(host.getSecurityOpts()).contains("no-new-privileges:true");
        assertThat(host.getSysctls()).containsEntry("net.ipv6.conf.all.disable_ipv6", "0");
        assertThat(inspect.getConfig().getLabels()).containsEntry("org.orchestrator.managed", "true")
            .containsEntry("org.orchestrator.provider", NAME).containsEntry("org.orchestrator.instance", id)
            .containsEntry("org.orchestrator.client", spec.client().value());
        assertThat(inspect.getConfig().getEnv()).contains("ORCHESTRATOR_CLIENT=" + spec.client().value(), "EXTRA=1");
        assertThat(inspect.getConfig().getHostName()).isEqualTo(id + ".test");

        NetnsHandle netns = provider.networkNamespace(id);
        assertThat(netns.pid()).isEqualTo(inspect.getState().getPidLong());
        assertThat(netns.path()).isEqualTo(Path.of("/proc/" + netns.pid() + "/ns/net"));
        String nsArg = "--net=" + netns.path();
        assertThat(Procs.ok(Duration.ofSeconds(10), "nsenter", nsArg, "sysctl", "-n",
            "net.ipv6.conf.all.disable_ipv6").out().strip()).isEqualTo("0");
        // no interface but loopback: network mode none
        assertThat(Procs.ok(Duration.ofSeconds(10), "nsenter", nsArg, "ip", "-o", "link").out().strip().lines())
            .hasSize(1).allMatch(l -> l.contains(" lo:"));
        // busybox httpd runs with the reduced capabilities and a read-only root, and answers on ::1
        String[] curl = {"nsenter", nsArg, "curl", "-sS", "-g", "--max-time", "2", "http://[::1]:80/duid"};
        assertThat(TestSupport.eventually(Duration.ofSeconds(10),
            () -> Procs.run(Duration.ofSeconds(5), curl).exit() == 0)).isTrue();
        assertThat(Procs.ok(Duration.ofSeconds(5), curl).out().strip()).isEqualTo(spec.client().value());
        assertThat(Procs.ok(Duration.ofSeconds(5), "nsenter", nsArg, "curl", "-sS", "-g", "--max-time", "2",
            "http://[::1]:80/")).extracting(Procs.Result::out).asString().contains(spec.client().value());
        // the root file system is read-only indeed
        assertThat(Procs.run(Duration.ofSeconds(10), "docker", "exec", "orch-" + id, "mkdir", "/probe").exit()).isNotZero();

        // defaults apply where the spec sets no limit
        String id2 = TestSupport.newId("defl");
        try (DockerProvider limited = new DockerProvider(DockerSettings.defaults(NAME, DockerSettings.DEFAULT_HOST)
            .withDefaultLimits(new ResourceLimits(32L * 1024 * 1024, 0.5, 20)), () -> null)) {
            Instance other = limited.provision(TestSupport.spec(id2, TestSupport.duid(3), ResourceLimits.NONE, false));
            HostConfig h2 = docker.inspectContainerCmd(other.providerRef()).exec().getHostConfig();
            assertThat(h2.getMemory()).isEqualTo(32L * 1024 * 1024);
            assertThat(h2.getNanoCPUs()).isEqualTo(500_000_000L);
            assertThat(h2.getPidsLimit()).isEqualTo(20L);
            assertThat(h2.getReadonlyRootfs()).isFalse();
            limited.destroy(id2);
        }
    }

    @Test
    void containerRemovedBehindOurBackIsReportedWithinOneSecond() throws Exception {
        String ours = TestSupport.newId("own");
        String theirs = TestSupport.newId("gone");
        provider.provision(TestSupport.spec(ours, TestSupport.duid(4), ResourceLimits.NONE, false));
        provider.provision(TestSupport.spec(theirs, TestSupport.duid(5), ResourceLimits.NONE, false));

        provider.destroy(ours);
        Procs.ok(Duration.ofSeconds(20), "docker", "rm", "-f", "orch-" + theirs);
        long removedAt = System.nanoTime();

        RecordingSink.Report report = sink.await(r -> theirs.equals(r.instanceId())
            && r.state() == InstanceState.REMOVED, Duration.ofSeconds(1));
        assertThat(report).withFailMessage("no REMOVED report within 1 s: %s", sink.reports).isNotNull();
        assertThat(Duration.ofNanos(report.nanos() - removedAt)).isLessThan(Duration.ofSeconds(1));
        assertThat(report.provider()).isEqualTo(NAME);
        assertThat(report.reason()).contains("removed outside");
        assertThat(sink.about(theirs)).extracting(RecordingSink.Report::state).contains(InstanceState.STOPPED);
        // events arrive in order: our own destroy came earlier and was not reported
        assertThat(sink.about(ours)).isEmpty();
        assertThat(provider.inspect(theirs)).isEmpty();
    }

    @Test
    void anImageRemovedAfterItWasSeenIsLookedForAgainNotReportedAsNeverThere() {
        String tag = TestSupport.EXPORT_REPO + "seen:1";
        docker.tagImageCmd(TestSupport.IMAGE, TestSupport.EXPORT_REPO + "seen", "1").exec();
        String first = TestSupport.newId("seen");
        provider.provision(new InstanceSpec(first, TestSupport.duid(7), tag, List.of(), Map.of(), Map.of(),
            ResourceLimits.NONE, false, "seen"));
        provider.destroy(first);
        docker.removeImageCmd(tag).withForce(true).exec();

        // the provider saw the image seconds ago and does not ask before creating: the create's "no
        // such image" must send it to the daemon's images (and a pull) again, as for an image never seen
        String second = TestSupport.newId("seen");
        assertThatThrownBy(() -> provider.provision(new InstanceSpec(second, TestSupport.duid(8), tag, List.of(), Map.of(),
            Map.of(), ResourceLimits.NONE, false, "seen"))).isInstanceOf(ProviderException.class)
            .hasMessageContaining(tag).hasMessageContaining("could not be pulled");
        assertThat(provider.inspect(second)).isEmpty();
    }

    @Test
    void missingImageFailsPermanentlyWithAClearMessage() {
        String id = TestSupport.newId("noimg");
        InstanceSpec spec = new InstanceSpec(id, TestSupport.duid(6), "orch-dk-missing/nothing:1", List.of(), Map.of(),
            Map.of(), ResourceLimits.NONE, false, "noimg");
        assertThatThrownBy(() -> provider.provision(spec)).isInstanceOf(ProviderException.class)
            .hasMessageContaining("orch-dk-missing/nothing:1").hasMessageContaining("could not be pulled")
            .matches(e -> !((ProviderException) e).isTransient(), "not transient");
        assertThat(provider.inspect(id)).isEmpty();
    }

    @Test
    void unreachableDaemonFailsFastAndTransiently() {
        try (DockerProvider down = new DockerProvider(DockerSettings.defaults("orch-dk-down",
            "unix:///tmp/orch-dk-no-such.sock"), () -> null)) {
            long start = System.nanoTime();
            assertThatThrownBy(down::list).isInstanceOf(ProviderException.class)
                .hasMessageContaining("Docker daemon at unix:///tmp/orch-dk-no-such.sock is not reachable")
                .hasMessageContaining("start dockerd")
                .matches(e -> ((ProviderException) e).isTransient(), "transient");
            assertThatThrownBy(() -> down.provision(TestSupport.spec(TestSupport.newId("down"), TestSupport.duid(7),
                ResourceLimits.NONE, false))).isInstanceOf(ProviderException.class)
                .matches(e -> ((ProviderException) e).isTransient(), "transient");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void clientMismatchOnAnExistingInstanceIsRefused() {
        String id = TestSupport.newId("dup");
        provider.provision(TestSupport.spec(id, TestSupport.duid(8), ResourceLimits.NONE, false));
        assertThatThrownBy(() -> provider.provision(TestSupport.spec(id, TestSupport.duid(9), ResourceLimits.NONE, false)))
            .isInstanceOf(ProviderException.class).hasMessageContaining("another client");
        assertThat(provider.list()).hasSize(1);
    }

    static List<String> tarEntries(Path tar) throws IOException {
        // A docker save archive is a plain tar: walk 512-byte headers.
        List<String> names = new ArrayList<>();
        try (InputStream in = Files.newInputStream(tar)) {
            byte[] header = new byte[512];
            while (in.readNBytes(header, 0, 512) == 512 && header[0] != 0) {
                String name = new String(header, 0, 100, java.nio.charset.StandardCharsets.US_ASCII).replace("\0", "");
                String sizeText = new String(header, 124, 12, java.nio.charset.StandardCharsets.US_ASCII)
                    .replace("\0", "").trim();
                long size = sizeText.isEmpty() ? 0 : Long.parseLong(sizeText, 8);
                names.add(name);
                long skip = (size + 511) / 512 * 512;
                if (in.skip(skip) != skip) {
                    throw new ZipException("truncated tar");
                }
            }
        }
        return names;
    }
}
