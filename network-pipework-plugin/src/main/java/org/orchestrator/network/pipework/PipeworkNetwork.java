package org.orchestrator.network.pipework;

import java.net.Inet6Address;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.AddressPool;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.Ipv6Prefix;
import org.orchestrator.api.network.NetworkAttacher;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pipework network per factory configuration of {@value #PID}, registered as a
 * {@link NetworkAttacher} with the service property {@code network.name}. A thin adapter: the
 * work is done by {@link PipeworkAttacher}.
 */
@Component(configurationPid = PipeworkNetwork.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = NetworkAttacher.class)
@Designate(ocd = PipeworkNetwork.Config.class, factory = true)
public final class PipeworkNetwork implements NetworkAttacher {

    /** The factory configuration PID. */
    public static final String PID = "org.orchestrator.network.pipework";

    private static final Logger LOG = LoggerFactory.getLogger(PipeworkNetwork.class);

    /** The configuration of one network. */
    @ObjectClassDefinition(name = "Orchestrator pipework network",
            description = "A bridged IPv6 network for instances: veth pairs, addresses and nftables isolation.")
    public @interface Config {

        @AttributeDefinition(name = "Network name",
                description = "Unique name of the network ([a-z0-9._-]); also the service property network.name.")
        String network_name();

        @AttributeDefinition(name = "Bridge", description = "The instance bridge (max 15 characters); created with the gateway address when absent.")
        String bridge() default "orch-br0";

        @AttributeDefinition(name = "IPv6 prefix", description = "The instances' prefix, e.g. fd00:70:1::/64.")
        String prefix();

        @AttributeDefinition(name = "Gateway", description = "The bridge's address and the instances' default route; empty means prefix::1.")
        String gateway() default "";

        @AttributeDefinition(name = "Interface name", description = "The interface name inside an instance.")
        String interfaceName() default "eth1";

        @AttributeDefinition(name = "MTU", description = "MTU of both veth ends.", min = "1280", max = "65535")
        int mtu() default 1500;

        @AttributeDefinition(name = "MAC scheme", description = "hash: a stable, locally administered MAC derived from the instance id; kernel: random.",
                options = {@Option(label = "hash", value = "hash"), @Option(label = "kernel", value = "kernel")})
        String macScheme() default "hash";

        @AttributeDefinition(name = "Addressing", description = "static: next free address from the AddressPool; dhcp: a DHCPv6 client in the instance's namespace.",
                options = {@Option(label = "static", value = "static"), @Option(label = "dhcp", value = "dhcp")})
        String addressing() default "static";

        @AttributeDefinition(name = "Isolation", description = "Devices reach only their own instance, instances neither each other nor the host.")
        boolean isolation() default true;

        @AttributeDefinition(name = "Device interface", description = "The host interface devices arrive on (e.g. the device bridge); empty means any other than the instance bridge.", required = false)
        String deviceInterface() default "";

        @AttributeDefinition(name = "Device prefix", description = "The prefix a peer must lie in to reach its instance; empty means any.", required = false)
        String devicePrefix() default "";

        @AttributeDefinition(name = "veth prefix", description = "Start of the host-side veth names (1-8 characters [a-z0-9-]); the rest is a hash of the instance id.")
        String vethPrefix() default "vpw";

        @AttributeDefinition(name = "nftables table", description = "Name of the network's inet table; empty means orchestrator_<network name>.", required = false)
        String nftTable() default "";

        @AttributeDefinition(name = "State directory", description = "Folder the plugin owns for this network; empty means ${karaf.data}/orchestrator/pipework/<network name>.", required = false)
        String stateDirectory() default "";

        @AttributeDefinition(name = "DHCP timeout", description = "Seconds attach waits for a DHCPv6 lease.", min = "1", type = AttributeType.INTEGER)
        int dhcpTimeoutSeconds() default 20;

        @AttributeDefinition(name = "Command timeout", description = "Seconds one ip/nft/sysctl command may take.", min = "1", type = AttributeType.INTEGER)
        int commandTimeoutSeconds() default 10;

        @AttributeDefinition(name = "Enable forwarding", description = "Set net.ipv6.conf.all.forwarding=1 on the host (needed for devices to reach instances).")
        boolean enableForwarding() default true;
    }

    private final PipeworkAttacher attacher;

    /** Validates the configuration and prepares the host; fails activation when either fails. */
    @Activate
    public PipeworkNetwork(@Reference AddressPool pool, Config config) {
        this(started(new PipeworkAttacher(settings(config),
                new ProcessCommandRunner(Duration.ofSeconds(config.commandTimeoutSeconds())), pool,
                HostShortcuts.live(Duration.ofSeconds(config.commandTimeoutSeconds())))));
        LOG.info("pipework network {} active", attacher.name());
    }

    /** Serves {@code attacher}, which the caller has started. */
    PipeworkNetwork(PipeworkAttacher attacher) {
        this.attacher = Objects.requireNonNull(attacher, "attacher");
    }

    private static PipeworkAttacher started(PipeworkAttacher attacher) {
        attacher.start();
        return attacher;
    }

    @Deactivate
    void deactivate() {
        attacher.close();
        LOG.info("pipework network {} inactive", attacher.name());
    }

    /** @throws IllegalArgumentException naming the first invalid setting */
    static PipeworkSettings settings(Config config) {
        String network = Identifiers.name(config.network_name());
        Ipv6Prefix prefix = Ipv6Prefix.parse(config.prefix());
        Inet6Address gateway = blank(config.gateway()) ? PipeworkSettings.defaultGateway(prefix) : Identifiers.ipv6(config.gateway().strip());
        String table = blank(config.nftTable()) ? PipeworkSettings.defaultTable(network) : config.nftTable().strip();
        Path state;
        if (blank(config.stateDirectory())) {
            String data = System.getProperty("karaf.data", System.getProperty("java.io.tmpdir"));
            state = Path.of(data, "orchestrator", "pipework", network);
        } else {
            state = Path.of(config.stateDirectory().strip());
        }
        return new PipeworkSettings(network, config.bridge(), prefix, gateway, config.interfaceName(), config.mtu(),
                MacScheme.parse(config.macScheme()), Addressing.parse(config.addressing()), config.isolation(),
                blank(config.deviceInterface()) ? null : config.deviceInterface().strip(),
                blank(config.devicePrefix()) ? null : Ipv6Prefix.parse(config.devicePrefix().strip()),
                config.vethPrefix(), table, state, Duration.ofSeconds(config.dhcpTimeoutSeconds()), config.enableForwarding());
    }

    private static boolean blank(String text) {
        return text == null || text.isBlank();
    }

    @Override
    public String name() {
        return attacher.name();
    }

    @Override
    public Attachment attach(AttachRequest request) {
        return attacher.attach(request);
    }

    @Override
    public void detach(String instanceId) {
        attacher.detach(instanceId);
    }

    @Override
    public List<Attachment> list() {
        return attacher.list();
    }

    /** @return whether the network's isolation is on (then a spare attached without a peer is reachable by no device) */
    @Override
    public boolean isolates() {
        return attacher.isolates();
    }
}
