package org.orchestrator.provider.docker;

import java.time.Duration;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;

/** Builds docker-java clients for one endpoint. */
final class DockerClients {

    /** The event stream is idle for long stretches; outages are noticed by the monitor instead. */
    private static final Duration EVENTS_RESPONSE_TIMEOUT = Duration.ofDays(365);

    private DockerClients() {
    }

    /** @return a client for ordinary calls: short connect timeout, bounded response time */
    static DockerClient commands(DockerSettings settings) {
        return create(settings, settings.responseTimeout(), 50);
    }

    /** @return a client for the long-lived event stream */
    static DockerClient events(DockerSettings settings) {
        return create(settings, EVENTS_RESPONSE_TIMEOUT, 2);
    }

    private static DockerClient create(DockerSettings settings, Duration responseTimeout, int maxConnections) {
        // Explicit values override whatever DOCKER_* variables the JVM happens to see.
        DefaultDockerClientConfig.Builder builder = DefaultDockerClientConfig.createDefaultConfigBuilder()
            .withDockerHost(settings.dockerHost().toString())
            .withDockerTlsVerify(settings.tlsVerify());
        if (settings.tlsVerify()) {
            builder.withDockerCertPath(settings.certPath().toString());
        }
        DockerClientConfig config = builder.build();
        ApacheDockerHttpClient http = new ApacheDockerHttpClient.Builder()
            .dockerHost(config.getDockerHost())
            .sslConfig(config.getSSLConfig())
            .maxConnections(maxConnections)
            .connectionTimeout(settings.connectTimeout())
            .responseTimeout(responseTimeout)
            .build();
        return DockerClientImpl.getInstance(config, http);
    }
}
