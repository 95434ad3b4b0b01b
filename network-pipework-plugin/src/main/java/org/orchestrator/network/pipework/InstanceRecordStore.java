package org.orchestrator.network.pipework;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.Inet6Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.NetworkException;
import org.orchestrator.api.provider.NetnsHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plugin's own record of each attachment (namespace, host interface, address, peer), one
 * properties file per instance, written atomically. The host (veth alias) is the primary source;
 * this adds what the host cannot tell, chiefly the namespace a DHCP client must run in.
 * Thread-safe for distinct instances; the attacher serialises per network.
 */
final class InstanceRecordStore {

    private static final Logger LOG = LoggerFactory.getLogger(InstanceRecordStore.class);
    private static final String SUFFIX = ".properties";

    /** One attachment as recorded. */
    record InstanceRecord(String instanceId, String hostInterface, NetnsHandle netns, Inet6Address address,
                          Inet6Address peer) {
        InstanceRecord {
            Identifiers.name(instanceId);
            Objects.requireNonNull(hostInterface, "hostInterface");
            Objects.requireNonNull(netns, "netns");
        }
    }

    private final Path dir;

    InstanceRecordStore(Path dir) {
        this.dir = Objects.requireNonNull(dir, "dir");
    }

    void write(InstanceRecord record) {
        Properties p = new Properties();
        p.setProperty("instance", record.instanceId());
        p.setProperty("host", record.hostInterface());
        p.setProperty("netns.pid", Long.toString(record.netns().pid()));
        p.setProperty("netns.path", record.netns().path().toString());
        if (record.address() != null) {
            p.setProperty("address", Addresses.text(record.address()));
        }
        if (record.peer() != null) {
            p.setProperty("peer", Addresses.text(record.peer()));
        }
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(record.instanceId() + SUFFIX + ".tmp");
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                p.store(w, "pipework attachment");
            }
            Files.move(tmp, file(record.instanceId()), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new NetworkException("cannot record the attachment of " + record.instanceId() + " in " + dir + ": " + e.getMessage(), true, e);
        }
    }

    Optional<InstanceRecord> read(String instanceId) {
        Path file = file(instanceId);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
            String address = p.getProperty("address");
            String peer = p.getProperty("peer");
            return Optional.of(new InstanceRecord(p.getProperty("instance"), p.getProperty("host"),
                    new NetnsHandle(Long.parseLong(p.getProperty("netns.pid", "0")), Path.of(p.getProperty("netns.path"))),
                    address == null ? null : Identifiers.ipv6(address), peer == null ? null : Identifiers.ipv6(peer)));
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable attachment record {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }

    void delete(String instanceId) {
        try {
            Files.deleteIfExists(file(instanceId));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    List<String> instanceIds() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<String> ids = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(SUFFIX))
                    .forEach(n -> ids.add(n.substring(0, n.length() - SUFFIX.length())));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return ids;
    }

    private Path file(String instanceId) {
        return dir.resolve(Identifiers.name(instanceId) + SUFFIX);
    }
}
