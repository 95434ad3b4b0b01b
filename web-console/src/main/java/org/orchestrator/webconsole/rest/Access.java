package org.orchestrator.webconsole.rest;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Who may call a resource method. {@link AuthFilter} enforces it; a method without the annotation
 * takes its class's, and a class without one requires {@link Level#WRITE} (fail closed).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface Access {

    /** @return the level required */
    Level value();

    /** Access levels. */
    enum Level {
        /** Anyone, no credentials. */
        OPEN,
        /** HTTP Basic, a user with the read role (or the write role). */
        READ,
        /** HTTP Basic, a user with the write role. */
        WRITE,
        /** The shared lease-event token only. */
        TOKEN
    }
}
