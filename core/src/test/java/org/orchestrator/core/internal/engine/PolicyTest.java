package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Route parsing and matching, environment parsing, backoff. */
class PolicyTest {

    @Test
    void severalRoutesInOneEntrySeparatedBySemicolons() {
        // what a .cfg file delivers: one string
        Policy p = Policy.builder().routes(List.of(" lan=docker,lan-net ; lan2=docker2,lan2-net;")).build();
        assertThat(p.routes()).hasSize(2);
        assertThat(p.routes().get(0).provider()).isEqualTo("docker");
        assertThat(p.routes().get(0).targetNetwork()).isEqualTo("lan-net");
        assertThat(p.routes().get(1).source()).isEqualTo("lan2");
        assertThat(p.routes().get(1).provider()).isEqualTo("docker2");
        assertThat(p.routes().get(1).targetNetwork()).isEqualTo("lan2-net");
        assertThatThrownBy(() -> Policy.builder().routes(List.of("lan=docker,lan-net, lan2=docker2,lan2-net")))
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void mostSpecificRouteWins() {
        Policy p = Policy.builder().routes(List.of("*=docker,devices", "lan=docker,lan-net", "lan/eth1=podman,guests")).build();
        assertThat(p.route("lan", "eth1")).map(Policy.Route::provider).contains("podman");
        assertThat(p.route("lan", "eth0")).map(Policy.Route::targetNetwork).contains("lan-net");
        assertThat(p.route("wifi", null)).map(Policy.Route::targetNetwork).contains("devices");
        assertThat(Policy.builder().build().route("lan", null)).isEmpty();
    }

    @Test
    void badRoutesAreRejectedWithTheText() {
        assertThatThrownBy(() -> Policy.Route.parse("lan=docker")).hasMessageContaining("lan=docker");
        assertThatThrownBy(() -> Policy.Route.parse("LAN;rm=docker,x")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Policy.Route.parse(" lan / eth0 = docker , devices ").toString()).isEqualTo("lan/eth0=docker,devices");
    }

    @Test
    void environmentEntriesMustBeNameEqualsValue() {
        assertThat(Policy.parseEnvironment(new String[] {"A=1", "B=x=y", ""})).containsEntry("A", "1").containsEntry("B", "x=y");
        assertThatThrownBy(() -> Policy.parseEnvironment(new String[] {"no-equals"})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Policy.parseEnvironment(new String[] {"1A=b"})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void backoffGrowsExponentiallyWithJitterUpToTheCap() {
        Duration base = Duration.ofMillis(100);
        Duration max = Duration.ofSeconds(5);
        for (int i = 0; i < 50; i++) {
            assertThat(Backoff.delay(base, max, 1)).isBetween(Duration.ofMillis(80), Duration.ofMillis(120));
            assertThat(Backoff.delay(base, max, 4)).isBetween(Duration.ofMillis(640), Duration.ofMillis(960));
            assertThat(Backoff.delay(base, max, 40)).isBetween(Duration.ofMillis(4000), max);
        }
    }

    @Test
    void invalidPoliciesAreRejected() {
        assertThatThrownBy(() -> Policy.builder().concurrency(0).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Policy.builder().releaseGrace(Duration.ofSeconds(-1)).build()).isInstanceOf(IllegalArgumentException.class);
    }
}
