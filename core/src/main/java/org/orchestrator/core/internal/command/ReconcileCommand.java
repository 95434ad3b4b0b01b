package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.ReconcileReport;

/** Runs a full reconciliation pass now. */
@Service
@Command(scope = "orchestrator", name = "reconcile", description = "Runs a full reconciliation pass now and reports it")
public final class ReconcileCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    private final PrintStream out;

    public ReconcileCommand() {
        this.out = null;
    }

    ReconcileCommand(Orchestrator orchestrator, PrintStream out) {
        this.orchestrator = orchestrator;
        this.out = out;
    }

    @Override
    public Object execute() {
        PrintStream o = out == null ? System.out : out;
        ReconcileReport r = orchestrator.reconcile();
        o.println("checked " + r.clientsChecked() + " clients, repaired " + r.repaired() + ", removed " + r.orphansRemoved()
            + " orphans in " + r.took().toMillis() + " ms");
        r.actions().forEach(a -> o.println("  " + a));
        return null;
    }
}
