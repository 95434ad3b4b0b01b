package org.orchestrator.core.internal.command;

import java.io.PrintStream;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.manage.Orchestrator;

/** Lists the active leases as stored. */
@Service
@Command(scope = "orchestrator", name = "leases", description = "Lists active DHCPv6 leases")
public final class LeasesCommand implements Action {

    @Reference
    Orchestrator orchestrator;

    private final PrintStream out;

    public LeasesCommand() {
        this.out = null;
    }

    LeasesCommand(Orchestrator orchestrator, PrintStream out) {
        this.orchestrator = orchestrator;
        this.out = out;
    }

    @Override
    public Object execute() {
        ShellTable table = new ShellTable().emptyTableText("no active leases");
        table.column("DUID");
        table.column("IAID");
        table.column("Address");
        table.column("Hostname");
        table.column("MAC");
        table.column("Source");
        table.column("Network");
        table.column("Expires");
        for (Lease l : orchestrator.leases()) {
            table.addRow().addContent(l.duid(), l.iaid(), Format.address(l.address()), Format.text(l.hostname()),
                Format.text(l.mac()), l.source(), Format.text(l.network()), Format.time(l.expiresAt()));
        }
        table.print(out == null ? System.out : out);
        return null;
    }
}
