package org.orchestrator.itests.reliability;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects one row per scenario and writes {@code target/reliability-report.md}: scenarios run,
 * faults injected and survived, hostile inputs tried and rejected, items lost.
 */
final class Report {

    /** One scenario's outcome. */
    static final class Row {
        final String scenario;
        int faults;
        int survived;
        int inputs;
        int rejected;
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

    synchronized Row row(String scenario) {
        Row r = new Row(scenario);
        rows.add(r);
        return r;
    }

    synchronized void note(String line) {
        extra.add(line);
    }

    synchronized void write(Path file) throws IOException {
        StringBuilder sb = new StringBuilder("# Reliability report\n\n");
        sb.append("| scenario | result | faults injected | survived | inputs tried | rejected | items lost | duration s | notes |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        int f = 0;
        int s = 0;
        int i = 0;
        int r = 0;
        int l = 0;
        for (Row row : rows) {
            sb.append("| ").append(row.scenario).append(" | ").append(row.passed ? "pass" : "FAIL").append(" | ")
                .append(row.faults).append(" | ").append(row.survived).append(" | ").append(row.inputs).append(" | ")
                .append(row.rejected).append(" | ").append(row.lost).append(" | ")
                .append(String.format("%.1f", row.millis / 1000.0)).append(" | ").append(row.notes.replace("|", "/")).append(" |\n");
            f += row.faults;
            s += row.survived;
            i += row.inputs;
            r += row.rejected;
            l += row.lost;
        }
        sb.append("| **total** (").append(rows.size()).append(" scenarios, ")
            .append(rows.stream().filter(x -> x.passed).count()).append(" passed) | | ")
            .append(f).append(" | ").append(s).append(" | ").append(i).append(" | ").append(r).append(" | ").append(l).append(" | | |\n\n");
        for (String e : extra) {
            sb.append(e).append('\n');
        }
        Files.createDirectories(file.getParent());
        Files.writeString(file, sb.toString());
    }
}
