package org.orchestrator.provider.docker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.orchestrator.api.lease.Identifiers;

/**
 * Resolves export archive names inside the configured export folder. {@code ExportRequest}
 * validates names already; this is the second line of defence against path traversal, checked on
 * the real (symlink-free) folder.
 */
final class ArchivePaths {

    private ArchivePaths() {
    }

    /**
     * @param folder the export folder; created when missing
     * @param name   a plain file name
     * @return the absolute path of the archive, directly inside the folder
     * @throws IllegalArgumentException when the name would leave the folder or is not a plain name
     * @throws IOException              when the folder cannot be created or resolved
     */
    static Path resolve(Path folder, String name) throws IOException {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
            || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0 || name.startsWith(".")) {
            throw new IllegalArgumentException("archive name must be a plain file name: " + Identifiers.quote(name));
        }
        Files.createDirectories(folder);
        Path real = folder.toRealPath();
        Path target = real.resolve(name).normalize();
        if (!real.equals(target.getParent())) {
            throw new IllegalArgumentException("archive name leaves the export folder: " + Identifiers.quote(name));
        }
        if (Files.isSymbolicLink(target) || Files.isDirectory(target)) {
            throw new IllegalArgumentException("archive " + Identifiers.quote(name) + " exists and is not a regular file");
        }
        return target;
    }
}
