package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.ResourceLimits;

/** Shared pieces of the tests against real Docker daemons. */
final class TestSupport {

    static final String IMAGE = "orchestrator/client:latest";
    static final Path SOCKET = Path.of("/var/run/docker.sock");
    /** Our exported images are tagged under this repository prefix. */
    static final String EXPORT_REPO = "orch-dk-export/";

    private TestSupport() {
    }

    /** Fails clearly when the shared daemon is missing; builds the client image when it is missing. */
    static void requireDocker() {
        assertThat(Files.exists(SOCKET))
            .withFailMessage("%s is missing: start dockerd (bash scripts/test-env.sh) before these tests", SOCKET)
            .isTrue();
        Procs.Result version = Procs.run(Duration.ofSeconds(20), "docker", "version", "--format", "{{.Server.Version}}");
        assertThat(version.exit())
            .withFailMessage("dockerd does not answer on %s: %s; run bash scripts/test-env.sh", SOCKET, version.err())
            .isZero();
        if (Procs.run(Duration.ofSeconds(20), "docker", "image", "inspect", IMAGE).exit() != 0) {
            Path script = Path.of(System.getProperty("user.dir")).resolveSibling("scripts").resolve("build-client-image.sh");
            Procs.ok(Duration.ofMinutes(2), "bash", script.toString());
        }
    }

    /**
     * A client of the shared daemon for a test class's own look at it, after {@link #requireDocker}
     * and after sweeping what provider {@code providerName} left there (a test run that was killed).
     */
    static DockerClient sharedDaemon(String providerName) {
        requireDocker();
        DockerClient docker = DockerClients.commands(DockerSettings.defaults("orch-dk-test-client", DockerSettings.DEFAULT_HOST));
        sweep(docker, providerName);
        return docker;
    }

    /**
     * Sweeps provider {@code providerName}'s containers from the shared daemon, checks that none was
     * left to sweep, runs the class's own checks of what must be gone, and closes the client.
     */
    static void leaveNothing(DockerClient docker, String providerName, Runnable alsoGone) throws IOException {
        try {
            sweep(docker, providerName);
            assertThat(containersOf(docker, providerName)).isEmpty();
            alsoGone.run();
        } finally {
            docker.close();
        }
    }

    static String newId(String tag) {
        return "dk-" + tag + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Duid duid(int n) {
        return Duid.parse(String.format("00:03:00:01:02:00:00:00:%02x:%02x", (n >> 8) & 0xff, n & 0xff));
    }

    static InstanceSpec spec(String instanceId, Duid client, ResourceLimits limits, boolean readOnly) {
        return new InstanceSpec(instanceId, client, IMAGE, List.of(), Map.of("EXTRA", "1"),
            Map.of("test.owner", "orch-dk", "org.orchestrator.managed", "forged"), limits, readOnly,
            instanceId + ".test");
    }

    /** Removes every container of the given provider and every image we exported, on one daemon. */
    static void sweep(DockerClient docker, String providerName) {
        List<Container> leftovers = docker.listContainersCmd().withShowAll(true)
            .withLabelFilter(Map.of(Labels.PROVIDER, providerName)).exec();
        for (Container c : leftovers) {
            try {
                docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
            } catch (NotFoundException e) {
                // gone meanwhile
            }
        }
        docker.listImagesCmd().exec().stream()
            .filter(i -> i.getRepoTags() != null)
            .flatMap(i -> java.util.Arrays.stream(i.getRepoTags()))
            .filter(tag -> tag.startsWith(EXPORT_REPO))
            .forEach(tag -> {
                try {
                    docker.removeImageCmd(tag).withForce(true).exec();
                } catch (NotFoundException e) {
                    // gone meanwhile
                }
            });
    }

    static List<Container> containersOf(DockerClient docker, String providerName) {
        return docker.listContainersCmd().withShowAll(true)
            .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.PROVIDER, providerName)).exec();
    }

    static List<String> exportedTags(DockerClient docker) {
        return docker.listImagesCmd().exec().stream()
            .filter(i -> i.getRepoTags() != null)
            .flatMap(i -> java.util.Arrays.stream(i.getRepoTags()))
            .filter(tag -> tag.startsWith(EXPORT_REPO))
            .toList();
    }

    /** Polls until the condition holds or the deadline passes. */
    static boolean eventually(Duration timeout, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() - deadline < 0) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }
}
