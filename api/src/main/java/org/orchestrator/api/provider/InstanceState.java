package org.orchestrator.api.provider;

/** Run state of an instance as its provider reports it. */
public enum InstanceState {
    /** Created, not started yet. */
    CREATED,
    /** Running. */
    RUNNING,
    /** Stopped or exited; can be started again. */
    STOPPED,
    /** Dead or in an unrecoverable provider state; must be destroyed and provisioned again. */
    DEAD,
    /** Removed outside the platform, or unknown to the provider. */
    REMOVED
}
