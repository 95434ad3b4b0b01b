package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import com.github.dockerjava.api.DockerClient;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.ResourceLimits;

/**
 * The provider against a second dockerd this test owns, over TCP with TLS client certificates,
 * while a provider on the shared unix socket keeps serving. The outage test stops and restarts
 * only this second daemon.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DockerProviderTlsTest {

    private static final String TLS_NAME = "orch-dk-tls";
    private static final String UNIX_NAME = "orch-dk-unix2";

    private static SecondDockerd daemon;
    private static DockerClient unixDocker;
    private static DockerClient tlsDocker;
    private static DockerProvider tls;
    private static DockerProvider unix;
    private static Path exportFolder;
    private static final RecordingSink SINK = new RecordingSink();

    @BeforeAll
    static void startSecondDaemon() throws Exception {
        TestSupport.requireDocker();
        SecondDockerd.sweepLeftovers();
        unixDocker = DockerClients.commands(DockerSettings.defaults("orch-dk-test-client", DockerSettings.DEFAULT_HOST));
        TestSupport.sweep(unixDocker, UNIX_NAME);
        daemon = new SecondDockerd();
        daemon.start();
        DockerSettings tlsSettings = DockerSettings.defaults(TLS_NAME, daemon.host()).withTls(daemon.clientCerts)
            .withMonitorInterval(Duration.ofMillis(300)).withStopTimeout(Duration.ofSeconds(1));
        tlsDocker = DockerClients.commands(tlsSettings);
        // No registry: copy the client image over, docker save | docker load through the API.
        try (InputStream image = unixDocker.saveImageCmd("orchestrator/client").withTag("latest").exec()) {
            tlsDocker.loadImageCmd(image).exec();
        }
        exportFolder = Files.createTempDirectory("orch-dk-export-tls-");
        tls = new DockerProvider(tlsSettings.withExportFolder(exportFolder), () -> SINK);
        tls.start();
        unix = new DockerProvider(DockerSettings.defaults(UNIX_NAME, DockerSettings.DEFAULT_HOST)
            .withStopTimeout(Duration.ofSeconds(1)), () -> SINK);
        unix.start();
        assertThat(TestSupport.eventually(Duration.ofSeconds(10), () -> tls.daemonAvailable() && unix.daemonAvailable()))
            .isTrue();
    }

    @AfterAll
    static void stopSecondDaemon() throws Exception {
        try {
            if (unix != null) {
                for (Instance i : unix.list()) {
                    unix.destroy(i.id());
                }
                unix.close();
                TestSupport.sweep(unixDocker, UNIX_NAME);
                assertThat(TestSupport.containersOf(unixDocker, UNIX_NAME)).isEmpty();
            }
            if (tls != null) {
                tls.close();
            }
            if (tlsDocker != null) {
                TestSupport.sweep(tlsDocker, TLS_NAME);
                assertThat(TestSupport.containersOf(tlsDocker, TLS_NAME)).isEmpty();
                assertThat(TestSupport.exportedTags(tlsDocker)).isEmpty();
                tlsDocker.close();
            }
        } finally {
            if (daemon != null) {
                daemon.close();
                assertThat(daemon.root).doesNotExist();
            }
            if (exportFolder != null) {
                SecondDockerd.deleteTree(exportFolder);
            }
            if (unixDocker != null) {
                unixDocker.close();
            }
        }
    }

    @Test
    @Order(1)
    void roundTripOverTlsWhileTheUnixProviderServes() throws Exception {
        String onTls = TestSupport.newId("tls");
        String onUnix = TestSupport.newId("unx");
        Instance a = tls.provision(TestSupport.spec(onTls, TestSupport.duid(20), ResourceLimits.NONE, false));
        Instance b = unix.provision(TestSupport.spec(onUnix, TestSupport.duid(21), ResourceLimits.NONE, false));
        assertThat(a.state()).isEqualTo(InstanceState.RUNNING);
        assertThat(b.state()).isEqualTo(InstanceState.RUNNING);

        // each provider sees its own instance only, each daemon holds only its own container
        assertThat(tls.list()).extracting(Instance::id).containsExactly(onTls);
        assertThat(unix.list()).extracting(Instance::id).containsExactly(onUnix);
        assertThat(TestSupport.containersOf(tlsDocker, TLS_NAME)).hasSize(1);
        assertThat(TestSupport.containersOf(unixDocker, TLS_NAME)).isEmpty();
        assertThat(tls.inspect(onTls)).get().extracting(Instance::providerRef).isEqualTo(a.providerRef());
        assertThat(tls.provision(TestSupport.spec(onTls, TestSupport.duid(20), ResourceLimits.NONE, false)).providerRef())
            .isEqualTo(a.providerRef());
        // the second daemon runs on this machine, so its namespace is reachable too
        assertThat(tls.networkNamespace(onTls).path()).exists();

        String tag = TestSupport.EXPORT_REPO + onTls + ":tls";
        ExportResult saved = tls.export(new ExportRequest(onTls, tag, onTls + ".tar"));
        assertThat(saved.archive()).isRegularFile().hasParent(exportFolder.toRealPath());
        assertThat(saved.sizeBytes()).isGreaterThan(100_000);
        assertThat(tlsDocker.inspectImageCmd(tag).exec().getId()).isEqualTo(saved.imageId());
        assertThat(DockerProviderUnixTest.tarEntries(saved.archive())).contains("manifest.json");
        tlsDocker.removeImageCmd(tag).withForce(true).exec();

        // a spare on the remote daemon is personalised through the archive API, never in place
        String spare = TestSupport.newId("tsp");
        Instance made = tls.provision(DockerPersonaliseTest.spare(spare));
        Instance claimed = tls.personalise(DockerPersonaliseTest.claim(spare, TestSupport.duid(24)));
        assertThat(claimed.providerRef()).isEqualTo(made.providerRef());
        assertThat(tls.writesThroughArchive()).isEqualTo(1);
        assertThat(tls.writesInPlace()).isZero();
        for (String file : new String[] {"/www/duid", "/etc/orchestrator/client"}) {
            assertThat(daemon.cli("exec", made.providerRef(), "cat", file).requireOk(java.util.List.of("docker exec")).out())
                .isEqualTo(TestSupport.duid(24).value() + "\n");
        }
        assertThat(TestSupport.eventually(Duration.ofSeconds(10),
            () -> daemon.cli("inspect", "-f", "{{.Name}}", made.providerRef()).out().strip().equals("/" + claimed.name())))
            .isTrue();
        tls.destroy(spare);

        tls.destroy(onTls);
        tls.destroy(onTls);
        unix.destroy(onUnix);
        unix.destroy(onUnix);
        assertThat(tls.list()).isEmpty();
        assertThat(unix.list()).isEmpty();
        assertThat(SINK.about(onTls)).isEmpty();
        assertThat(SINK.about(onUnix)).isEmpty();
    }

    @Test
    @Order(2)
    void daemonOutageFailsFastThenProviderResyncs() throws Exception {
        String survivor = TestSupport.newId("srv");
        tls.provision(TestSupport.spec(survivor, TestSupport.duid(22), ResourceLimits.NONE, false));
        int availableBefore = countAvailable();

        daemon.stop();
        long start = System.nanoTime();
        assertThatThrownBy(tls::list).isInstanceOf(ProviderException.class)
            .hasMessageContaining("Docker daemon at " + daemon.host() + " is not reachable")
            .hasMessageContaining("start dockerd")
            .matches(e -> ((ProviderException) e).isTransient(), "transient");
        assertThatThrownBy(() -> tls.provision(TestSupport.spec(TestSupport.newId("out"), TestSupport.duid(23),
            ResourceLimits.NONE, false))).isInstanceOf(ProviderException.class)
            .matches(e -> ((ProviderException) e).isTransient(), "transient");
        assertThatThrownBy(() -> tls.destroy(survivor)).isInstanceOf(ProviderException.class)
            .matches(e -> ((ProviderException) e).isTransient(), "transient");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(TestSupport.eventually(Duration.ofSeconds(5), () -> !tls.daemonAvailable())).isTrue();
        // the unix provider is unaffected
        assertThat(unix.list()).isEmpty();

        daemon.start();
        RecordingSink.Report back = SINK.await(r -> r.instanceId() == null && TLS_NAME.equals(r.provider())
            && countAvailable() > availableBefore, Duration.ofSeconds(20));
        assertThat(back).withFailMessage("providerAvailable(%s) not called: %s", TLS_NAME, SINK.reports).isNotNull();
        assertThat(tls.list()).extracting(Instance::id).containsExactly(survivor);
        assertThat(SINK.reports).noneMatch(r -> UNIX_NAME.equals(r.provider()) && r.instanceId() == null);

        // events flow again after the re-subscription: a removal behind our back is reported
        Instance restarted = tls.provision(TestSupport.spec(survivor, TestSupport.duid(22), ResourceLimits.NONE, false));
        assertThat(restarted.state()).isEqualTo(InstanceState.RUNNING);
        daemon.cli("rm", "-f", "orch-" + survivor).requireOk(java.util.List.of("docker rm -f"));
        RecordingSink.Report removed = SINK.await(r -> survivor.equals(r.instanceId())
            && r.state() == InstanceState.REMOVED, Duration.ofSeconds(1));
        assertThat(removed).withFailMessage("no REMOVED report: %s", SINK.reports).isNotNull();
        assertThat(tls.list()).isEmpty();
    }

    private static int countAvailable() {
        return (int) SINK.reports.stream().filter(r -> r.instanceId() == null && TLS_NAME.equals(r.provider())).count();
    }
}
