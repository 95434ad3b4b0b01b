package org.orchestrator.api.network;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.UnknownHostException;
import java.util.Objects;

import org.orchestrator.api.lease.Identifiers;

/**
 * An IPv6 prefix such as {@code fd42:1::/64}. The network address has every host bit cleared.
 * Immutable.
 *
 * @param network the network address
 * @param length  the prefix length, 1 to 128
 */
public record Ipv6Prefix(Inet6Address network, int length) {

    /**
     * @throws IllegalArgumentException when the length is out of range or host bits are set
     */
    public Ipv6Prefix {
        Objects.requireNonNull(network, "network");
        if (length < 1 || length > 128) {
            throw new IllegalArgumentException("prefix length must be 1 to 128, got " + length);
        }
        if (!toBigInteger(network).and(hostMask(length)).equals(BigInteger.ZERO)) {
            throw new IllegalArgumentException("prefix has host bits set: " + network.getHostAddress() + "/" + length);
        }
    }

    /**
     * Parses {@code address/length}.
     *
     * @throws IllegalArgumentException when the text is not an IPv6 prefix
     */
    public static Ipv6Prefix parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("IPv6 prefix is missing");
        }
        int slash = text.indexOf('/');
        if (slash < 0 || slash == text.length() - 1 || text.length() - slash > 4) {
            throw new IllegalArgumentException("IPv6 prefix must be written address/length: " + Identifiers.quote(text));
        }
        Inet6Address address = Identifiers.ipv6(text.substring(0, slash));
        int length;
        try {
            length = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("IPv6 prefix length is not a number: " + Identifiers.quote(text));
        }
        return new Ipv6Prefix(address, length);
    }

    /** @return whether {@code address} lies inside this prefix */
    public boolean contains(Inet6Address address) {
        BigInteger mask = hostMask(length).not();
        return toBigInteger(address).and(mask).equals(toBigInteger(network).and(mask));
    }

    /**
     * @param offset the host part, counted from the network address
     * @return the address {@code network + offset}
     * @throws IllegalArgumentException when the offset does not fit in the prefix
     */
    public Inet6Address address(BigInteger offset) {
        if (offset.signum() < 0 || offset.compareTo(hostMask(length)) > 0) {
            throw new IllegalArgumentException("offset " + offset + " is outside " + this);
        }
        return fromBigInteger(toBigInteger(network).add(offset));
    }

    /** @return how many addresses the prefix holds, network address included */
    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(128 - length);
    }

    /** @return the host part of an address of this prefix */
    public BigInteger offsetOf(Inet6Address address) {
        if (!contains(address)) {
            throw new IllegalArgumentException(address.getHostAddress() + " is outside " + this);
        }
        return toBigInteger(address).subtract(toBigInteger(network));
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + length;
    }

    private static BigInteger hostMask(int length) {
        return BigInteger.ONE.shiftLeft(128 - length).subtract(BigInteger.ONE);
    }

    private static BigInteger toBigInteger(Inet6Address address) {
        return new BigInteger(1, address.getAddress());
    }

    private static Inet6Address fromBigInteger(BigInteger value) {
        byte[] raw = value.toByteArray();
        byte[] bytes = new byte[16];
        int copy = Math.min(raw.length, 16);
        System.arraycopy(raw, raw.length - copy, bytes, 16 - copy, copy);
        try {
            return (Inet6Address) Inet6Address.getByAddress(null, bytes, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
