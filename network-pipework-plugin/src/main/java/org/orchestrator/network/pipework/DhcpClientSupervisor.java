package org.orchestrator.network.pipework;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.orchestrator.api.network.NetworkException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one {@code dhclient -6} per DHCP-addressed instance inside the instance's namespace
 * ({@code nsenter --net=...}), each with its own configuration, lease, pid and log files under a
 * folder the plugin owns, and a script of ours that only adds and removes the leased address (it
 * never touches {@code /etc/resolv.conf}). A client that dies is restarted after a delay, a few
 * times a minute at most. Clients outlive a plugin restart: the next supervisor adopts them by
 * their pid file. Thread-safe.
 */
final class DhcpClientSupervisor implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DhcpClientSupervisor.class);
    private static final long RESTART_DELAY_MS = 1000;
    private static final int MAX_RESTARTS_PER_MINUTE = 5;

    static final String SCRIPT = """
            #!/bin/sh
            # Written by the Orchestrator pipework plugin: applies the DHCPv6 address, nothing else
            # (no resolv.conf, no routes), so that a client in an instance namespace cannot touch the host.
            PATH=/usr/sbin:/usr/bin:/sbin:/bin
            case "$reason" in
              BOUND6|RENEW6|REBIND6|REBOOT6)
                if [ -n "$old_ip6_address" ] && [ "$old_ip6_address" != "$new_ip6_address" ]; then
                  ip -6 addr del "$old_ip6_address/${old_ip6_prefixlen:-128}" dev "$interface" 2>/dev/null
                fi
                if [ -n "$new_ip6_address" ]; then
                  ip -6 addr replace "$new_ip6_address/${new_ip6_prefixlen:-128}" dev "$interface" nodad
                fi
                ;;
              EXPIRE6|RELEASE6|STOP6)
                if [ -n "$old_ip6_address" ]; then
                  ip -6 addr del "$old_ip6_address/${old_ip6_prefixlen:-128}" dev "$interface" 2>/dev/null
                fi
                ;;
            esac
            exit 0
            """;

    private final Path root;
    private final Map<String, Client> clients = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "pipework-dhcp-supervisor");
        thread.setDaemon(true);
        return thread;
    });

    /** @param root the folder for the clients' files, one sub-folder per instance */
    DhcpClientSupervisor(Path root) {
        this.root = Objects.requireNonNull(root, "root");
    }

    /** One supervised client. */
    private final class Client {
        final String instanceId;
        final NetnsTarget netns;
        final String interfaceName;
        volatile boolean wanted = true;
        volatile ProcessHandle handle;
        long windowStart = System.currentTimeMillis();
        int restarts;

        Client(String instanceId, NetnsTarget netns, String interfaceName) {
            this.instanceId = instanceId;
            this.netns = netns;
            this.interfaceName = interfaceName;
        }

        synchronized void launch() {
            if (!wanted) {
                return;
            }
            Path dir = directory(instanceId);
            try {
                Files.createDirectories(dir);
                Path script = dir.resolve("script");
                Files.writeString(script, SCRIPT, StandardCharsets.UTF_8);
                Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
                Path conf = dir.resolve("dhclient.conf");
                if (!Files.exists(conf)) {
                    Files.writeString(conf, "# no options: address only\n", StandardCharsets.UTF_8);
                }
                ProcessBuilder builder = new ProcessBuilder(netns.inside("dhclient", "-6", "-d", "-cf", conf.toString(),
                        "-sf", script.toString(), "-lf", dir.resolve("leases").toString(),
                        "-pf", dir.resolve("pid").toString(), interfaceName));
                builder.redirectErrorStream(true);
                builder.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("log").toFile()));
                builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                Process process = builder.start();
                handle = process.toHandle();
                // nsenter execs dhclient, so this pid is the client's own
                Files.writeString(dir.resolve("client.pid"), Long.toString(process.pid()), StandardCharsets.UTF_8);
                LOG.info("DHCPv6 client for instance {} started (pid {}) in {}", instanceId, process.pid(), netns.path());
                watch(process.toHandle());
            } catch (IOException e) {
                throw new NetworkException("cannot start dhclient for instance " + instanceId + ": " + e.getMessage(), true, e);
            }
        }

        void watch(ProcessHandle process) {
            process.onExit().thenRun(() -> exited(process));
        }

        private synchronized void exited(ProcessHandle process) {
            if (!wanted || handle != process) {
                return;
            }
            long now = System.currentTimeMillis();
            if (now - windowStart > 60_000) {
                windowStart = now;
                restarts = 0;
            }
            if (++restarts > MAX_RESTARTS_PER_MINUTE) {
                LOG.warn("DHCPv6 client of instance {} keeps dying; restarting it in a minute (see {})",
                        instanceId, directory(instanceId).resolve("log"));
                schedule(60_000);
                return;
            }
            LOG.info("DHCPv6 client of instance {} exited; restarting it", instanceId);
            schedule(RESTART_DELAY_MS);
        }

        private void schedule(long delayMs) {
            try {
                timer.schedule(() -> {
                    try {
                        if (netns.exists()) {
                            launch();
                        } else {
                            LOG.info("namespace of instance {} is gone; not restarting its DHCPv6 client", instanceId);
                        }
                    } catch (RuntimeException e) {
                        LOG.warn("cannot restart the DHCPv6 client of instance {}: {}", instanceId, e.getMessage());
                    }
                }, delayMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                LOG.debug("supervisor closed; DHCPv6 client of {} not restarted", instanceId);
            }
        }
    }

    /**
     * Makes sure the instance's client runs: keeps a supervised one, adopts one left by an
     * earlier supervisor, or starts one.
     */
    void ensure(String instanceId, NetnsTarget netns, String interfaceName) {
        Client existing = clients.get(instanceId);
        if (existing != null && existing.handle != null && existing.handle.isAlive()) {
            return;
        }
        Client client = new Client(instanceId, netns, interfaceName);
        Client previous = clients.put(instanceId, client);
        if (previous != null) {
            previous.wanted = false;
        }
        Optional<ProcessHandle> orphan = running(instanceId);
        if (orphan.isPresent()) {
            client.handle = orphan.get();
            client.watch(orphan.get());
            LOG.info("adopted the DHCPv6 client of instance {} (pid {})", instanceId, orphan.get().pid());
            return;
        }
        client.launch();
    }

    /** @return whether the instance has a live client */
    boolean isRunning(String instanceId) {
        return running(instanceId).isPresent();
    }

    /** Stops the instance's client, supervised or left over, and deletes its files. Idempotent. */
    void stop(String instanceId) {
        Client client = clients.remove(instanceId);
        if (client != null) {
            client.wanted = false;
            if (client.handle != null) {
                kill(client.handle);
            }
        }
        running(instanceId).ifPresent(DhcpClientSupervisor::kill);
        deleteTree(directory(instanceId));
    }

    /** @return the instance ids that have a client folder */
    List<String> knownInstances() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops supervising without killing: the clients keep the leases until a new supervisor adopts them. */
    @Override
    public void close() {
        clients.values().forEach(c -> c.wanted = false);
        clients.clear();
        timer.shutdownNow();
    }

    Path directory(String instanceId) {
        return root.resolve(instanceId);
    }

    /** @return the client process recorded for the instance, if alive and really ours */
    private Optional<ProcessHandle> running(String instanceId) {
        Path pidFile = directory(instanceId).resolve("client.pid");
        try {
            if (!Files.isRegularFile(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile, StandardCharsets.UTF_8).strip());
            Optional<ProcessHandle> handle = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
            if (handle.isEmpty()) {
                return Optional.empty();
            }
            // the pid may have been recycled: only a dhclient using our lease file is ours
            byte[] cmdline = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            String args = new String(cmdline, StandardCharsets.UTF_8).replace('\0', ' ');
            return args.contains(directory(instanceId).resolve("leases").toString()) ? handle : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void kill(ProcessHandle process) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            process.onExit().get(3, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            try {
                process.onExit().get(2, TimeUnit.SECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            } catch (Exception ignored) {
                LOG.warn("DHCPv6 client pid {} did not die", process.pid());
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", dir, e.getMessage());
        }
    }
}
