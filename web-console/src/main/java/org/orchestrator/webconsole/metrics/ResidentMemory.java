package org.orchestrator.webconsole.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The resident set size of this JVM process from {@code /proc/self/status} (Linux), which Micrometer's
 * JVM binders do not report: heap and non-heap pools leave out thread stacks, code, mapped files
 * and the allocator's own memory.
 */
final class ResidentMemory {

    private static final Path STATUS = Path.of("/proc/self/status");

    private ResidentMemory() {
    }

    /** @return the resident set size in bytes, or NaN where {@code /proc/self/status} has none */
    static double bytes() {
        return bytes(STATUS);
    }

    static double bytes(Path status) {
        try {
            return parse(Files.readString(status, StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** @return the {@code VmRSS} line's value (kB) in bytes, or NaN when there is none */
    static double parse(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String[] parts = line.substring("VmRSS:".length()).trim().split("\\s+");
                if (parts.length == 2 && parts[1].equals("kB")) {
                    return Long.parseLong(parts[0]) * 1024.0;
                }
            }
        }
        return Double.NaN;
    }
}
