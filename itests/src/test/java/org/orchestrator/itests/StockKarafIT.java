package org.orchestrator.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.orchestrator.itests.support.KarafInstance;

/**
 * The features repository installs into a stock Apache Karaf 4.4.10 with
 * {@code feature:repo-add} and {@code feature:install orchestrator}. The stock Karaf resolves
 * third-party bundles from Maven Central as usual; our own artifacts come from the built
 * distribution's {@code system/} folder, which is a Maven repository (in production they come
 * from wherever they are deployed).
 */
class StockKarafIT {

    static KarafInstance karaf;

    @BeforeAll
    static void boot() throws Exception {
        karaf = KarafInstance.prepareFrom(Path.of(System.getProperty("stock.karaf.dir", "target/stock-karaf")), "stock");
        // stock Karaf ships no user: add one for the test, as an operator would
        String password = UUID.randomUUID().toString();
        Files.writeString(karaf.home().resolve("etc/users.properties"),
            "admin = " + password + ",_g_:admingroup\n_g_\\:admingroup = group,admin,manager,viewer,systembundles,ssh\n");
        Files.writeString(karaf.home().resolve("etc/admin.password"), password + "\n");
        Path system = KarafInstance.distributionHome().resolve("system").toAbsolutePath();
        Path mvnCfg = karaf.home().resolve("etc/org.ops4j.pax.url.mvn.cfg");
        List<String> kept = new ArrayList<>();
        boolean continuation = false;
        for (String line : Files.readAllLines(mvnCfg)) {
            boolean repoKey = line.startsWith("org.ops4j.pax.url.mvn.defaultRepositories")
                || line.startsWith("org.ops4j.pax.url.mvn.repositories");
            if (repoKey || continuation) {
                continuation = line.endsWith("\\");
                continue;
            }
            kept.add(line);
        }
        kept.add("org.ops4j.pax.url.mvn.defaultRepositories = ${karaf.home.uri}${karaf.default.repository}@id=system.repository@snapshots, "
            + system.toUri() + "@id=orchestrator@snapshots");
        // Maven Central only: the snapshot repositories of the stock file are not reachable from here
        kept.add("org.ops4j.pax.url.mvn.repositories = https://repo1.maven.org/maven2@id=central");
        Files.write(mvnCfg, kept);
        karaf.start(Duration.ofSeconds(120), false);
    }

    @AfterAll
    static void shutdown() throws Exception {
        if (karaf != null) {
            karaf.stop(Duration.ofSeconds(60));
        }
    }

    @Test
    void orchestratorFeatureInstallsIntoStockKaraf() throws Exception {
        String version = System.getProperty("project.version", "0.1.0-SNAPSHOT");
        String repo = "mvn:org.orchestrator/orchestrator-karaf-features/" + version + "/xml/features";
        assertThat(karaf.exec("feature:repo-add " + repo)).doesNotContainIgnoringCase("error");
        String install = karaf.exec("feature:install orchestrator", Duration.ofMinutes(5));
        assertThat(install).doesNotContainIgnoringCase("error").doesNotContain("Unable to resolve");

        assertThat(karaf.execUntil("feature:list -i", out -> out.contains("orchestrator "), Duration.ofSeconds(30)))
            .contains("orchestrator-core").contains("orchestrator-dnsmasq").contains("orchestrator-docker")
            .contains("orchestrator-pipework").contains("orchestrator-web-console");

        String bundles = karaf.execUntil("bundle:list -t 0 --no-format",
            out -> out.lines().filter(l -> l.contains("Orchestrator ::")).allMatch(l -> l.contains("Active"))
                && out.contains("Orchestrator :: Core"), Duration.ofSeconds(60));
        List<String> ours = Arrays.stream(bundles.split("\n")).filter(l -> l.contains("Orchestrator ::")).toList();
        assertThat(ours).hasSize(6);

        // core is up and answers through its shell commands
        assertThat(karaf.execUntil("orchestrator:providers", out -> out.contains("Kind"), Duration.ofSeconds(30)))
            .contains("Bundle state");
        assertThat(karaf.exec("orchestrator:clients")).contains("DUID");
    }
}
