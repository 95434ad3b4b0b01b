package org.orchestrator.network.pipework;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test double of the host for {@link PipeworkAttacher}: answers the {@code ip}, {@code nsenter}
 * and {@code nft} commands of a static attach and of detach from memory. It keeps the host veths
 * (name, alias, bridge, the namespace their other end went to) and the elements of the network's
 * nftables set; inside an instance namespace it answers {@code ip -o link show dev NAME} with the
 * instance end of the last veth made into that namespace, and every other command succeeds without
 * effect; neighbour flushes are recorded. A command it does not know fails and is recorded in
 * {@link #unexpected()}, so a test sees when the attacher does something it did not model.
 */
final class InMemoryHost implements CommandRunner {

    private static final Pattern ELEMENT = Pattern.compile("^(add|delete) element inet (\\S+) allowed \\{ (\\S+ \\. \\S+(?:, \\S+ \\. \\S+)*) \\}$");

    private final String table;
    private final Map<String, Link> links = new LinkedHashMap<>();
    private final Set<String> elements = new LinkedHashSet<>();
    private final List<String> unexpected = new ArrayList<>();
    private final List<String> neighboursFlushed = new ArrayList<>();
    private int nextIndex = 10;

    /** A host veth end as far as the attacher looks at it. */
    private static final class Link {
        final int index;
        String alias;
        String master;
        /** the {@code netns} argument of {@code link add}: a pid or a name */
        String netns;

        Link(int index) {
            this.index = index;
        }
    }

    /** @param table the network's nftables table, which exists from the start */
    InMemoryHost(String table) {
        this.table = table;
    }

    @Override
    public synchronized CommandResult run(List<String> command, String stdin) {
        String line = String.join(" ", command);
        if (line.equals("ip -batch -")) {
            return hostBatch(command, stdin);
        }
        if (command.get(0).equals("nsenter")) {
            return inside(command);
        }
        if (command.size() == 7 && line.startsWith("ip link set dev ") && command.get(5).equals("alias")) {
            Link link = links.get(command.get(4));
            if (link == null) {
                return new CommandResult(command, 1, "", "Cannot find device \"" + command.get(4) + "\"\n");
            }
            link.alias = command.get(6);
            return ok(command, "");
        }
        if (line.startsWith("ip -o -d link show dev ")) {
            Link link = links.get(command.get(6));
            return link == null ? new CommandResult(command, 1, "", "Device \"" + command.get(6) + "\" does not exist.\n")
                    : ok(command, show(command.get(6), link));
        }
        if (line.equals("ip -o -d link show type veth")) {
            StringBuilder out = new StringBuilder();
            links.forEach((name, link) -> out.append(show(name, link)));
            return ok(command, out.toString());
        }
        if (line.startsWith("ip link del dev ")) {
            return links.remove(command.get(4)) != null ? ok(command, "")
                    : new CommandResult(command, 1, "", "Cannot find device \"" + command.get(4) + "\"\n");
        }
        if (line.startsWith("ip -6 neigh flush to ") && command.size() == 8 && command.get(6).equals("dev")) {
            neighboursFlushed.add(command.get(5) + " dev " + command.get(7));
            return ok(command, "");
        }
        if (line.equals("nft list table inet " + table)) {
            return ok(command, "table inet " + table + " {\n}\n");
        }
        if (line.equals("nft list set inet " + table + " allowed")) {
            String listed = elements.isEmpty() ? "" : "\t\telements = { " + String.join(",\n\t\t\t     ", elements) + " }\n";
            return ok(command, "table inet " + table + " {\n\tset allowed {\n\t\ttype ipv6_addr . ipv6_addr\n" + listed + "\t}\n}\n");
        }
        if (line.equals("nft -f -") && stdin != null && stdin.lines().allMatch(l -> ELEMENT.matcher(l).matches())) {
            for (String l : stdin.lines().toList()) {
                Matcher m = ELEMENT.matcher(l);
                m.matches();
                if (!m.group(2).equals(table)) {
                    return new CommandResult(command, 1, "", "Error: No such file or directory; table " + m.group(2) + "\n");
                }
                List<String> named = List.of(m.group(3).split(", "));
                if (m.group(1).equals("add")) {
                    elements.addAll(named);
                } else if (!elements.containsAll(named)) {
                    // one command is one transaction: nothing is deleted
                    return new CommandResult(command, 1, "", "Error: Could not process rule: No such file or directory\n");
                } else {
                    elements.removeAll(named);
                }
            }
            return ok(command, "");
        }
        unexpected.add(line + (stdin == null ? "" : "\n" + stdin));
        return new CommandResult(command, 127, "", "InMemoryHost does not model: " + line + "\n");
    }

    /** The host-side batch of a fresh attach: link add, alias, master, isolation, up. */
    private CommandResult hostBatch(List<String> command, String stdin) {
        List<String> lines = stdin.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String[] w = lines.get(i).split(" ");
            if (w[0].equals("link") && w[1].equals("add")) {
                if (links.containsKey(w[2])) {
                    return new CommandResult(command, 2, "", "RTNETLINK answers: File exists\nCommand failed -:" + (i + 1) + "\n");
                }
                Link made = new Link(nextIndex++);
                List<String> words = List.of(w);
                int netns = words.indexOf("netns");
                made.netns = netns > 0 ? words.get(netns + 1) : null;
                links.put(w[2], made);
                continue;
            }
            Link link = w.length > 3 && w[1].equals("set") ? links.get(w[3]) : null;
            if (link == null) {
                unexpected.add("ip -batch - line " + lines.get(i));
                return new CommandResult(command, 1, "", "Cannot find device\nCommand failed -:" + (i + 1) + "\n");
            }
            if (w[4].equals("alias")) {
                String quoted = lines.get(i).substring(lines.get(i).indexOf(" alias ") + " alias ".length());
                link.alias = quoted.substring(1, quoted.length() - 1);
            } else if (w[4].equals("master")) {
                link.master = w[5];
            }
        }
        return ok(command, "");
    }

    /** A command under {@code nsenter --net=PATH}: only the look-up of the instance end has an answer. */
    private CommandResult inside(List<String> command) {
        String path = command.get(1).substring("--net=".length());
        Matcher proc = Pattern.compile("/proc/(\\d+)/ns/net").matcher(path);
        String netns = proc.matches() ? proc.group(1) : path.substring(path.lastIndexOf('/') + 1);
        List<String> argv = command.subList(2, command.size());
        if (argv.size() == 6 && String.join(" ", argv.subList(0, 5)).equals("ip -o link show dev")) {
            String end = null;
            for (Link link : links.values()) {
                if (netns.equals(link.netns)) {
                    end = "2: " + argv.get(5) + "@if" + link.index + ": <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue"
                            + " state UP mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:00:01\n";
                }
            }
            return end == null ? new CommandResult(command, 1, "", "Device \"" + argv.get(5) + "\" does not exist.\n")
                    : ok(command, end);
        }
        return ok(command, "");
    }

    private static String show(String name, Link link) {
        return link.index + ": " + name + "@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue"
                + (link.master == null ? "" : " master " + link.master) + " state UP mode DEFAULT group default qlen 1000\\    veth"
                + " \\    bridge_slave state forwarding isolated on"
                + (link.alias == null ? "" : " \\    alias " + link.alias) + "\n";
    }

    private static CommandResult ok(List<String> command, String stdout) {
        return new CommandResult(command, 0, stdout, "");
    }

    /** @return the host veths by name */
    synchronized Set<String> links() {
        return Set.copyOf(links.keySet());
    }

    /** @return the alias of host veth {@code name}, or null */
    synchronized String alias(String name) {
        Link link = links.get(name);
        return link == null ? null : link.alias;
    }

    /** Deletes host veth {@code name} as someone else would: the attacher is not asked. */
    synchronized void deleteBehindTheBack(String name) {
        links.remove(name);
    }

    /** @return the set's elements as nft lists them, {@code peer . instance} */
    synchronized Set<String> elements() {
        return Set.copyOf(elements);
    }

    /** @return the neighbour entries flushed, {@code address dev bridge}, in order */
    synchronized List<String> neighboursFlushed() {
        return List.copyOf(neighboursFlushed);
    }

    /** @return the commands this double did not model (empty when the attacher did only what it knows) */
    synchronized List<String> unexpected() {
        return List.copyOf(unexpected);
    }
}
