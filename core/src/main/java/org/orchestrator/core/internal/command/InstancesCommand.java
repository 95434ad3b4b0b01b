package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;

/** Lists the live instances. */
@Service
@Command(scope = "orchestrator", name = "instances", description = "Lists live instances")
public final class InstancesCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    private final PrintStream out;

    public InstancesCommand() {
        this.out = null;
    }

    InstancesCommand(Orchestrator orchestrator, PrintStream out) {
        this.orchestrator = orchestrator;
        this.out = out;
    }

    @Override
    public Object execute() {
        ShellTable table = new ShellTable().emptyTableText("no instances");
        table.column("ID");
        table.column("Client");
        table.column("Provider");
        table.column("Ref").maxSize(16);
        table.column("Network");
        table.column("Address");
        table.column("State");
        table.column("Created");
        table.column("Expires");
        for (InstanceView i : orchestrator.instances()) {
            table.addRow().addContent(i.id(), i.client(), i.provider(), Format.text(i.providerRef()), Format.text(i.network()),
                Format.address(i.address()), Format.text(i.state()), Format.time(i.createdAt()), Format.time(i.expiresAt()));
        }
        table.print(out == null ? System.out : out);
        return null;
    }
}
