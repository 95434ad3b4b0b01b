package org.orchestrator.webconsole.rest;

import javax.ws.rs.core.SecurityContext;

/** Small helpers shared by the resources. */
final class Rest {

    private Rest() {
    }

    /** @return the authenticated user's name for audit logs, or {@code anonymous} */
    static String caller(SecurityContext security) {
        return security == null || security.getUserPrincipal() == null ? "anonymous" : security.getUserPrincipal().getName();
    }

    /**
     * Parses an optional query parameter as a long in {@code [min, max]}.
     *
     * @throws org.orchestrator.webconsole.ApiError 400 when it is not such a number
     */
    static long longParam(String name, String value, long fallback, long min, long max) {
        if (value == null || value.isEmpty()) {
            return fallback;
        }
        long parsed;
        try {
            if (value.length() > 19) {
                throw new NumberFormatException();
            }
            parsed = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw org.orchestrator.webconsole.ApiError.badRequest("query parameter '" + name + "' must be a whole number");
        }
        if (parsed < min || parsed > max) {
            throw org.orchestrator.webconsole.ApiError.badRequest("query parameter '" + name + "' must be from " + min + " to " + max);
        }
        return parsed;
    }
}
