package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the hook on a Unix domain socket (mode 0600, in a folder of mode 0700). Each connection
 * carries one request ({@link HookProtocol}) and gets one reply. A connection is handled on a small
 * pool and closed after a deadline, so a slow or hostile peer cannot hold up the others; a full pool
 * closes new connections at once (the hook then spools its event).
 */
final class HookServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HookServer.class);
    private static final long DEADLINE_MILLIS = 3000;

    private final Path socketPath;
    private final Function<HookRecord, LeaseBook.Reply> handler;
    private final ServerSocketChannel server;
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService watchdog;
    private final Thread acceptor;
    private volatile boolean closed;

    private HookServer(Path socketPath, Function<HookRecord, LeaseBook.Reply> handler, ServerSocketChannel server, String name) {
        this.socketPath = socketPath;
        this.handler = handler;
        this.server = server;
        this.workers = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(32),
                r -> daemon(r, "dnsmasq-hook-" + name));
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "dnsmasq-hook-watchdog-" + name));
        this.acceptor = daemon(this::acceptLoop, "dnsmasq-hook-accept-" + name);
    }

    /**
     * Binds the socket (replacing a stale one) and starts serving.
     *
     * @throws IOException when the socket cannot be bound
     */
    static HookServer start(Path socketPath, Function<HookRecord, LeaseBook.Reply> handler, String name) throws IOException {
        Objects.requireNonNull(handler, "handler");
        Files.deleteIfExists(socketPath);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socketPath), 64);
            Files.setPosixFilePermissions(socketPath, Files2.PRIVATE);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        HookServer hs = new HookServer(socketPath, handler, server, name);
        hs.acceptor.start();
        return hs;
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("Accepting a hook connection on {} failed: {}", socketPath, e.getMessage());
                }
                continue;
            }
            try {
                workers.execute(() -> serve(ch));
            } catch (RejectedExecutionException e) {
                LOG.warn("Too many hook connections on {}: closing one (the hook spools its event)", socketPath);
                closeQuietly(ch);
            }
        }
    }

    private void serve(SocketChannel ch) {
        ScheduledFuture<?> timer = watchdog.schedule(() -> closeQuietly(ch), DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
        try (ch) {
            LeaseBook.Reply reply;
            try {
                HookRecord record = read(ch);
                reply = handler.apply(record);
            } catch (IllegalArgumentException e) {
                LOG.warn("Rejected a malformed hook request on {}: {}", socketPath, e.getMessage());
                reply = LeaseBook.Reply.error(e.getMessage());
            }
            ByteBuffer out = ByteBuffer.wrap(HookProtocol.reply(reply.status(), reply.body()));
            while (out.hasRemaining()) {
                ch.write(out);
            }
        } catch (IOException e) {
            LOG.debug("Hook connection on {} ended early: {}", socketPath, e.toString());
        } catch (RuntimeException e) {
            LOG.error("Handling a hook request on {} failed", socketPath, e);
        } finally {
            timer.cancel(false);
        }
    }

    private static HookRecord read(SocketChannel ch) throws IOException {
        byte[] buf = new byte[4096];
        int len = 0;
        while (true) {
            if (len == buf.length) {
                if (buf.length > HookProtocol.MAX_REQUEST) {
                    throw new IllegalArgumentException("request longer than " + HookProtocol.MAX_REQUEST + " bytes");
                }
                buf = java.util.Arrays.copyOf(buf, Math.min(buf.length * 2, HookProtocol.MAX_REQUEST + 1));
            }
            int n = ch.read(ByteBuffer.wrap(buf, len, buf.length - len));
            if (n < 0) {
                HookRecord r = HookProtocol.parse(buf, len);
                if (r == null) {
                    throw new IllegalArgumentException("request truncated after " + len + " bytes");
                }
                return r;
            }
            len += n;
            HookRecord r = HookProtocol.parse(buf, len);
            if (r != null) {
                return r;
            }
        }
    }

    /** @return where the socket lives */
    Path socketPath() {
        return socketPath;
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        workers.shutdown();
        try {
            if (!workers.awaitTermination(DEADLINE_MILLIS + 1000, TimeUnit.MILLISECONDS)) {
                workers.shutdownNow();
            }
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        watchdog.shutdownNow();
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            LOG.warn("Cannot delete the hook socket {}: {}", socketPath, e.getMessage());
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing more to do: the peer is gone
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
