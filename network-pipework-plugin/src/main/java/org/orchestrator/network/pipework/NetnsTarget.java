package org.orchestrator.network.pipework;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.orchestrator.api.network.NetworkException;
import org.orchestrator.api.provider.NetnsHandle;

/**
 * A validated instance namespace: how {@code ip link ... netns} names it (a pid or a name under
 * {@code /run/netns}) and the file {@code nsenter --net=} enters. Immutable.
 *
 * @param ipNetns the argument for {@code ip link ... netns}
 * @param path    the namespace file
 * @param pid     the process in it, or 0 for a named namespace
 */
record NetnsTarget(String ipNetns, Path path, long pid) {

    private static final Pattern NETNS_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    private static final Pattern PROC_PATH = Pattern.compile("/proc/([1-9][0-9]{0,9})/ns/net");

    NetnsTarget {
        Objects.requireNonNull(ipNetns, "ipNetns");
        Objects.requireNonNull(path, "path");
    }

    /**
     * @throws NetworkException (not transient) when the handle names neither
     *         {@code /proc/PID/ns/net} of its pid nor {@code /run/netns/NAME}
     */
    static NetnsTarget of(NetnsHandle handle) {
        Objects.requireNonNull(handle, "netns");
        Path path = handle.path().normalize();
        Matcher proc = PROC_PATH.matcher(path.toString());
        if (handle.pid() == 0 && proc.matches()) {
            // a provider that gave only the path of a process's namespace
            long pid = Long.parseLong(proc.group(1));
            return new NetnsTarget(Long.toString(pid), path, pid);
        }
        if (handle.pid() > 0) {
            if (!path.equals(NetnsHandle.ofPid(handle.pid()).path())) {
                throw new NetworkException("namespace path " + path + " does not belong to pid " + handle.pid(), false);
            }
            return new NetnsTarget(Long.toString(handle.pid()), path, handle.pid());
        }
        Path parent = path.getParent();
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        boolean namedDir = parent != null && (parent.equals(Path.of("/run/netns")) || parent.equals(Path.of("/var/run/netns")));
        if (!namedDir || !NETNS_NAME.matcher(name).matches()) {
            throw new NetworkException("namespace must be /proc/PID/ns/net or /run/netns/NAME, got " + path, false);
        }
        return new NetnsTarget(name, path, 0);
    }

    /** @return whether the namespace file is still there */
    boolean exists() {
        return Files.exists(path);
    }

    /** @throws NetworkException (not transient) when the namespace is gone */
    void requireExists() {
        if (!exists()) {
            throw new NetworkException("the instance's network namespace " + path + " does not exist", false);
        }
    }

    /** @return {@code command} run inside the namespace through nsenter */
    String[] inside(String... command) {
        List<String> argv = new ArrayList<>(command.length + 2);
        argv.add("nsenter");
        argv.add("--net=" + path);
        argv.addAll(List.of(command));
        return argv.toArray(String[]::new);
    }
}
