package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

import org.junit.jupiter.api.Test;

/**
 * The manifest bnd generated (target/classes, before packaging): docker-java and HttpClient 5 are
 * embedded and private, their optional dependencies are optional imports, and the remaining imports
 * are packages of bundles a stock Karaf can install.
 */
class BundleManifestTest {

    private static final Path CLASSES = Path.of("target", "classes");
    private static final List<String> EMBEDDED = List.of("docker-java-core", "docker-java-api", "docker-java-transport",
        "docker-java-transport-httpclient5", "httpclient5", "httpcore5", "httpcore5-h2");

    @Test
    void docker_java_and_httpclient5_are_embedded_privately() throws IOException {
        Attributes main = manifest().getMainAttributes();
        assertThat(main.getValue("Bundle-SymbolicName")).isEqualTo("org.orchestrator.provider.docker");
        assertThat(main.getValue("Export-Package")).isNull();
        List<String> classPath = List.of(main.getValue("Bundle-ClassPath").split(","));
        assertThat(classPath).startsWith(".");
        for (String jar : EMBEDDED) {
            Path lib = CLASSES.resolve("lib").resolve(jar + ".jar");
            assertThat(classPath).contains("lib/" + jar + ".jar");
            assertThat(lib).isRegularFile();
        }
        try (JarFile core = new JarFile(CLASSES.resolve("lib/docker-java-core.jar").toFile());
             JarFile client = new JarFile(CLASSES.resolve("lib/httpclient5.jar").toFile())) {
            assertThat(core.getEntry("com/github/dockerjava/core/DockerClientImpl.class")).isNotNull();
            assertThat(client.getEntry("org/apache/hc/client5/http/impl/classic/HttpClientBuilder.class")).isNotNull();
        }
    }

    @Test
    void imports_name_only_bundles_and_optional_extras() throws IOException {
        List<String> imports = clauses(manifest().getMainAttributes().getValue("Import-Package"));
        assertThat(imports).noneMatch(c -> c.startsWith("org.apache.hc."));
        assertThat(imports).noneMatch(c -> c.startsWith("com.github.dockerjava"));
        for (String optional : List.of("org.brotli.dec", "org.conscrypt", "javax.annotation", "com.sun.jna")) {
            assertThat(imports).filteredOn(c -> c.startsWith(optional + ";")).singleElement().asString()
                .contains("resolution:=optional");
        }
        List<String> mandatory = imports.stream().filter(c -> !c.contains("resolution:=optional"))
            .map(c -> c.split(";")[0]).toList();
        assertThat(mandatory).allMatch(p -> p.startsWith("com.fasterxml.jackson.") || p.startsWith("com.google.common.")
            || p.startsWith("org.apache.commons.") || p.startsWith("org.bouncycastle.") || p.equals("org.slf4j")
            || p.startsWith("org.osgi.") || p.startsWith("org.orchestrator.api.") || p.startsWith("javax.")
            || p.equals("jdk.net") || p.equals("org.ietf.jgss"), "a package of a known bundle or the JRE");
    }

    private static Manifest manifest() throws IOException {
        Path file = CLASSES.resolve("META-INF/MANIFEST.MF");
        assertThat(file).withFailMessage("run the build through process-classes first (mvn test)").isRegularFile();
        try (InputStream in = Files.newInputStream(file)) {
            return new Manifest(in);
        }
    }

    /** Splits a header at top-level commas (not those inside quoted version ranges). */
    static List<String> clauses(String header) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (char c : header.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                out.add(current.toString().trim());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        if (!current.isEmpty()) {
            out.add(current.toString().trim());
        }
        return out;
    }
}
