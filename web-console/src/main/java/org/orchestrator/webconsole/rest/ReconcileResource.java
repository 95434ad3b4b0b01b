package org.orchestrator.webconsole.rest;

import java.util.Map;
import java.util.Objects;

import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.SecurityContext;

import org.orchestrator.webconsole.Operations;
import org.orchestrator.webconsole.Views;

/** Runs a full reconciliation pass now and reports it. */
@Path("reconcile")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.WRITE)
public final class ReconcileResource {

    private final Operations operations;

    public ReconcileResource(Operations operations) {
        this.operations = Objects.requireNonNull(operations, "operations");
    }

    @POST
    public Map<String, Object> reconcile(@Context SecurityContext security) {
        return Views.reconcile(operations.reconcile(Rest.caller(security)));
    }
}
