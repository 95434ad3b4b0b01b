package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;

import com.github.dockerjava.api.exception.BadRequestException;
import com.github.dockerjava.api.exception.InternalServerErrorException;

import org.junit.jupiter.api.Test;
import org.orchestrator.api.provider.ProviderException;

/** How docker-java failures become messages and transient flags. */
class DockerErrorsTest {

    private final DockerErrors errors = new DockerErrors(URI.create("unix:///var/run/docker.sock"));

    @Test
    void io_failures_are_transient_and_say_how_to_fix_them() {
        ProviderException e = errors.translate("list instances",
            new RuntimeException(new ConnectException("Connection refused")));
        assertThat(e.isTransient()).isTrue();
        assertThat(e).hasMessage("Docker daemon at unix:///var/run/docker.sock is not reachable: ConnectException "
            + "Connection refused; start dockerd (could not list instances)");
    }

    @Test
    void daemon_refusals_keep_the_daemons_words() {
        ProviderException bad = errors.translate("provision instance a",
            new BadRequestException("Status 400: {\"message\":\"invalid reference format\"}\n"));
        assertThat(bad.isTransient()).isFalse();
        assertThat(bad).hasMessageContaining("refused to provision instance a: invalid reference format (HTTP 400)");
        ProviderException busy = errors.translate("start instance a",
            new InternalServerErrorException("Status 500: {\"message\":\"context deadline exceeded\"}"));
        assertThat(busy.isTransient()).isTrue();
        ProviderException runtime = errors.translate("start instance a", new InternalServerErrorException(
            "Status 500: {\"message\":\"OCI runtime create failed: exec: /nope: no such file\"}"));
        assertThat(runtime.isTransient()).isFalse();
    }

    @Test
    void io_cause_is_found_deep_in_the_chain() {
        IOException io = new IOException("broken pipe");
        assertThat(DockerErrors.ioCause(new RuntimeException(new IllegalStateException(io)))).isSameAs(io);
        assertThat(DockerErrors.ioCause(new RuntimeException("no io"))).isNull();
    }
}
