package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.Orchestrator;

/** Lists every client with its state. */
@Service
@Command(scope = "orchestrator", name = "clients", description = "Lists clients (devices by DUID) and their state")
public final class ClientsCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    private final PrintStream out;

    public ClientsCommand() {
        this.out = null;
    }

    ClientsCommand(Orchestrator orchestrator, PrintStream out) {
        this.orchestrator = orchestrator;
        this.out = out;
    }

    @Override
    public Object execute() {
        ShellTable table = new ShellTable().emptyTableText("no clients");
        table.column("DUID");
        table.column("State");
        table.column("Address");
        table.column("Hostname");
        table.column("Lease");
        table.column("Instance");
        table.column("Since");
        table.column("Reason").maxSize(60);
        for (ClientView c : orchestrator.clients()) {
            table.addRow().addContent(c.duid(), c.state(), Format.address(c.address()), Format.text(c.hostname()),
                c.leaseStatus(), Format.text(c.instanceId()), Format.time(c.since()), Format.text(c.reason()));
        }
        table.print(out == null ? System.out : out);
        return null;
    }
}
