package org.orchestrator.core.internal.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** URL handling of the store component (no framework needed). */
class StoreComponentTest {

    @Test
    void karafDataIsResolvedAndTheDriverFollowsTheScheme() {
        String previous = System.getProperty("karaf.data");
        System.setProperty("karaf.data", "/opt/karaf/data");
        try {
            assertThat(StoreComponent.resolve("")).isEqualTo("jdbc:h2:file:/opt/karaf/data/orchestrator/store;DB_CLOSE_ON_EXIT=FALSE"
                + ";QUERY_CACHE_SIZE=128;OPTIMIZE_REUSE_RESULTS=FALSE");
        } finally {
            if (previous == null) {
                System.clearProperty("karaf.data");
            } else {
                System.setProperty("karaf.data", previous);
            }
        }
        assertThat(StoreComponent.driverFor("jdbc:h2:mem:x")).isEqualTo("org.h2.Driver");
        assertThat(StoreComponent.driverFor("jdbc:postgresql://db/orch")).isEqualTo("org.postgresql.Driver");
        assertThatThrownBy(() -> StoreComponent.driverFor("jdbc:mysql://db/x?password=secret"))
            .isInstanceOf(IllegalArgumentException.class).message().doesNotContain("secret");
    }

    @Test
    void h2GetsALargerStatementCacheUnlessTheUrlSetsOne() {
        assertThat(StoreComponent.tuned("jdbc:h2:mem:x")).isEqualTo("jdbc:h2:mem:x;QUERY_CACHE_SIZE=128;OPTIMIZE_REUSE_RESULTS=FALSE");
        assertThat(StoreComponent.tuned("jdbc:h2:mem:x;query_cache_size=4;optimize_reuse_results=true"))
            .isEqualTo("jdbc:h2:mem:x;query_cache_size=4;optimize_reuse_results=true");
        assertThat(StoreComponent.tuned("jdbc:postgresql://db/orch")).isEqualTo("jdbc:postgresql://db/orch");
    }

    @Test
    void credentialsNeverAppearInTheDescription() {
        assertThat(StoreComponent.redact("jdbc:postgresql://db:5432/orch?user=u&password=secret")).isEqualTo("jdbc:postgresql://db:5432/orch");
        assertThat(StoreComponent.redact("jdbc:h2:file:/x;PASSWORD=secret")).isEqualTo("jdbc:h2:file:/x");
    }
}
