package org.orchestrator.provider.docker;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes small files straight into the root file system of a running container on this host,
 * through {@code /proc/<pid>/root} of its init process: a few system calls instead of the Docker
 * archive API, for which dockerd re-executes a helper to unpack a tar (about 100 ms).
 *
 * <p>Security. Path resolution through {@code /proc/<pid>/root} is done by the host's kernel for
 * the host's process: an absolute symbolic link inside the container (say {@code /www ->
 * /etc}) would resolve against the host's root and let the image make us write anywhere on the
 * host. So no path is ever resolved by name past {@code /proc/<pid>/root}: the root is opened
 * once as a directory handle ({@link SecureDirectoryStream}, i.e. a directory file descriptor),
 * and each further component is looked up relative to its parent's handle with
 * {@code O_NOFOLLOW}/{@code AT_SYMLINK_NOFOLLOW} ({@code openat}, {@code fstatat}). A component that
 * is a symbolic link or not a directory, or a directory that does not exist, is refused (this
 * class creates no directories). Each file is created as a new temporary file in its target
 * directory ({@code CREATE_NEW}, {@code O_NOFOLLOW}, mode 0644), written, its mode and owner
 * corrected through a no-follow handle where the umask or a set-group-id directory changed them,
 * and renamed over the target within the same directory ({@code renameat}, atomic: a reader sees
 * the old file or the new one; a symbolic link at the target is replaced, not followed).
 *
 * <p>The process is checked before its root is trusted: it must be in a cgroup that names the
 * container's full id, its user and group id maps must be the identity (a user-namespaced daemon
 * would need other owners; the archive API handles those), and its start time must be the same
 * before and after its root was opened, so that the handle cannot belong to a process that
 * reused the pid meanwhile.
 *
 * <p>Residual race, accepted: a process inside the container that renames directories while we
 * write can, between our {@code fstatat} and {@code openat} of one component, put a FIFO in its
 * place; opening it then blocks until someone writes to it (a stalled call, not an escape: the
 * handle never leaves the container's tree). The symlink checks cannot be raced, because every
 * open is relative to an already opened directory handle and does not follow a final link. A
 * spare is attached to no network, so no device can reach it yet; only the image's own processes
 * run in it.
 *
 * <p>Stateless and thread-safe. Needs root (or {@code CAP_SYS_PTRACE} and write access) and a
 * daemon whose process ids are those of this host; every failure is an {@link IOException} and
 * leaves at most a stray temporary file inside the container.
 */
final class ProcRootWriter {

    /** The mode of every file written, as in the {@link IdentityArchive} tar. */
    static final Set<PosixFilePermission> MODE = PosixFilePermissions.fromString("rw-r--r--");

    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final Set<OpenOption> CREATE = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path proc;

    /** @param proc where procfs is mounted, normally {@code /proc} */
    ProcRootWriter(Path proc) {
        this.proc = Objects.requireNonNull(proc, "proc");
    }

    /** Why the files were not written: something in the container or the process is not as required. */
    static final class Refused extends IOException {

        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    /**
     * @return the start time of process {@code pid} when it runs in a cgroup of container
     * {@code containerId}, else -1 (gone, or another container's or no container's process)
     */
    long startTimeIfProcessOf(long pid, String containerId) {
        if (pid <= 1) {
            return -1;
        }
        Path process = proc.resolve(Long.toString(pid));
        try {
            long started = startTime(process);
            requireCgroup(process, containerId);
            return started;
        } catch (IOException e) {
            return -1;
        }
    }

    /** @return whether process {@code pid} is still the one that started at {@code startTime} in container {@code containerId} */
    boolean isProcessOf(long pid, String containerId, long startTime) {
        return startTime >= 0 && startTimeIfProcessOf(pid, containerId) == startTime;
    }

    /**
     * Writes {@code files} into the root of process {@code pid}, which must belong to container
     * {@code containerId}.
     *
     * @param pid         the container's init process, as the daemon reports it ({@code State.Pid})
     * @param containerId the container's full id
     * @param files       contents by path relative to {@code /}, written in this order
     * @throws Refused     when the process or a path component is not as required (nothing written
     *                     from that file on)
     * @throws IOException when a system call failed (e.g. a read-only file system)
     */
    void write(long pid, String containerId, Map<String, String> files) throws IOException {
        write(pid, containerId, -1, files);
    }

    /**
     * Like {@link #write(long, String, Map)}, for a process known from earlier: it must still have
     * started at {@code startTime}.
     *
     * @param startTime the process's start time as {@link #startTimeIfProcessOf} saw it; -1 = any
     * @throws Refused also when process {@code pid} is not the one that started at {@code startTime}
     */
    void write(long pid, String containerId, long startTime, Map<String, String> files) throws IOException {
        Objects.requireNonNull(containerId, "containerId");
        if (pid <= 1) {
            throw new Refused("pid " + pid + " is not a container's process");
        }
        Path process = proc.resolve(Long.toString(pid));
        long started = startTime(process);
        if (startTime >= 0 && started != startTime) {
            throw new Refused("process " + pid + " is not the one that started at " + startTime + " any more");
        }
        requireCgroup(process, containerId);
        requireIdentityMap(process.resolve("uid_map"));
        requireIdentityMap(process.resolve("gid_map"));
        DirectoryStream<Path> opened;
        try {
            opened = Files.newDirectoryStream(process.resolve("root"));
        } catch (NoSuchFileException e) {
            throw new Refused("process " + pid + " is gone");
        }
        try (opened) {
            if (!(opened instanceof SecureDirectoryStream<Path> root)) {
                throw new Refused("this JDK offers no SecureDirectoryStream (openat) here");
            }
            if (startTime(process) != started) {
                throw new Refused("process " + pid + " ended while its root was opened");
            }
            writeAll(root, files);
        }
    }

    /**
     * Writes {@code files} under the directory handle {@code root} without following any symbolic
     * link. Package-private for tests, which pass a plain directory as the root.
     */
    static void writeAll(SecureDirectoryStream<Path> root, Map<String, String> files) throws IOException {
        for (Map.Entry<String, String> file : files.entrySet()) {
            List<String> parts = components(file.getKey());
            Deque<SecureDirectoryStream<Path>> opened = new ArrayDeque<>();
            try {
                SecureDirectoryStream<Path> dir = root;
                StringBuilder walked = new StringBuilder();
                for (String part : parts.subList(0, parts.size() - 1)) {
                    walked.append('/').append(part);
                    dir = openDirectory(dir, part, walked);
                    opened.push(dir);
                }
                replaceFile(dir, parts.get(parts.size() - 1), file.getValue().getBytes(StandardCharsets.UTF_8),
                    "/" + file.getKey());
            } finally {
                IOException closeFailure = null;
                while (!opened.isEmpty()) {
                    try {
                        opened.pop().close();
                    } catch (IOException e) {
                        closeFailure = e;
                    }
                }
                if (closeFailure != null) {
                    throw closeFailure;
                }
            }
        }
    }

    private static SecureDirectoryStream<Path> openDirectory(SecureDirectoryStream<Path> parent, String name,
                                                             CharSequence shown) throws IOException {
        Path child = Path.of(name);
        BasicFileAttributes attributes;
        try {
            attributes = parent.getFileAttributeView(child, BasicFileAttributeView.class, NOFOLLOW).readAttributes();
        } catch (NoSuchFileException e) {
            throw new Refused(shown + " does not exist in the container");
        }
        if (attributes.isSymbolicLink()) {
            throw new Refused(shown + " is a symbolic link in the container; not followed");
        }
        if (!attributes.isDirectory()) {
            throw new Refused(shown + " is not a directory in the container");
        }
        // O_NOFOLLOW again: the component may have been swapped for a link since fstatat.
        return parent.newDirectoryStream(child, NOFOLLOW);
    }

    private static void replaceFile(SecureDirectoryStream<Path> dir, String name, byte[] data, String shown)
        throws IOException {
        Path target = Path.of(name);
        Path temp = Path.of("." + name + ".orch-" + HexFormat.of().toHexDigits(RANDOM.nextLong()) + ".tmp");
        boolean moved = false;
        try {
            try (SeekableByteChannel out = dir.newByteChannel(temp, CREATE, PosixFilePermissions.asFileAttribute(MODE))) {
                ByteBuffer buffer = ByteBuffer.wrap(data);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
            }
            PosixFileAttributeView view = dir.getFileAttributeView(temp, PosixFileAttributeView.class, NOFOLLOW);
            PosixFileAttributes written = view.readAttributes();
            if (!written.isRegularFile() || written.size() != data.length) {
                throw new Refused("the temporary file for " + shown + " was replaced while it was written");
            }
            if (!written.permissions().equals(MODE)) {
                view.setPermissions(MODE);
            }
            if (Root.USER == null || Root.GROUP == null) {
                throw new Refused("uid or gid 0 cannot be looked up on this host");
            }
            if (!written.owner().equals(Root.USER)) {
                view.setOwner(Root.USER);
            }
            if (!written.group().equals(Root.GROUP)) {
                view.setGroup(Root.GROUP);
            }
            dir.move(temp, dir, target);
            moved = true;
        } finally {
            if (!moved) {
                try {
                    dir.deleteFile(temp);
                } catch (IOException e) {
                    // never created, or removed by the container meanwhile
                }
            }
        }
    }

    /** @return the components of a relative path; none empty, {@code .} or {@code ..} */
    static List<String> components(String relative) {
        if (relative.isEmpty() || relative.startsWith("/") || relative.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a plain relative path: " + relative);
        }
        List<String> parts = List.of(relative.split("/", -1));
        for (String part : parts) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException("not a plain relative path: " + relative);
            }
        }
        return parts;
    }

    /** @return the start time of the process in clock ticks after boot (field 22 of {@code stat}) */
    static long startTime(Path process) throws IOException {
        String stat;
        try {
            stat = Files.readString(process.resolve("stat"), StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new Refused("process " + process.getFileName() + " is gone");
        }
        // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
        int end = stat.lastIndexOf(')');
        String[] fields = end < 0 ? new String[0] : stat.substring(end + 1).trim().split(" ");
        if (fields.length < 20) {
            throw new Refused("cannot read the start time of process " + process.getFileName());
        }
        try {
            return Long.parseLong(fields[19]);
        } catch (NumberFormatException e) {
            throw new Refused("cannot read the start time of process " + process.getFileName());
        }
    }

    private static void requireCgroup(Path process, String containerId) throws IOException {
        // cgroupfs: .../docker/<id>; systemd: .../docker-<id>.scope; both v1 and v2 name the full id.
        if (containerId.length() < 64 || !Files.readString(process.resolve("cgroup"), StandardCharsets.UTF_8)
            .contains(containerId)) {
            throw new Refused("process " + process.getFileName() + " is not in a cgroup of container "
                + DockerProvider.shortId(containerId) + " (a daemon in another pid namespace?)");
        }
    }

    private static void requireIdentityMap(Path map) throws IOException {
        String[] fields = Files.readString(map, StandardCharsets.US_ASCII).trim().split("\\s+");
        if (fields.length != 3 || !fields[0].equals("0") || !fields[1].equals("0") || !fields[2].equals("4294967295")) {
            throw new Refused("the container runs in a user namespace (" + map.getFileName() + " is not the identity)");
        }
    }

    /** The host's uid and gid 0, looked up once; {@code null} if the lookup failed. */
    private static final class Root {

        // A name that is no user's or group's is taken as a number by the JDK's lookup.
        static final UserPrincipal USER = lookup(false);
        static final GroupPrincipal GROUP = (GroupPrincipal) lookup(true);

        private Root() {
        }

        private static UserPrincipal lookup(boolean group) {
            UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
            try {
                return group ? lookup.lookupPrincipalByGroupName("0") : lookup.lookupPrincipalByName("0");
            } catch (IOException | UnsupportedOperationException e) {
                return null;
            }
        }
    }
}
