package org.orchestrator.provider.docker;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import org.orchestrator.api.provider.InstanceSpec;

/**
 * The files that name a client inside a personalised spare of the default image
 * ({@code orchestrator/client}, see {@code scripts/build-client-image.sh}): the page its httpd
 * serves, the DUID next to it, and {@code /etc/orchestrator/client}, which the image reads when it
 * starts again. Written as a tar archive for the Docker archive API (PUT /containers/ID/archive
 * at {@code /}). Plain ustar, no dependency.
 */
final class IdentityArchive {

    private static final int BLOCK = 512;

    private IdentityArchive() {
    }

    /** @return the files by path relative to {@code /}, in archive order */
    static Map<String, String> files(InstanceSpec spec) {
        Objects.requireNonNull(spec, "spec");
        String client = spec.client().value();
        String host = escape(spec.hostname());
        Map<String, String> files = new LinkedHashMap<>();
        files.put("www/index.html", "<!doctype html><html><head><title>Orchestrator instance</title></head><body>\n"
            + "<h1>Hello, device " + client + "</h1>\n"
            + "<p>This instance (" + host + ") belongs to the device with DUID <code id=duid>" + client + "</code>.</p>\n"
            + "</body></html>\n");
        files.put("www/duid", client + "\n");
        files.put("etc/orchestrator/client", client + "\n");
        return files;
    }

    /** @return a tar archive of {@code files} (regular files, mode 0644, owner root) */
    static byte[] tar(Map<String, String> files, long mtimeSeconds) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        files.forEach((path, text) -> {
            byte[] data = text.getBytes(StandardCharsets.UTF_8);
            byte[] header = new byte[BLOCK];
            put(header, 0, 100, path);
            put(header, 100, 8, octal(0644, 7));
            put(header, 108, 8, octal(0, 7));
            put(header, 116, 8, octal(0, 7));
            put(header, 124, 12, octal(data.length, 11));
            put(header, 136, 12, octal(mtimeSeconds, 11));
            for (int i = 148; i < 156; i++) {
                header[i] = ' ';
            }
            header[156] = '0';
            put(header, 257, 6, "ustar");
            put(header, 263, 2, "00");
            long sum = 0;
            for (byte b : header) {
                sum += b & 0xff;
            }
            put(header, 148, 8, octal(sum, 6));
            header[154] = 0;
            header[155] = ' ';
            out.writeBytes(header);
            out.writeBytes(data);
            out.writeBytes(new byte[(BLOCK - data.length % BLOCK) % BLOCK]);
        });
        out.writeBytes(new byte[BLOCK * 2]);
        return out.toByteArray();
    }

    private static String octal(long value, int digits) {
        String s = Long.toOctalString(value);
        return "0".repeat(Math.max(0, digits - s.length())) + s;
    }

    private static void put(byte[] header, int offset, int length, String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        if (b.length > length) {
            throw new IllegalArgumentException("tar field too long: " + text);
        }
        System.arraycopy(b, 0, header, offset, b.length);
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
