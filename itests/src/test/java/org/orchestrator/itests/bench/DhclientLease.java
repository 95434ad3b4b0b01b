package org.orchestrator.itests.bench;

import java.io.ByteArrayOutputStream;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one read of a {@code dhclient -6} lease file says: the address of its newest lease and the
 * client-id (DUID) that lease was taken with, both from the same {@code lease6} block. dhclient
 * rewrites the whole file (truncate, then write), so a read can see a file cut anywhere: a field
 * that is not (yet) there is {@code null}, and the caller reads again.
 *
 * @param address   the last {@code iaaddr} of the newest {@code lease6} block that has one, or null
 * @param clientId  that block's {@code option dhcp6.client-id} as lowercase hex pairs with colons
 *                  (the form core and dnsmasq use), or null when the block has none (yet)
 */
record DhclientLease(String address, String clientId) {

    private static final Pattern BLOCK = Pattern.compile("(?m)^lease6 \\{");
    private static final Pattern IAADDR = Pattern.compile("iaaddr ([0-9a-fA-F:]+) \\{");
    /** dhclient prints option data as hex bytes without leading zeros ({@code 0:1:0:1:32:a}) ... */
    private static final Pattern CLIENT_ID_HEX =
        Pattern.compile("option dhcp6\\.client-id ([0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2})*);");
    /** ... or, when it takes the bytes for printable, as a quoted string with octal and backslash escapes */
    private static final Pattern CLIENT_ID_QUOTED =
        Pattern.compile("option dhcp6\\.client-id \"((?:[^\"\\\\]|\\\\.)*)\";");

    /** Parses the text of a lease file (read as ISO-8859-1, so that every byte is one char). */
    static DhclientLease parse(String leaseFile) {
        String text = leaseFile == null ? "" : leaseFile;
        Matcher blocks = BLOCK.matcher(text);
        java.util.List<Integer> starts = new java.util.ArrayList<>();
        while (blocks.find()) {
            starts.add(blocks.start());
        }
        for (int k = starts.size() - 1; k >= 0; k--) {
            String block = text.substring(starts.get(k), k + 1 < starts.size() ? starts.get(k + 1) : text.length());
            Matcher m = IAADDR.matcher(block);
            String address = null;
            while (m.find()) {
                address = m.group(1).toLowerCase(Locale.ROOT);
            }
            if (address != null) {
                return new DhclientLease(address, clientId(block));
            }
        }
        return new DhclientLease(null, null);
    }

    /** The first {@code option dhcp6.client-id} in {@code text}, in either form, or null. */
    static String clientId(String text) {
        if (text == null) {
            return null;
        }
        Matcher hex = CLIENT_ID_HEX.matcher(text);
        Matcher quoted = CLIENT_ID_QUOTED.matcher(text);
        boolean h = hex.find();
        boolean q = quoted.find();
        if (h && (!q || hex.start() < quoted.start())) {
            StringBuilder sb = new StringBuilder();
            for (String part : hex.group(1).split(":")) {
                if (sb.length() > 0) {
                    sb.append(':');
                }
                sb.append(part.length() == 1 ? "0" + part : part);
            }
            return sb.toString().toLowerCase(Locale.ROOT);
        }
        if (q) {
            byte[] bytes = unescape(quoted.group(1));
            if (bytes.length == 0) {
                return null;
            }
            StringBuilder sb = new StringBuilder();
            for (byte b : bytes) {
                if (sb.length() > 0) {
                    sb.append(':');
                }
                sb.append(String.format(Locale.ROOT, "%02x", b & 0xff));
            }
            return sb.toString();
        }
        return null;
    }

    /** The bytes of a dhclient quoted string: {@code \ooo} (three octal digits) and {@code \x} for x. */
    static byte[] unescape(String escaped) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < escaped.length(); i++) {
            char c = escaped.charAt(i);
            if (c == '\\' && isOctal(escaped, i + 1, 3)) {
                out.write(Integer.parseInt(escaped.substring(i + 1, i + 4), 8));
                i += 3;
            } else if (c == '\\' && i + 1 < escaped.length()) {
                out.write(escaped.charAt(++i) & 0xff);
            } else {
                out.write(c & 0xff);
            }
        }
        return out.toByteArray();
    }

    private static boolean isOctal(String s, int from, int n) {
        if (from + n > s.length()) {
            return false;
        }
        for (int i = from; i < from + n; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '7') {
                return false;
            }
        }
        return true;
    }
}
