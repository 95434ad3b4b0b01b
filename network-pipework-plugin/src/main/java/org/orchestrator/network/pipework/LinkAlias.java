package org.orchestrator.network.pipework;

import java.net.Inet6Address;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import org.orchestrator.api.lease.Identifiers;

/**
 * What the plugin writes into the alias of an instance's host-side veth, so that attachments can
 * be found again on the host after a restart: {@code orchestrator net=N id=I addr=A peer=P}.
 * Immutable.
 *
 * @param network    the network name
 * @param instanceId the instance id
 * @param address    the instance's address, or {@code null} while unknown (DHCP before the lease)
 * @param peer       the device allowed to reach the instance, or {@code null}
 */
record LinkAlias(String network, String instanceId, Inet6Address address, Inet6Address peer) {

    static final String MARKER = "orchestrator";

    LinkAlias {
        Identifiers.name(network);
        Identifiers.name(instanceId);
    }

    /** @return the alias text */
    String encode() {
        return MARKER + " net=" + network + " id=" + instanceId + " addr=" + text(address) + " peer=" + text(peer);
    }

    /** @return the alias parsed, or empty when the text is not one of ours or is malformed */
    static Optional<LinkAlias> parse(String text) {
        if (text == null || !text.startsWith(MARKER + " ")) {
            return Optional.empty();
        }
        Map<String, String> fields = new HashMap<>();
        for (String token : text.strip().split(" +")) {
            int eq = token.indexOf('=');
            if (eq > 0) {
                fields.put(token.substring(0, eq), token.substring(eq + 1));
            }
        }
        try {
            return Optional.of(new LinkAlias(fields.get("net"), fields.get("id"),
                    address(fields.get("addr")), address(fields.get("peer"))));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    LinkAlias withAddress(Inet6Address newAddress) {
        return new LinkAlias(network, instanceId, newAddress, peer);
    }

    LinkAlias withPeer(Inet6Address newPeer) {
        return new LinkAlias(network, instanceId, address, newPeer);
    }

    boolean sameInstance(String otherNetwork, String otherInstance) {
        return Objects.equals(network, otherNetwork) && Objects.equals(instanceId, otherInstance);
    }

    private static String text(Inet6Address address) {
        return address == null ? "-" : Addresses.text(address);
    }

    private static Inet6Address address(String text) {
        if (text == null || text.equals("-")) {
            return null;
        }
        return Identifiers.ipv6(text);
    }
}
