package org.orchestrator.dhcp.dnsmasq;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The wire format between the hook script and the plugin: a request is a sequence of netstrings
 * ({@code <decimal length>:<bytes>,}), each {@code name=value}, ended by the empty netstring
 * {@code 0:,}. The reply is two netstrings: a status ({@code OK}, {@code IGNORED},
 * {@code RETRY <reason>} or {@code ERR <reason>}) and a body (the lease database for {@code init},
 * otherwise empty). Values are raw bytes: nothing is interpreted at this level. Spool files hold
 * exactly one request.
 */
final class HookProtocol {

    /** Largest request accepted, in bytes. The hook applies the same bound. */
    static final int MAX_REQUEST = 65536;
    /** Most fields accepted in one request. */
    static final int MAX_FIELDS = 64;
    private static final int MAX_NAME = 64;

    private HookProtocol() {
    }

    /**
     * Parses a request from the first {@code length} bytes of {@code data}.
     *
     * @return the record, or {@code null} when the request is incomplete so far
     * @throws IllegalArgumentException when the bytes cannot be a valid request
     */
    static HookRecord parse(byte[] data, int length) {
        if (length > MAX_REQUEST) {
            throw new IllegalArgumentException("request longer than " + MAX_REQUEST + " bytes");
        }
        Map<String, byte[]> fields = new LinkedHashMap<>();
        int pos = 0;
        while (true) {
            int colon = pos;
            int len = 0;
            while (colon < length && data[colon] != ':') {
                byte b = data[colon];
                if (b < '0' || b > '9' || colon - pos >= 5) {
                    throw new IllegalArgumentException("malformed record length at byte " + colon);
                }
                len = len * 10 + (b - '0');
                colon++;
            }
            if (colon >= length) {
                return null;
            }
            if (colon == pos) {
                throw new IllegalArgumentException("empty record length at byte " + pos);
            }
            int start = colon + 1;
            int end = start + len;
            if (end >= length) {
                if (end > MAX_REQUEST) {
                    throw new IllegalArgumentException("record longer than the request limit");
                }
                return null;
            }
            if (data[end] != ',') {
                throw new IllegalArgumentException("record not terminated by ',' at byte " + end);
            }
            pos = end + 1;
            if (len == 0) {
                if (pos != length) {
                    throw new IllegalArgumentException("bytes after the end of the request");
                }
                return new HookRecord(fields);
            }
            int eq = -1;
            for (int i = start; i < end && i - start <= MAX_NAME; i++) {
                if (data[i] == '=') {
                    eq = i;
                    break;
                }
            }
            if (eq <= start) {
                throw new IllegalArgumentException("record without a name=value form");
            }
            String name = new String(data, start, eq - start, StandardCharsets.ISO_8859_1);
            if (!name.matches("[A-Za-z][A-Za-z0-9_]*")) {
                throw new IllegalArgumentException("record name is not valid: " + HookRecord.quote(name.getBytes(StandardCharsets.ISO_8859_1)));
            }
            if (fields.size() >= MAX_FIELDS) {
                throw new IllegalArgumentException("more than " + MAX_FIELDS + " records");
            }
            if (fields.putIfAbsent(name, java.util.Arrays.copyOfRange(data, eq + 1, end)) != null) {
                throw new IllegalArgumentException("record " + name + " given twice");
            }
        }
    }

    /** @return one request in wire form (used by tests and by nothing else) */
    static byte[] request(Map<String, byte[]> fields) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> e : fields.entrySet()) {
            byte[] name = (e.getKey() + "=").getBytes(StandardCharsets.US_ASCII);
            writeNetstring(out, concat(name, e.getValue()));
        }
        writeNetstring(out, new byte[0]);
        return out.toByteArray();
    }

    /** @return a reply in wire form */
    static byte[] reply(String status, String body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeNetstring(out, status.getBytes(StandardCharsets.US_ASCII));
        writeNetstring(out, body.getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static void writeNetstring(ByteArrayOutputStream out, byte[] value) {
        out.writeBytes(Integer.toString(value.length).getBytes(StandardCharsets.US_ASCII));
        out.write(':');
        out.writeBytes(value);
        out.write(',');
    }
}
