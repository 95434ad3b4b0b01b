package org.orchestrator.itests.reliability;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects one row per scenario and writes {@code target/reliability-report.md}: scenarios run,
 * faults injected and survived, hostile inputs tried, refused and accepted without effect, items
 * lost; then which scenario covers which demand of issue #8.
 */
final class Report {

    /** One scenario's outcome. */
    static final class Row {
        final String scenario;
        /** Faults injected (a process killed or stopped, a bundle removed, a folder made immutable ...). */
        int faults;
        /** Faults after which the platform converged again with the invariant holding. */
        int survived;
        /** Hostile or malformed inputs tried. */
        int inputs;
        /** Inputs refused with an error (400/401/403/413, ERR from the hook socket, a refused shell command ...). */
        int rejected;
        /** Inputs accepted without effect: replays, stale or out-of-order events, text the plug-in never reads. */
        int harmless;
        /** Devices without an active lease or a READY client at the end. */
        int lost;
        long millis;
        boolean passed;
        String notes = "";

        Row(String scenario) {
            this.scenario = scenario;
        }
    }

    private final List<Row> rows = new ArrayList<>();
    private final List<String> extra = new ArrayList<>();
    private final Map<String, List<String>> coverage = new LinkedHashMap<>();

    synchronized Row row(String scenario) {
        Row r = new Row(scenario);
        rows.add(r);
        return r;
    }

    synchronized void note(String line) {
        extra.add(line);
    }

    /** Records that {@code scenario} covers the demand {@code item} of the issue. */
    synchronized void covers(String item, String scenario) {
        coverage.computeIfAbsent(item, k -> new ArrayList<>()).add(scenario);
    }

    synchronized void write(Path file) throws IOException {
        StringBuilder sb = new StringBuilder("# Reliability report\n\n");
        sb.append("| scenario | result | faults injected | survived | inputs tried | refused | harmless | items lost | duration s | notes |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
        int f = 0;
        int s = 0;
        int i = 0;
        int r = 0;
        int h = 0;
        int l = 0;
        long ms = 0;
        for (Row row : rows) {
            sb.append("| ").append(row.scenario).append(" | ").append(row.passed ? "pass" : "FAIL").append(" | ")
                .append(row.faults).append(" | ").append(row.survived).append(" | ").append(row.inputs).append(" | ")
                .append(row.rejected).append(" | ").append(row.harmless).append(" | ").append(row.lost).append(" | ")
                .append(String.format("%.1f", row.millis / 1000.0)).append(" | ").append(row.notes.replace("|", "/")).append(" |\n");
            f += row.faults;
            s += row.survived;
            i += row.inputs;
            r += row.rejected;
            h += row.harmless;
            l += row.lost;
            ms += row.millis;
        }
        sb.append("| **total** (").append(rows.size()).append(" scenarios, ")
            .append(rows.stream().filter(x -> x.passed).count()).append(" passed) | | ")
            .append(f).append(" | ").append(s).append(" | ").append(i).append(" | ").append(r).append(" | ").append(h).append(" | ")
            .append(l).append(" | ").append(String.format("%.1f", ms / 1000.0)).append(" | |\n\n");
        sb.append("Refused: the input was answered with an error and changed nothing. Harmless: it was accepted and"
            + " changed nothing (a replay, a stale or out-of-order event, text the plug-in never reads). Lost: devices"
            + " without an active lease or a READY client at the end of the scenario.\n\n");
        if (!coverage.isEmpty()) {
            sb.append("| demand of issue #8 | covered by |\n|---|---|\n");
            coverage.forEach((item, scenarios) -> sb.append("| ").append(item.replace("|", "/")).append(" | ")
                .append(String.join("; ", scenarios).replace("|", "/")).append(" |\n"));
            sb.append('\n');
        }
        for (String e : extra) {
            sb.append(e).append('\n');
        }
        Files.createDirectories(file.getParent());
        Files.writeString(file, sb.toString());
    }
}
