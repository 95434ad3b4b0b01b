package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * File helpers: atomic replacement (temp file in the same folder, rename) with fixed modes; the
 * plug-in's own records are also forced to disk before the rename.
 */
final class Files2 {

    static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> READABLE = PosixFilePermissions.fromString("rw-r--r--");
    static final Set<PosixFilePermission> EXECUTABLE = PosixFilePermissions.fromString("rwxr-xr-x");
    static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> OPEN_DIR = PosixFilePermissions.fromString("rwxr-xr-x");

    private Files2() {
    }

    /** Replaces {@code target} atomically with {@code text}; readers see the old or the new file. */
    static void writeAtomically(Path target, String text, Set<PosixFilePermission> mode) throws IOException {
        writeAtomically(target, text.getBytes(StandardCharsets.UTF_8), mode);
    }

    static void writeAtomically(Path target, byte[] bytes, Set<PosixFilePermission> mode) throws IOException {
        replace(target, bytes, mode, true);
    }

    private static void replace(Path target, byte[] bytes, Set<PosixFilePermission> mode, boolean durable) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(mode));
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(bytes));
                if (durable) {
                    ch.force(true);
                }
            }
            Files.setPosixFilePermissions(tmp, mode);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Replaces {@code target} atomically with {@code text} unless it already holds exactly that
     * text with that mode: a reader watching the folder (dnsmasq's inotify) sees no event then.
     * For files derived from the plug-in's records (dnsmasq's host and name files, rewritten from
     * the pins file on every start): not forced to disk, as a pin sits on a device's way to its
     * instance and each force costs ~4-5 ms here; a power cut can only leave an older version,
     * which the next start replaces.
     *
     * @return whether the file was written
     */
    static boolean writeIfChanged(Path target, String text, Set<PosixFilePermission> mode) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (Files.isRegularFile(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && mode.equals(Files.getPosixFilePermissions(target, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                && java.util.Arrays.equals(bytes, Files.readAllBytes(target))) {
            return false;
        }
        replace(target, bytes, mode, false);
        return true;
    }

    /**
     * Deletes a file from a folder that dnsmasq watches as a {@code --dhcp-hostsdir}, without the
     * inotify delete event: dnsmasq would try to read the vanished file and log an error. It is
     * renamed to a dot name first, which dnsmasq ignores (and ignores being moved away from).
     *
     * @return whether the file existed
     */
    static boolean deleteUnnoticed(Path target) throws IOException {
        Path hidden = target.resolveSibling("." + target.getFileName() + ".gone");
        try {
            Files.move(target, hidden, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
        Files.deleteIfExists(hidden);
        return true;
    }

    /** Creates a folder (and parents) if needed and sets its mode. */
    static Path directory(Path dir, Set<PosixFilePermission> mode) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, mode);
        return dir;
    }

    /** Deletes a folder tree; missing files are fine. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
