package org.orchestrator.dhcp.dnsmasq;

import java.net.Inet6Address;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.MacAddress;

/**
 * Validates a {@link HookRecord} against dnsmasq's {@code --dhcp-script} contract for DHCPv6:
 * arguments action, client DUID, address, host name; environment {@code DNSMASQ_IAID},
 * {@code DNSMASQ_SERVER_DUID}, {@code DNSMASQ_MAC}, {@code DNSMASQ_LEASE_EXPIRES} or
 * {@code DNSMASQ_TIME_REMAINING}, {@code DNSMASQ_INTERFACE}, {@code DNSMASQ_DATA_MISSING}
 * ({@link #FIELDS}: the hook sends no others). Every value came from the network; for a lease
 * change every one of these fields that is present is validated, and anything malformed refuses
 * the event with an {@link IllegalArgumentException} whose message says why (untrusted text
 * quoted). A name outside {@link #FIELDS} refuses it too, except another {@code DNSMASQ_*} name:
 * earlier versions of the hook forwarded every {@code DNSMASQ_*} variable, and their spool files
 * must still be ingested, so such a field is ignored — its value is never read nor logged.
 * Thread-safe.
 */
final class HookEventParser {

    /** Every field the plugin reads: dnsmasq's four arguments and the environment variables the hook forwards. */
    static final Set<String> FIELDS = Set.of("action", "duid", "address", "hostname", "DNSMASQ_IAID", "DNSMASQ_SERVER_DUID",
            "DNSMASQ_MAC", "DNSMASQ_LEASE_EXPIRES", "DNSMASQ_TIME_REMAINING", "DNSMASQ_INTERFACE", "DNSMASQ_DATA_MISSING");
    /** Names of the variables an earlier hook forwarded as well (the hook's own filter). */
    private static final Pattern OTHER_DNSMASQ = Pattern.compile("DNSMASQ_[A-Z0-9_]{1,40}");
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
        for (String name : record.names()) {
            if (!FIELDS.contains(name) && !OTHER_DNSMASQ.matcher(name).matches()) {
                throw new IllegalArgumentException("field " + Identifiers.quote(name) + " is not part of the hook protocol");
            }
        }
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
            field("DNSMASQ_IAID", () -> Identifiers.iaid(iaidText.substring(1)));
            return new HookEvent.Ignored("temporary address (IA_TA) " + Identifiers.quote(iaidText));
        }
        long iaid = field("DNSMASQ_IAID", () -> Identifiers.iaid(iaidText));
        Duid duid = field("duid", () -> Duid.parse(required(record, "duid")));
        Inet6Address address = field("address", () -> Identifiers.ipv6(required(record, "address")));
        String hostname = field("hostname", () -> {
            String text = record.ascii("hostname");
            return text == null || text.isEmpty() ? null : Identifiers.hostname(text);
        });
        MacAddress mac = mac(record.ascii("DNSMASQ_MAC"));
        Duid serverDuid = field("DNSMASQ_SERVER_DUID", () -> {
            String text = record.ascii("DNSMASQ_SERVER_DUID");
            return text == null || text.isEmpty() ? null : Duid.parse(text);
        });
        String network = field("DNSMASQ_INTERFACE", () -> {
            String text = record.ascii("DNSMASQ_INTERFACE");
            // Interface names may hold capitals; network names are lowercase.
            return text == null || text.isEmpty() ? defaultNetwork : Identifiers.name(text.toLowerCase(java.util.Locale.ROOT));
        });
        Instant expires = expiry(record);
        boolean dataMissing = dataMissing(record.ascii("DNSMASQ_DATA_MISSING"));
        Lease lease = new Lease(duid, iaid, address, mac, hostname, expires, source, network);
        return new HookEvent.Change(action, lease, serverDuid, dataMissing);
    }

    /** Parses one field; a refusal names the field, so that the log line says which value was wrong. */
    private static <T> T field(String name, Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            String message = String.valueOf(e.getMessage());
            throw message.contains(name) ? e : new IllegalArgumentException(name + ": " + message, e);
        }
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

    private static boolean dataMissing(String text) {
        if (text == null || text.isEmpty() || text.equals("0")) {
            return false;
        }
        if (text.equals("1")) {
            return true;
        }
        throw new IllegalArgumentException("DNSMASQ_DATA_MISSING is not 0 or 1: " + Identifiers.quote(text));
    }

    private Instant expiry(HookRecord record) {
        // dnsmasq sets one of the two (which one is a build option); both are checked when present
        Long expires = seconds(record, "DNSMASQ_LEASE_EXPIRES");
        Long remaining = seconds(record, "DNSMASQ_TIME_REMAINING");
        if (expires != null) {
            // dnsmasq writes 0 for a lease that never expires.
            return expires == 0 ? null : Instant.ofEpochSecond(expires);
        }
        return remaining == null ? null : clock.instant().plusSeconds(remaining);
    }

    private static Long seconds(HookRecord record, String name) {
        String text = record.ascii(name);
        if (text == null || text.isEmpty()) {
            return null;
        }
        if (!DIGITS.matcher(text).matches()) {
            throw new IllegalArgumentException(name + " is not a number: " + Identifiers.quote(text));
        }
        return Long.parseLong(text);
    }
}
