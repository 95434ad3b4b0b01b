package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The mapping of the OSGi configuration to settings, with the annotation defaults DS would use. */
class DockerProviderComponentTest {

    static DockerProviderComponent.Config config(Map<String, Object> overrides) {
        return (DockerProviderComponent.Config) Proxy.newProxyInstance(DockerProviderComponent.Config.class.getClassLoader(),
            new Class<?>[] {DockerProviderComponent.Config.class},
            (proxy, method, args) -> overrides.containsKey(method.getName())
                ? overrides.get(method.getName()) : method.getDefaultValue());
    }

    @Test
    void defaults_give_the_local_daemon_with_moderate_limits() {
        DockerSettings s = DockerProviderComponent.settings(config(Map.of()));
        assertThat(s.name()).isEqualTo("docker");
        assertThat(s.dockerHost()).isEqualTo(URI.create("unix:///var/run/docker.sock"));
        assertThat(s.tlsVerify()).isFalse();
        assertThat(s.exportFolder()).isNull();
        assertThat(s.defaultLimits().memoryBytes()).isEqualTo(256L * 1024 * 1024);
        assertThat(s.defaultLimits().cpus()).isEqualTo(0.5);
        assertThat(s.defaultLimits().pids()).isEqualTo(128);
        assertThat(s.capDrop()).containsExactly("ALL");
        assertThat(s.capAdd()).contains("NET_BIND_SERVICE");
        assertThat(s.tmpfs()).containsEntry("/tmp", "rw,nosuid,nodev,size=16m");
        assertThat(s.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.monitorInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.directWrite()).isTrue();
        assertThat(s.localDaemon()).isTrue();
    }

    @Test
    void overrides_are_applied_and_validated() {
        DockerSettings s = DockerProviderComponent.settings(config(Map.of("name", "edge-1",
            "dockerHost", "tcp://127.0.0.1:2375", "exportFolder", "/var/lib/orchestrator/exports",
            "capAdd", new String[] {"NET_BIND_SERVICE"}, "stopTimeoutSeconds", 3L, "directWrite", false)));
        assertThat(s.directWrite()).isFalse();
        assertThat(s.localDaemon()).isFalse();
        assertThat(s.name()).isEqualTo("edge-1");
        assertThat(s.exportFolder()).isEqualTo(Path.of("/var/lib/orchestrator/exports"));
        assertThat(s.capAdd()).containsExactly("NET_BIND_SERVICE");
        assertThat(s.stopTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThatThrownBy(() -> DockerProviderComponent.settings(config(Map.of("dockerHost", "ftp://x"))))
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DockerProviderComponent.settings(config(Map.of("defaultPids", -1L))))
            .isInstanceOf(IllegalArgumentException.class);
    }
}
