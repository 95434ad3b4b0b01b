package org.orchestrator.network.pipework;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.MacAddress;
import org.orchestrator.api.network.Ipv6Prefix;

/**
 * The validated configuration of one pipework network, and the names derived from it. Immutable.
 *
 * @param network         the network name ({@code NetworkAttacher.name()})
 * @param bridge          the instance bridge, created when absent
 * @param prefix          the instances' IPv6 prefix
 * @param gateway         the bridge's address and the instances' default gateway
 * @param interfaceName   the interface name inside an instance
 * @param mtu             the MTU of both veth ends
 * @param macScheme       where the instance-side MAC comes from
 * @param addressing      static (AddressPool) or DHCPv6
 * @param isolation       whether the nftables isolation and bridge port isolation apply
 * @param deviceInterface the interface devices arrive on, or {@code null} for any
 * @param devicePrefix    the prefix peers must lie in, or {@code null} for any
 * @param vethPrefix      the start of host-side veth names
 * @param nftTable        the name of the plugin's {@code inet} table for this network
 * @param stateDirectory  a folder the plugin owns for this network (DHCP client files, records)
 * @param dhcpTimeout     how long attach waits for a DHCPv6 lease
 * @param enableForwarding whether to set {@code net.ipv6.conf.all.forwarding=1} on the host
 */
public record PipeworkSettings(String network, String bridge, Ipv6Prefix prefix, Inet6Address gateway,
                               String interfaceName, int mtu, MacScheme macScheme, Addressing addressing,
                               boolean isolation, String deviceInterface, Ipv6Prefix devicePrefix, String vethPrefix,
                               String nftTable, Path stateDirectory, Duration dhcpTimeout, boolean enableForwarding) {

    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_-]{1,15}");
    private static final Pattern VETH_PREFIX = Pattern.compile("[a-z][a-z0-9-]{0,7}");
    private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_-]{0,62}");

    /** @throws IllegalArgumentException naming the first invalid setting */
    public PipeworkSettings {
        Identifiers.name(network);
        interfaceName(bridge, "bridge");
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(gateway, "gateway");
        if (prefix.length() > 120) {
            throw new IllegalArgumentException("prefix " + prefix + " is too small for a network");
        }
        if (!prefix.contains(gateway) || gateway.equals(prefix.network())) {
            throw new IllegalArgumentException("gateway " + Addresses.text(gateway) + " must be a host address of " + prefix);
        }
        interfaceName(interfaceName, "interface name");
        if (interfaceName.equals("lo")) {
            throw new IllegalArgumentException("interface name must not be 'lo'");
        }
        if (mtu < 1280 || mtu > 65535) {
            throw new IllegalArgumentException("MTU must be 1280 to 65535 for IPv6, got " + mtu);
        }
        Objects.requireNonNull(macScheme, "macScheme");
        Objects.requireNonNull(addressing, "addressing");
        if (deviceInterface != null) {
            interfaceName(deviceInterface, "device interface");
        }
        if (vethPrefix == null || !VETH_PREFIX.matcher(vethPrefix).matches()) {
            throw new IllegalArgumentException("veth prefix must be 1-8 characters of [a-z0-9-] starting with a letter, got '" + vethPrefix + "'");
        }
        if (nftTable == null || !TABLE.matcher(nftTable).matches()) {
            throw new IllegalArgumentException("nftables table name must match " + TABLE.pattern() + ", got '" + nftTable + "'");
        }
        Objects.requireNonNull(stateDirectory, "stateDirectory");
        Objects.requireNonNull(dhcpTimeout, "dhcpTimeout");
        if (dhcpTimeout.isNegative() || dhcpTimeout.isZero()) {
            throw new IllegalArgumentException("DHCP timeout must be positive");
        }
    }

    /** @return the default gateway of a prefix: its first host address ({@code prefix::1}) */
    public static Inet6Address defaultGateway(Ipv6Prefix prefix) {
        return prefix.address(BigInteger.ONE);
    }

    /** @return the default table name for a network: {@code orchestrator_<name>} with '.' as '_' */
    public static String defaultTable(String network) {
        return "orchestrator_" + Identifiers.name(network).replace('.', '_');
    }

    /**
     * @return the host-side veth of an instance: the veth prefix and a hash of network and
     *         instance id, 15 characters, the same on every call so that it can be found again
     */
    public String hostInterface(String instanceId) {
        String hash = HexFormat.of().formatHex(digest(instanceId));
        return vethPrefix + hash.substring(0, 15 - vethPrefix.length());
    }

    /** @return the instance-side MAC for the hash scheme: locally administered, unicast */
    public MacAddress derivedMac(String instanceId) {
        byte[] digest = digest("mac/" + instanceId);
        byte[] mac = new byte[6];
        System.arraycopy(digest, 0, mac, 0, 6);
        mac[0] = (byte) ((mac[0] & 0xfc) | 0x02);
        return new MacAddress(HexFormat.ofDelimiter(":").formatHex(mac));
    }

    /** @return the MAC the plugin sets inside instances, or {@code null} when the kernel picks it */
    public MacAddress macFor(String instanceId) {
        return macScheme == MacScheme.HASH ? derivedMac(instanceId) : null;
    }

    /** @return the bridge's own MAC: fixed so that ports joining cannot change the gateway's MAC */
    public MacAddress bridgeMac() {
        return derivedMac("bridge/" + bridge);
    }

    private byte[] digest(String text) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return sha.digest((network + "/" + text).getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing", e);
        }
    }

    private static void interfaceName(String name, String what) {
        if (name == null || !IFNAME.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " must be 1-15 characters of [A-Za-z0-9_-], got '" + name + "'");
        }
    }
}
