package org.orchestrator.dhcp.dnsmasq;

import java.net.Inet6Address;
import java.util.List;

import org.orchestrator.api.lease.Identifiers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the served bridge and its address with {@code ip}, from validated values only. */
final class BridgeControl {

    private static final Logger LOG = LoggerFactory.getLogger(BridgeControl.class);

    private BridgeControl() {
    }

    static boolean exists(String iface) {
        return Commands.run(List.of("ip", "-o", "link", "show", "dev", iface)).exit() == 0;
    }

    /**
     * Makes sure the interface exists (creating a bridge when allowed), is up and holds the listen
     * address ({@code nodad}: dnsmasq must see it at once).
     *
     * @return whether the bridge was created now
     * @throws IllegalStateException when the interface is missing and may not be created, or ip fails
     */
    static boolean ensure(String iface, boolean create, Inet6Address address, int prefixLength) {
        boolean created = false;
        if (!exists(iface)) {
            if (!create) {
                throw new IllegalStateException("interface " + iface + " does not exist and createBridge is off");
            }
            Commands.check(List.of("ip", "link", "add", "name", iface, "type", "bridge"));
            created = true;
            LOG.info("Created bridge {}", iface);
        }
        Commands.check(List.of("ip", "-6", "addr", "replace", Identifiers.format(address) + "/" + prefixLength, "dev", iface, "nodad"));
        Commands.check(List.of("ip", "link", "set", "dev", iface, "up"));
        return created;
    }

    static void delete(String iface) {
        Commands.Result r = Commands.run(List.of("ip", "link", "del", "dev", iface));
        if (r.exit() != 0 && exists(iface)) {
            LOG.warn("Cannot delete bridge {}: {}", iface, r.err().strip());
        } else {
            LOG.info("Deleted bridge {}", iface);
        }
    }
}
