package org.orchestrator.dhcp.dnsmasq;

import java.net.Inet6Address;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.MacAddress;

/**
 * Validates a {@link HookRecord} against dnsmasq's {@code --dhcp-script} contract for DHCPv6:
 * arguments action, client DUID, address, host name; environment {@code DNSMASQ_IAID},
 * {@code DNSMASQ_SERVER_DUID}, {@code DNSMASQ_MAC}, {@code DNSMASQ_LEASE_EXPIRES} or
 * {@code DNSMASQ_TIME_REMAINING}, {@code DNSMASQ_INTERFACE}, {@code DNSMASQ_DATA_MISSING}.
 * Every value came from the network; anything malformed is refused with an
 * {@link IllegalArgumentException} whose message says why (untrusted text quoted). Thread-safe.
 */
final class HookEventParser {

    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,12}");
    private static final Pattern HEX_PAIRS = Pattern.compile("[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){0,19}");

    private final String source;
    private final String defaultNetwork;
    private final Clock clock;

    /**
     * @param source         the source name put into every lease
     * @param defaultNetwork the network name for replays that carry no interface, or {@code null}
     */
    HookEventParser(String source, String defaultNetwork, Clock clock) {
        this.source = Identifiers.name(source);
        this.defaultNetwork = defaultNetwork;
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * @throws IllegalArgumentException with the reason when the record is not a valid event
     */
    HookEvent parse(HookRecord record) {
        String action = record.ascii("action");
        if (action == null || action.isEmpty()) {
            throw new IllegalArgumentException("no action given");
        }
        switch (action) {
            case "init":
                return new HookEvent.Init();
            case "add":
            case "old":
            case "del":
                break;
            default:
                return new HookEvent.Ignored("action " + Identifiers.quote(action) + " is not used");
        }
        String iaidText = record.ascii("DNSMASQ_IAID");
        if (iaidText == null) {
            // IPv4 leases have no IAID: this source serves DHCPv6 only.
            throw new IllegalArgumentException("no DNSMASQ_IAID: not a DHCPv6 lease");
        }
        if (iaidText.startsWith("T")) {
            Identifiers.iaid(iaidText.substring(1));
            return new HookEvent.Ignored("temporary address (IA_TA) " + Identifiers.quote(iaidText));
        }
        long iaid = Identifiers.iaid(iaidText);
        Duid duid = Duid.parse(required(record, "duid"));
        Inet6Address address = Identifiers.ipv6(required(record, "address"));
        String hostnameText = record.ascii("hostname");
        String hostname = hostnameText == null || hostnameText.isEmpty() ? null : Identifiers.hostname(hostnameText);
        MacAddress mac = mac(record.ascii("DNSMASQ_MAC"));
        String serverDuidText = record.ascii("DNSMASQ_SERVER_DUID");
        Duid serverDuid = serverDuidText == null || serverDuidText.isEmpty() ? null : Duid.parse(serverDuidText);
        String interfaceText = record.ascii("DNSMASQ_INTERFACE");
        // Interface names may hold capitals; network names are lowercase.
        String network = interfaceText == null || interfaceText.isEmpty() ? defaultNetwork
                : Identifiers.name(interfaceText.toLowerCase(java.util.Locale.ROOT));
        Instant expires = expiry(record);
        boolean dataMissing = "1".equals(record.ascii("DNSMASQ_DATA_MISSING"));
        Lease lease = new Lease(duid, iaid, address, mac, hostname, expires, source, network);
        return new HookEvent.Change(action, lease, serverDuid, dataMissing);
    }

    private static String required(HookRecord record, String name) {
        String value = record.ascii(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("no " + name + " given");
        }
        return value;
    }

    private static MacAddress mac(String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        if (!HEX_PAIRS.matcher(text).matches()) {
            throw new IllegalArgumentException("DNSMASQ_MAC is not a link-layer address: " + Identifiers.quote(text));
        }
        // A well-formed address of another link type (not EUI-48) is legitimate but not a MAC.
        return text.length() == 17 ? MacAddress.parse(text) : null;
    }

    private Instant expiry(HookRecord record) {
        String expires = record.ascii("DNSMASQ_LEASE_EXPIRES");
        if (expires != null && !expires.isEmpty()) {
            if (!DIGITS.matcher(expires).matches()) {
                throw new IllegalArgumentException("DNSMASQ_LEASE_EXPIRES is not a number: " + Identifiers.quote(expires));
            }
            long seconds = Long.parseLong(expires);
            // dnsmasq writes 0 for a lease that never expires.
            return seconds == 0 ? null : Instant.ofEpochSecond(seconds);
        }
        String remaining = record.ascii("DNSMASQ_TIME_REMAINING");
        if (remaining != null && !remaining.isEmpty()) {
            if (!DIGITS.matcher(remaining).matches()) {
                throw new IllegalArgumentException("DNSMASQ_TIME_REMAINING is not a number: " + Identifiers.quote(remaining));
            }
            return clock.instant().plusSeconds(Long.parseLong(remaining));
        }
        return null;
    }
}
