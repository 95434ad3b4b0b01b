package org.orchestrator.provider.docker;

/** The labels by which the provider marks, and finds again, the containers it owns. */
final class Labels {

    /** {@code true} on every container the orchestrator created. */
    static final String MANAGED = "org.orchestrator.managed";
    /** The provider name that owns the container. */
    static final String PROVIDER = "org.orchestrator.provider";
    /** The platform's instance id. */
    static final String INSTANCE = "org.orchestrator.instance";
    /** The client's DUID. */
    static final String CLIENT = "org.orchestrator.client";
    /** On exported images: the instance they were committed from. */
    static final String EXPORTED_FROM = "org.orchestrator.exported-from";
    /** Prefix reserved for the platform; spec labels cannot set these. */
    static final String RESERVED_PREFIX = "org.orchestrator.";

    /** Container names are this prefix plus the instance id. */
    static final String NAME_PREFIX = "orch-";

    private Labels() {
    }
}
