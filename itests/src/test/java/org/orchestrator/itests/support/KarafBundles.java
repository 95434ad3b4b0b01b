package org.orchestrator.itests.support;

import java.io.IOException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads Karaf's {@code bundle:list --no-format}. Karaf 4.4's ShellTable separates the columns of
 * an unformatted table with a tab ({@code ID, State, Lvl, Version, Name}, or the location instead
 * of the name with {@code -l}); a formatted table separates them with {@code " | "} or
 * {@code " │ "}. Both are read, so a row never yields a whole line as its id.
 */
public final class KarafBundles {

    private static final Pattern ID = Pattern.compile("[0-9]+");
    private static final Pattern FORMATTED = Pattern.compile("\\s[|│]\\s");

    private KarafBundles() {
    }

    /** @return the trimmed cells of one row (empty cells kept, so the columns do not shift) */
    public static String[] columns(String line) {
        String[] cells = line.indexOf('\t') >= 0 ? line.split("\t", -1) : FORMATTED.split(line, -1);
        for (int i = 0; i < cells.length; i++) {
            cells[i] = cells[i].strip();
        }
        return cells;
    }

    /**
     * @param listing      the output of {@code bundle:list -t 0 --no-format}
     * @param nameFragment part of the bundle's name, e.g. {@code Docker}
     * @return the id of the one Orchestrator bundle whose name holds {@code nameFragment}, if any
     * @throws AssertionError when two bundles match or the matching row's id is not a number
     */
    public static Optional<String> findId(String listing, String nameFragment) {
        String id = null;
        for (String line : listing.split("\n")) {
            String[] cells = columns(line);
            if (cells.length < 2) {
                continue;
            }
            String name = cells[cells.length - 1];
            if (!name.contains("Orchestrator") || !name.contains(nameFragment)) {
                continue;
            }
            if (id != null) {
                throw new AssertionError("two bundles named *" + nameFragment + "* in:\n" + listing);
            }
            if (!ID.matcher(cells[0]).matches()) {
                throw new AssertionError("bundle id '" + cells[0] + "' is not a number; row: " + line.replace("\t", "\\t"));
            }
            id = cells[0];
        }
        return Optional.ofNullable(id);
    }

    /** @return the id of the one Orchestrator bundle whose name holds {@code nameFragment} (see {@link #findId}) */
    public static String id(String listing, String nameFragment) {
        return findId(listing, nameFragment)
            .orElseThrow(() -> new AssertionError("no bundle named *" + nameFragment + "* in:\n" + listing));
    }

    /** @return the id of the one Orchestrator bundle whose name holds {@code nameFragment}, asked of {@code karaf} */
    public static String id(KarafInstance karaf, String nameFragment) throws IOException {
        return id(karaf.exec("bundle:list -t 0 --no-format"), nameFragment);
    }

    /**
     * @param longListing the output of {@code bundle:list -l -t 0 --no-format}
     * @return the location of bundle {@code id}, if it is listed
     */
    public static Optional<String> location(String longListing, String id) {
        for (String line : longListing.split("\n")) {
            String[] cells = columns(line);
            if (cells.length > 1 && cells[0].equals(id)) {
                return Optional.of(cells[cells.length - 1]);
            }
        }
        return Optional.empty();
    }
}
