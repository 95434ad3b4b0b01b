package org.orchestrator.dhcp.dnsmasq;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one dnsmasq in the foreground ({@code --keep-in-foreground}, logging to stderr, which is
 * forwarded to slf4j), restarts it with exponential back-off when it dies, and stops it for good on
 * {@link #stop()}. A dnsmasq left behind by an earlier JVM (found through its pid file and its
 * command line) is stopped before a new one starts. Thread-safe.
 */
final class DnsmasqSupervisor {

    private static final Logger LOG = LoggerFactory.getLogger(DnsmasqSupervisor.class);
    /** A run this long counts as healthy and resets the back-off. */
    private static final long HEALTHY_MILLIS = 30_000;

    private final DnsmasqSettings settings;
    private final Runnable prepare;
    private final ScheduledExecutorService scheduler;
    private Process process;
    private boolean stopped;
    private long backoffMillis;
    private long startedAtMillis;
    private int starts;
    private int hangups;

    /**
     * @param prepare run before every start (creates the bridge again if it vanished); a failure
     *                counts as a failed start
     */
    DnsmasqSupervisor(DnsmasqSettings settings, Runnable prepare) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.prepare = Objects.requireNonNull(prepare, "prepare");
        this.backoffMillis = settings.minBackoffMillis();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "dnsmasq-supervisor-" + settings.name());
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts dnsmasq (asynchronous failures lead to restarts). */
    synchronized void start() {
        stopped = false;
        launch();
    }

    /** @return the pid of the running dnsmasq */
    synchronized Optional<Long> pid() {
        return process != null && process.isAlive() ? Optional.of(process.pid()) : Optional.empty();
    }

    /** @return how many times dnsmasq was started */
    synchronized int starts() {
        return starts;
    }

    /** @return how many times dnsmasq was sent SIGHUP */
    synchronized int hangups() {
        return hangups;
    }

    /**
     * Sends SIGHUP: dnsmasq re-reads the hosts files and folders, and runs the script for every
     * lease it holds ({@code old}). Does nothing while dnsmasq is not running: it reads every file
     * when it starts.
     */
    synchronized void reload() {
        if (process == null || !process.isAlive()) {
            return;
        }
        hangups++;
        Commands.Result r = Commands.run(List.of("kill", "-HUP", Long.toString(process.pid())));
        if (r.exit() != 0) {
            LOG.warn("Cannot signal dnsmasq {} of source {}: {}", process.pid(), settings.name(), r.err().strip());
        }
    }

    /** Sends SIGHUP to the operator's dnsmasq named by its pid file (external mode), if it is a dnsmasq. */
    static void reloadExternal(Path pidFile) {
        try {
            String text = Files.readString(pidFile, StandardCharsets.US_ASCII).strip();
            if (!text.matches("[0-9]{1,9}")) {
                LOG.warn("Pid file {} holds no pid", pidFile);
                return;
            }
            Path comm = Path.of("/proc", text, "comm");
            if (!Files.exists(comm) || !"dnsmasq".equals(Files.readString(comm, StandardCharsets.US_ASCII).strip())) {
                LOG.warn("Pid file {} does not name a running dnsmasq", pidFile);
                return;
            }
            Commands.Result r = Commands.run(List.of("kill", "-HUP", text));
            if (r.exit() != 0) {
                LOG.warn("Cannot signal dnsmasq {}: {}", text, r.err().strip());
            }
        } catch (IOException e) {
            LOG.warn("Cannot read the pid file {}: {}", pidFile, e.getMessage());
        }
    }

    /** Stops dnsmasq and any restart; waits (bounded) until it is gone. */
    void stop() {
        Process p;
        synchronized (this) {
            stopped = true;
            p = process;
            process = null;
        }
        scheduler.shutdownNow();
        if (p != null) {
            terminate(p.toHandle());
        }
        try {
            Files.deleteIfExists(settings.pidFile());
        } catch (IOException e) {
            LOG.warn("Cannot delete {}: {}", settings.pidFile(), e.getMessage());
        }
    }

    /** Forgets dnsmasq without stopping it, as a crash of the JVM would (tests only). */
    synchronized void abandon() {
        stopped = true;
        process = null;
        scheduler.shutdownNow();
    }

    /** Stops a dnsmasq that an earlier run of this source left behind, if its pid file names one. */
    static void killStray(DnsmasqSettings settings) {
        Path pidFile = settings.pidFile();
        if (!Files.exists(pidFile)) {
            return;
        }
        try {
            String text = Files.readString(pidFile, StandardCharsets.US_ASCII).strip();
            if (text.matches("[0-9]{1,9}")) {
                Optional<ProcessHandle> handle = ProcessHandle.of(Long.parseLong(text));
                if (handle.isPresent() && isOurs(handle.get().pid(), settings)) {
                    LOG.warn("Stopping dnsmasq {} left behind by an earlier run of source {}", text, settings.name());
                    terminate(handle.get());
                }
            }
            Files.deleteIfExists(pidFile);
        } catch (IOException e) {
            LOG.warn("Cannot check the stray dnsmasq of {}: {}", pidFile, e.getMessage());
        }
    }

    private static boolean isOurs(long pid, DnsmasqSettings settings) throws IOException {
        Path cmdline = Path.of("/proc", Long.toString(pid), "cmdline");
        if (!Files.exists(cmdline)) {
            return false;
        }
        String args = new String(Files.readAllBytes(cmdline), StandardCharsets.ISO_8859_1);
        return args.contains("--conf-file=" + settings.confFile() + "\0");
    }

    private static void terminate(ProcessHandle handle) {
        handle.destroy();
        try {
            handle.onExit().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            handle.destroyForcibly();
            try {
                handle.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e2) {
                LOG.error("dnsmasq {} does not stop", handle.pid());
            }
        }
    }

    private void launch() {
        if (stopped) {
            return;
        }
        List<String> cmd = List.of(settings.dnsmasqBinary().toString(), "--keep-in-foreground",
                "--conf-file=" + settings.confFile());
        try {
            prepare.run();
        } catch (RuntimeException e) {
            LOG.error("Cannot prepare dnsmasq of source {}: {}", settings.name(), e.getMessage());
            scheduleRestart();
            return;
        }
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            process = p;
            starts++;
            startedAtMillis = System.currentTimeMillis();
            LOG.info("Started dnsmasq {} for source {} on {}", p.pid(), settings.name(), settings.iface());
            Thread logger = new Thread(() -> forwardLog(p), "dnsmasq-log-" + settings.name());
            logger.setDaemon(true);
            logger.start();
            p.onExit().thenAccept(this::exited);
        } catch (IOException e) {
            LOG.error("Cannot start {} for source {}: {}", settings.dnsmasqBinary(), settings.name(), e.getMessage());
            scheduleRestart();
        }
    }

    private synchronized void exited(Process p) {
        if (stopped || p != process) {
            return;
        }
        LOG.warn("dnsmasq {} of source {} exited with code {}", p.pid(), settings.name(), p.exitValue());
        process = null;
        if (System.currentTimeMillis() - startedAtMillis > HEALTHY_MILLIS) {
            backoffMillis = settings.minBackoffMillis();
        }
        scheduleRestart();
    }

    private void scheduleRestart() {
        long delay = backoffMillis;
        backoffMillis = Math.min(backoffMillis * 2, settings.maxBackoffMillis());
        LOG.info("Restarting dnsmasq of source {} in {} ms", settings.name(), delay);
        try {
            scheduler.schedule(() -> {
                synchronized (this) {
                    launch();
                }
            }, delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // stopped meanwhile
        }
    }

    private void forwardLog(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                // dnsmasq logs client-supplied names: quote them.
                LOG.info("dnsmasq[{}] {}: {}", settings.name(), p.pid(), printable(line));
            }
        } catch (IOException e) {
            LOG.debug("dnsmasq log of source {} ended: {}", settings.name(), e.getMessage());
        }
    }

    private static String printable(String line) {
        StringBuilder sb = new StringBuilder(Math.min(line.length(), 300));
        for (int i = 0; i < line.length() && i < 300; i++) {
            char c = line.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return sb.toString();
    }
}
