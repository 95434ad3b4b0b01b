package org.orchestrator.api.lease;

/** Quoting of untrusted text for error messages: bounded length, control characters escaped. */
final class Texts {

    private static final int MAX_QUOTED = 80;

    private Texts() {
    }

    static String quote(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder("\"");
        int n = Math.min(text.length(), MAX_QUOTED);
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || (c >= 0x80 && !Character.isLetterOrDigit(c))) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        if (text.length() > MAX_QUOTED) {
            sb.append("...(").append(text.length()).append(" chars)");
        }
        return sb.append('"').toString();
    }
}
