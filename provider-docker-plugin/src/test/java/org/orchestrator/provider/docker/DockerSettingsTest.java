package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.ResourceLimits;

/** Validation of settings and the small pure helpers. No daemon needed. */
class DockerSettingsTest {

    @Test
    void defaults_are_the_local_socket_with_a_minimal_capability_set() {
        DockerSettings s = DockerSettings.defaults("docker", DockerSettings.DEFAULT_HOST);
        assertThat(s.dockerHost()).isEqualTo(URI.create("unix:///var/run/docker.sock"));
        assertThat(s.capDrop()).containsExactly("ALL");
        assertThat(s.capAdd()).containsExactly("NET_BIND_SERVICE", "CHOWN", "SETUID", "SETGID");
        assertThat(s.tmpfs()).containsKeys("/tmp", "/www");
        assertThat(s.connectTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void rejects_bad_endpoints_names_and_capabilities() {
        assertThatThrownBy(() -> DockerSettings.defaults("Bad Name", DockerSettings.DEFAULT_HOST))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DockerSettings.defaults("d", "http://host:2375")).hasMessageContaining("unix:// or tcp://");
        assertThatThrownBy(() -> DockerSettings.defaults("d", "tcp://host")).hasMessageContaining("tcp://host:port");
        assertThatThrownBy(() -> DockerSettings.defaults("d", DockerSettings.DEFAULT_HOST).withTls(Path.of("/nonexistent")))
            .hasMessageContaining("tcp://");
        assertThatThrownBy(() -> DockerSettings.defaults("d", "tcp://127.0.0.1:2376").withTls(Path.of("/nonexistent")))
            .hasMessageContaining("ca.pem");
        DockerSettings base = DockerSettings.defaults("d", DockerSettings.DEFAULT_HOST);
        assertThatThrownBy(() -> new DockerSettings("d", base.dockerHost(), false, null, null, ResourceLimits.NONE,
            List.of("ALL"), List.of("NET_BIND_SERVICE; rm -rf"), Map.of(), base.connectTimeout(), base.responseTimeout(),
            base.stopTimeout(), base.pullTimeout(), base.monitorInterval())).hasMessageContaining("capAdd");
        assertThatThrownBy(() -> new DockerSettings("d", base.dockerHost(), false, null, null, ResourceLimits.NONE,
            List.of("ALL"), List.of("NOT_A_CAP"), Map.of(), base.connectTimeout(), base.responseTimeout(),
            base.stopTimeout(), base.pullTimeout(), base.monitorInterval())).hasMessageContaining("unknown capability");
        assertThatThrownBy(() -> DockerSettings.parseTmpfs(List.of("tmp:size=1m"))).hasMessageContaining("/path");
        assertThatThrownBy(() -> new DockerSettings("d", base.dockerHost(), false, null, null, ResourceLimits.NONE,
            List.of("ALL"), List.of(), Map.of("/a/../etc", ""), base.connectTimeout(), base.responseTimeout(),
            base.stopTimeout(), base.pullTimeout(), base.monitorInterval())).hasMessageContaining("tmpfs");
    }

    @Test
    void capability_names_are_normalised() {
        DockerSettings base = DockerSettings.defaults("d", DockerSettings.DEFAULT_HOST);
        DockerSettings s = new DockerSettings("d", base.dockerHost(), false, null, null, ResourceLimits.NONE,
            List.of("all"), List.of("cap_net_bind_service", " "), Map.of(), base.connectTimeout(),
            base.responseTimeout(), base.stopTimeout(), base.pullTimeout(), base.monitorInterval());
        assertThat(s.capDrop()).containsExactly("ALL");
        assertThat(s.capAdd()).containsExactly("NET_BIND_SERVICE");
    }

    @Test
    void tls_needs_all_three_pem_files(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "x");
        Files.writeString(dir.resolve("cert.pem"), "x");
        assertThatThrownBy(() -> DockerSettings.defaults("d", "tcp://127.0.0.1:2376").withTls(dir))
            .hasMessageContaining("key.pem");
        Files.writeString(dir.resolve("key.pem"), "x");
        assertThat(DockerSettings.defaults("d", "tcp://127.0.0.1:2376").withTls(dir).tlsVerify()).isTrue();
    }

    @Test
    void image_references_split_into_repository_and_tag() {
        assertThat(ImageReference.parse("busybox")).isEqualTo(new ImageReference("busybox", "latest"));
        assertThat(ImageReference.parse("orchestrator/client:latest"))
            .isEqualTo(new ImageReference("orchestrator/client", "latest"));
        assertThat(ImageReference.parse("registry:5000/app")).isEqualTo(new ImageReference("registry:5000/app", "latest"));
        assertThat(ImageReference.parse("registry:5000/app:1.2")).isEqualTo(new ImageReference("registry:5000/app", "1.2"));
        assertThat(ImageReference.parse("app@sha256:abc")).isEqualTo(new ImageReference("app", "sha256:abc"));
        assertThat(ImageReference.parse("app@sha256:abc").toString()).isEqualTo("app@sha256:abc");
    }

    @Test
    void archive_names_stay_inside_the_export_folder(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("exports");
        assertThat(ArchivePaths.resolve(folder, "a.tar")).isEqualTo(folder.toRealPath().resolve("a.tar"));
        for (String bad : List.of("..", ".", "../a.tar", "a/../../b", "/etc/passwd", ".hidden", "a\\b", "")) {
            assertThatThrownBy(() -> ArchivePaths.resolve(folder, bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        Files.createSymbolicLink(folder.resolve("link.tar"), dir.resolve("elsewhere.tar"));
        assertThatThrownBy(() -> ArchivePaths.resolve(folder, "link.tar")).hasMessageContaining("not a regular file");
    }

    @Test
    void own_actions_are_suppressed_per_container_and_action() throws Exception {
        OwnActions own = new OwnActions(200);
        own.begin("c1", OwnActions.REMOVE);
        assertThat(own.isOwn("c1", "die")).isTrue();
        assertThat(own.isOwn("c2", "die")).isFalse();
        own.end("c1", OwnActions.REMOVE);
        assertThat(own.isOwn("c1", "destroy")).isTrue();
        // used up by the event it matched
        assertThat(own.isOwn("c1", "destroy")).isFalse();
        own.begin("c3", OwnActions.START);
        own.end("c3", OwnActions.START);
        // someone else's removal right after our start is not ours
        assertThat(own.isOwn("c3", "destroy")).isFalse();
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (own.isOwnPeek("c3", "start") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(own.isOwn("c3", "start")).isFalse();
    }

    @Test
    void docker_states_map_to_instance_states() {
        assertThat(DockerProvider.state("running")).isEqualTo(InstanceState.RUNNING);
        assertThat(DockerProvider.state("created")).isEqualTo(InstanceState.CREATED);
        assertThat(DockerProvider.state("exited")).isEqualTo(InstanceState.STOPPED);
        assertThat(DockerProvider.state("paused")).isEqualTo(InstanceState.STOPPED);
        assertThat(DockerProvider.state("dead")).isEqualTo(InstanceState.DEAD);
        assertThat(DockerProvider.state("removing")).isEqualTo(InstanceState.REMOVED);
        assertThat(DockerProvider.state(null)).isEqualTo(InstanceState.DEAD);
    }
}
