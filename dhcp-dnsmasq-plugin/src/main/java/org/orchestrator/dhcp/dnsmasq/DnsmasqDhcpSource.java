package org.orchestrator.dhcp.dnsmasq;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Objects;

import org.orchestrator.api.lease.DhcpSource;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.lease.Reservation;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A dnsmasq DHCPv6 source per factory configuration {@value #PID}. Registers a {@link DhcpSource}
 * with the service property {@code dhcp.source.name} (the configuration attribute of that name).
 * Thin: the work is done by {@link DnsmasqSource}.
 */
@Component(service = DhcpSource.class, configurationPid = DnsmasqDhcpSource.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = DnsmasqDhcpSource.Config.class, factory = true)
public final class DnsmasqDhcpSource implements DhcpSource {

    /** The factory configuration PID. */
    public static final String PID = "org.orchestrator.dhcp.dnsmasq";

    private static final Logger LOG = LoggerFactory.getLogger(DnsmasqDhcpSource.class);
    /** ComponentConstants.DEACTIVATION_REASON_CONFIGURATION_DELETED, without importing the DS API. */
    private static final int CONFIGURATION_DELETED = 2;

    /** One served network. */
    @ObjectClassDefinition(name = "Orchestrator dnsmasq DHCPv6 source",
            description = "A DHCPv6 lease source backed by dnsmasq; one configuration per served network.")
    public @interface Config {

        @AttributeDefinition(name = "Source name", description = "Unique name of this source ([a-z0-9._-], up to 63); "
                + "published as the service property dhcp.source.name. Required.")
        String dhcp_source_name();

        @AttributeDefinition(description = "managed: the plugin runs dnsmasq; external: an operator's dnsmasq calls the hook.",
                options = {@org.osgi.service.metatype.annotations.Option(value = "managed"),
                        @org.osgi.service.metatype.annotations.Option(value = "external")})
        String mode() default "managed";

        @AttributeDefinition(description = "Interface or bridge dnsmasq serves (at most 15 characters).")
        String interfaceName() default "orch-dev0";

        @AttributeDefinition(description = "Create the interface as a bridge when it does not exist (managed mode).")
        boolean createBridge() default true;

        @AttributeDefinition(description = "The host's IPv6 address on the interface, added when missing (managed mode).")
        String listenAddress() default "fd00:6f72:6368::1";

        @AttributeDefinition(description = "Prefix length of the served network (64 to 120).", min = "64", max = "120")
        int prefixLength() default 64;

        @AttributeDefinition(description = "First address handed out; empty: <prefix>::1000.")
        String rangeStart() default "";

        @AttributeDefinition(description = "Last address handed out; empty: <prefix>::1fff.")
        String rangeEnd() default "";

        @AttributeDefinition(description = "Lease time in seconds (at least 120).", min = "120")
        long leaseTime() default 3600;

        @AttributeDefinition(description = "Send router advertisements (dnsmasq enable-ra).")
        boolean routerAdvertisements() default true;

        @AttributeDefinition(description = "DNS port of dnsmasq; 0 turns DNS off. DNS also needs a domain.", min = "0", max = "65535")
        int dnsPort() default 0;

        @AttributeDefinition(description = "DNS domain for the AAAA records of pinned instances; empty: none.")
        String domain() default "";

        @AttributeDefinition(description = "Folder the plugin owns for this source; empty: ${karaf.data}/dnsmasq/<name>.")
        String runFolder() default "";

        @AttributeDefinition(description = "Path of the dnsmasq program.")
        String dnsmasqPath() default "/usr/sbin/dnsmasq";

        @AttributeDefinition(description = "First delay before restarting a dnsmasq that died, in milliseconds.", min = "10")
        long restartBackoffMinMillis() default 500;

        @AttributeDefinition(description = "Largest delay before restarting a dnsmasq that died, in milliseconds.", min = "10")
        long restartBackoffMaxMillis() default 30000;

        @AttributeDefinition(description = "Period of the lease-expiry sweep and spool retry, in seconds.", min = "1")
        int sweepSeconds() default 15;

        @AttributeDefinition(description = "External mode: pid file of the operator's dnsmasq; when set, it gets SIGHUP after "
                + "a pin change it must re-read.")
        String externalPidFile() default "";

        @AttributeDefinition(description = "External mode: the operator's dnsmasq reads the pins with --dhcp-hostsdir=<runFolder>/hosts.d "
                + "(and --hostsdir=<runFolder>/dns.d) instead of --dhcp-hostsfile and --addn-hosts; new pins then need no SIGHUP.")
        boolean externalHostsDirs() default false;

        @AttributeDefinition(description = "A pin change that dnsmasq must re-read (a changed or removed pin) sends it SIGHUP "
                + "this many milliseconds after the last such change, at the latest 10 times this long after the first one; "
                + "one SIGHUP makes dnsmasq re-run the script for every lease.", min = "0", max = "60000")
        long reloadDelayMillis() default 1000;
    }

    private final LeaseSink sink;
    private volatile DnsmasqSource source;

    /**
     * @throws IllegalArgumentException when the configuration is invalid (the message says why)
     */
    @Activate
    public DnsmasqDhcpSource(@Reference LeaseSink sink, Config config) {
        this.sink = Objects.requireNonNull(sink, "sink");
        DnsmasqSource s = new DnsmasqSource(settings(config), sink, Clock.systemUTC());
        s.start();
        this.source = s;
    }

    /** Applies a changed configuration: restarts the source with it (leases and pins are kept). */
    @Modified
    void modified(Config config) {
        DnsmasqSettings next = settings(config);
        synchronized (this) {
            DnsmasqSource old = source;
            if (old.settings().equals(next)) {
                return;
            }
            LOG.info("Configuration of dnsmasq source {} changed: restarting it", old.name());
            old.stop(!old.settings().runDir().equals(next.runDir()));
            DnsmasqSource s = new DnsmasqSource(next, sink, Clock.systemUTC());
            s.start();
            source = s;
        }
    }

    /** Stops the source; removes its files when the configuration was deleted. */
    @Deactivate
    void deactivate(int reason) {
        synchronized (this) {
            source.stop(reason == CONFIGURATION_DELETED);
        }
    }

    /** Parses and validates a configuration. */
    static DnsmasqSettings settings(Config c) {
        String name = Identifiers.name(c.dhcp_source_name());
        boolean managed = switch (c.mode()) {
            case "managed" -> true;
            case "external" -> false;
            default -> throw new IllegalArgumentException("mode must be managed or external: " + Identifiers.quote(c.mode()));
        };
        Inet6Address listen = managed ? Identifiers.ipv6(c.listenAddress()) : null;
        Inet6Address start = null;
        Inet6Address end = null;
        if (managed) {
            var prefix = DnsmasqSettings.prefixOf(listen, c.prefixLength());
            start = c.rangeStart().isEmpty() ? prefix.address(BigInteger.valueOf(0x1000)) : Identifiers.ipv6(c.rangeStart());
            end = c.rangeEnd().isEmpty() ? prefix.address(BigInteger.valueOf(0x1fff)) : Identifiers.ipv6(c.rangeEnd());
        }
        Path runDir;
        if (c.runFolder().isEmpty()) {
            String data = System.getProperty("karaf.data");
            runDir = Path.of(data != null ? data : System.getProperty("java.io.tmpdir"), "dnsmasq", name).toAbsolutePath().normalize();
        } else {
            runDir = Path.of(c.runFolder()).toAbsolutePath().normalize();
        }
        return new DnsmasqSettings(name, managed, c.interfaceName(), c.createBridge(), listen, c.prefixLength(), start, end,
                c.leaseTime(), c.routerAdvertisements(), c.dnsPort(), c.domain().isEmpty() ? null : c.domain(), runDir,
                Path.of(c.dnsmasqPath()), c.restartBackoffMinMillis(), c.restartBackoffMaxMillis(), c.sweepSeconds(),
                c.externalPidFile().isEmpty() ? null : Path.of(c.externalPidFile()), c.externalHostsDirs(), c.reloadDelayMillis());
    }

    /** @return the running source (tests) */
    DnsmasqSource current() {
        return source;
    }

    @Override
    public String name() {
        return source.name();
    }

    @Override
    public List<Lease> leases() {
        return source.leases();
    }

    @Override
    public void pin(Reservation reservation) {
        source.pin(reservation);
    }

    @Override
    public void unpin(Duid duid) {
        source.unpin(duid);
    }

    @Override
    public List<Reservation> reservations() {
        return source.reservations();
    }
}
